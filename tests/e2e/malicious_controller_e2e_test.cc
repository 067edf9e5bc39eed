// A controller that lies, against the real agent. The harness is a real
// gRPC server with a genuine controller certificate (it passes the agent's
// checks of who the controller is), which relays calls the real opsctld
// never would: for another host, with a forged, foreign or host
// certificate as the operator's, an operation the agent does not declare.
// Each must be refused by the agent itself, change nothing, and be logged.

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/tls/credentials.h"
#include "common/tls/server_trust.h"
#include "gmock/gmock.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "opsagent/v1/agent.pb.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::CertificateSpec;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::TestCertificateAuthority;
using ::testing::HasSubstr;

// The lying controller: accepts the agent's link and relays whatever the
// test hands it, returning what the agent answers.
class FakeController final : public v1::AgentLink::Service {
 public:
  grpc::Status Connect(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ControllerMessage, v1::AgentMessage>* stream)
      override {
    v1::AgentMessage hello;
    if (!stream->Read(&hello) || !hello.has_hello())
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no hello");
    v1::ControllerMessage accepted;
    accepted.mutable_accepted()->set_heartbeat_seconds(5);
    stream->Write(accepted);
    {
      absl::MutexLock lock(&mutex_);
      stream_ = stream;
      hostname_ = hello.hello().hostname();
    }
    for (v1::AgentMessage message; stream->Read(&message);) {
      if (!message.has_result()) continue;
      absl::MutexLock lock(&mutex_);
      results_[message.result().call_id()] = message.result();
      arrived_.SignalAll();
    }
    absl::MutexLock lock(&mutex_);
    stream_ = nullptr;
    return grpc::Status::OK;
  }

  bool linked() {
    absl::MutexLock lock(&mutex_);
    return stream_ != nullptr;
  }

  // Relays `call` and waits for the agent's result.
  std::optional<v1::RelayedResult> Relay(v1::RelayedCall call) {
    absl::MutexLock lock(&mutex_);
    call.set_call_id(++next_id_);
    if (call.deadline_unix_ms() == 0)
      call.set_deadline_unix_ms(
          absl::ToUnixMillis(absl::Now() + absl::Seconds(10)));
    v1::ControllerMessage message;
    *message.mutable_call() = call;
    if (stream_ == nullptr || !stream_->Write(message)) return std::nullopt;
    const uint64_t id = call.call_id();
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    while (!results_.contains(id)) {
      if (absl::Now() > deadline) return std::nullopt;
      arrived_.WaitWithTimeout(&mutex_, absl::Milliseconds(50));
    }
    return results_[id];
  }

 private:
  absl::Mutex mutex_;
  absl::CondVar arrived_;
  grpc::ServerReaderWriter<v1::ControllerMessage, v1::AgentMessage>* stream_
      ABSL_GUARDED_BY(mutex_) = nullptr;
  std::string hostname_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::flat_hash_map<uint64_t, v1::RelayedResult> results_
      ABSL_GUARDED_BY(mutex_);
};

class MaliciousControllerE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(std::getenv("TEST_TMPDIR"));
    auto ca = TestCertificateAuthority::Create(*dir_, "fleet");
    ASSERT_TRUE(ca.ok());
    ca_ = std::shared_ptr<TestCertificateAuthority>(*std::move(ca));
    CertificateSpec controller{
        "opsctld.test", {"controller"}, {"opsctld.test"}, {"127.0.0.1"}};
    controller.extended_key_usage = "serverAuth";
    auto controller_cert = ca_->Issue("controller", controller);
    ASSERT_TRUE(controller_cert.ok());
    auto trust = ServerTrust::Create({controller_cert->certificate,
                                      controller_cert->private_key,
                                      ca_->certificate_path(), 60, ""});
    ASSERT_TRUE(trust.ok()) << trust.status();
    trust_ = trust->release();
    auto credentials = MakeServerCredentials(*trust_);
    ASSERT_TRUE(credentials.ok());
    fake_ = new FakeController();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port);
    builder.RegisterService(fake_);
    server_ = builder.BuildAndStart().release();
    ASSERT_NE(server_, nullptr);

    logs_ = new std::string(*dir_ + "/logs");
    mkdir(logs_->c_str(), 0700);
    std::ofstream(*logs_ + "/app.log") << "precious";
    TestAgent::Options options;
    options.dir = *dir_ + "/agent";
    mkdir(options.dir.c_str(), 0700);
    options.host_name = "web-1";
    options.ca = ca_;
    options.extra_config =
        absl::StrCat("controller { address: \"127.0.0.1:", port,
                     "\" name: \"opsctld.test\" max_backoff_seconds: 1 }\n",
                     "truncatable_logs: \"", *logs_, "/*.log\"\n",
                     "journal_path: \"", options.dir, "/journal.jsonl\"\n");
    auto agent = TestAgent::Start(options);
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = agent->release();
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!fake_->linked() && absl::Now() < deadline)
      absl::SleepFor(absl::Milliseconds(50));
    ASSERT_TRUE(fake_->linked()) << agent_->process->Log();
  }

  static void TearDownTestSuite() {
    delete agent_;
    server_->Shutdown(std::chrono::system_clock::now());
    delete server_;
  }

  // A truncate of the precious log, as `operator_pem` for `target`.
  static v1::RelayedCall Truncate(const std::string& operator_pem,
                                  const std::string& target,
                                  const std::string& id) {
    v1::TruncateLogRequest request;
    request.mutable_meta()->set_request_id(id);
    request.set_path(*logs_ + "/app.log");
    v1::RelayedCall call;
    call.set_operation("truncate_log");
    call.set_request(request.SerializeAsString());
    call.set_operator_certificate(operator_pem);
    call.set_target(target);
    return call;
  }

  static void ExpectRefusedAndNothingChanged(
      const std::optional<v1::RelayedResult>& result, absl::StatusCode code,
      const std::string& message) {
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->status().code(), static_cast<int>(code))
        << result->status().message();
    EXPECT_THAT(result->status().message(), HasSubstr(message));
    EXPECT_EQ(ReadFileOrDie(*logs_ + "/app.log"), "precious");
    EXPECT_THAT(agent_->process->Log(), HasSubstr("refused a call relayed by "
                                                  "controller opsctld.test"));
  }

  static std::string* dir_;
  static std::string* logs_;
  static std::shared_ptr<TestCertificateAuthority> ca_;
  static ServerTrust* trust_;
  static FakeController* fake_;
  static grpc::Server* server_;
  static TestAgent* agent_;
};

std::string* MaliciousControllerE2eTest::dir_;
std::string* MaliciousControllerE2eTest::logs_;
std::shared_ptr<TestCertificateAuthority> MaliciousControllerE2eTest::ca_;
ServerTrust* MaliciousControllerE2eTest::trust_;
FakeController* MaliciousControllerE2eTest::fake_;
grpc::Server* MaliciousControllerE2eTest::server_;
TestAgent* MaliciousControllerE2eTest::agent_;

TEST_F(MaliciousControllerE2eTest, AGenuineCallIsServed) {
  // The harness is a working controller: a real operator's call goes through.
  v1::RelayedCall info;
  info.set_operation("info");
  info.set_request(v1::InfoRequest().SerializeAsString());
  info.set_operator_certificate(ReadFileOrDie(agent_->oncall.certificate));
  info.set_target("web-1");
  std::optional<v1::RelayedResult> result = fake_->Relay(info);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status().code(), 0) << result->status().message();
  v1::InfoReply reply;
  ASSERT_TRUE(reply.ParseFromString(result->final_message()));
  EXPECT_EQ(reply.caller_identity(), "alice");
}

TEST_F(MaliciousControllerE2eTest, ACallForAnotherHostIsRefused) {
  ExpectRefusedAndNothingChanged(
      fake_->Relay(Truncate(ReadFileOrDie(agent_->oncall.certificate), "db-1",
                            "other-host-1")),
      absl::StatusCode::kPermissionDenied, "this call is for host \"db-1\"");
}

TEST_F(MaliciousControllerE2eTest, AnOperatorFromAnotherCaIsRefused) {
  auto rogue = TestCertificateAuthority::Create(*dir_, "rogue");
  ASSERT_TRUE(rogue.ok());
  auto forged = (*rogue)->Issue("forged-alice", {"alice", {"oncall"}});
  ASSERT_TRUE(forged.ok());
  ExpectRefusedAndNothingChanged(
      fake_->Relay(
          Truncate(ReadFileOrDie(forged->certificate), "web-1", "forged-1")),
      absl::StatusCode::kUnauthenticated, "not accepted");
}

TEST_F(MaliciousControllerE2eTest, AHostOrControllerCertificateIsNoOperator) {
  ExpectRefusedAndNothingChanged(
      fake_->Relay(Truncate(ReadFileOrDie(agent_->certificate.certificate),
                            "web-1", "as-host-1")),
      absl::StatusCode::kUnauthenticated, "not an operator certificate");
  CertificateSpec expired{"alice", {"oncall"}};
  expired.not_before_from_now = -absl::Hours(48);
  expired.not_after_from_now = -absl::Hours(24);
  auto old = ca_->Issue("expired-alice", expired);
  ASSERT_TRUE(old.ok());
  ExpectRefusedAndNothingChanged(
      fake_->Relay(
          Truncate(ReadFileOrDie(old->certificate), "web-1", "expired-1")),
      absl::StatusCode::kUnauthenticated, "expired");
  ExpectRefusedAndNothingChanged(
      fake_->Relay(Truncate("not a certificate", "web-1", "garbage-1")),
      absl::StatusCode::kUnauthenticated, "not accepted");
}

TEST_F(MaliciousControllerE2eTest, OnlyDeclaredOperationsAreDispatched) {
  v1::RelayedCall call =
      Truncate(ReadFileOrDie(agent_->oncall.certificate), "web-1", "op-1");
  call.set_operation("/opsagent.v1.OpsAgent/TruncateLog");
  ExpectRefusedAndNothingChanged(
      fake_->Relay(call), absl::StatusCode::kUnimplemented, "has no operation");
  call.set_operation("shell");
  ExpectRefusedAndNothingChanged(
      fake_->Relay(call), absl::StatusCode::kUnimplemented, "has no operation");
}

}  // namespace
}  // namespace opsagent
