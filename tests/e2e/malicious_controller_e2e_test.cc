// A controller that lies, against the real agent. The harness is a real
// gRPC server with a genuine controller certificate (it passes the agent's
// checks of who the controller is) and everything a compromised controller
// has: the operators' certificates it saw, requests they signed, its own
// key. It relays what the real opsctld never would: a request forged for an
// operator, a signed truncate with its path changed, a signed request
// retargeted or replayed (within its minute, after it, after the agent
// restarts), foreign, host or expired certificates as the operator's, an
// operation the agent does not declare. Each must be refused by the agent
// itself, change nothing, be journaled as refused and come back to the
// controller (and so the operator) with why.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/operation_catalog.h"
#include "common/signing/signed_request.h"
#include "common/tls/credentials.h"
#include "common/tls/server_trust.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "opsagent/v1/agent.pb.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "opsagent/v1/journal.pb.h"
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
      ++links_;
    }
    for (v1::AgentMessage message; stream->Read(&message);) {
      if (!message.has_result()) continue;
      absl::MutexLock lock(&mutex_);
      results_[message.result().call_id()] = message.result();
      arrived_.SignalAll();
    }
    absl::MutexLock lock(&mutex_);
    if (stream_ == stream) stream_ = nullptr;
    return grpc::Status::OK;
  }

  bool linked() {
    absl::MutexLock lock(&mutex_);
    return stream_ != nullptr;
  }
  // How many times an agent has linked.
  int links() {
    absl::MutexLock lock(&mutex_);
    return links_;
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
  int links_ ABSL_GUARDED_BY(mutex_) = 0;
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
    controller_certificate_ = new std::string(controller_cert->certificate);
    controller_key_ = new std::string(controller_cert->private_key);
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
    journal_ = new std::string(*dir_ + "/agent/journal.jsonl");
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

  // A request for `target` that the holder of `files` signed `age` ago.
  static v1::RelayedCall Signed(const CertificateFiles& files,
                                const std::string& operation,
                                const google::protobuf::Message& request,
                                const std::string& target,
                                absl::Duration age = absl::ZeroDuration()) {
    auto signer =
        RequestSigner::FromFiles(files.certificate, files.private_key);
    EXPECT_TRUE(signer.ok()) << signer.status();
    v1::RequestEnvelope envelope;
    envelope.set_request_id(OperationInfo::Meta(request).request_id());
    envelope.set_operation(operation);
    request.SerializeToString(envelope.mutable_request());
    envelope.set_target_host(target);
    auto signed_request = (*signer)->Sign(envelope, absl::Now() - age);
    EXPECT_TRUE(signed_request.ok());
    v1::RelayedCall call;
    call.set_operator_certificate(ReadFileOrDie(files.certificate));
    *call.mutable_signed_request() = *signed_request;
    return call;
  }

  // A truncate of `file` under the logs directory, as `files`' holder
  // signed it for `target`.
  static v1::RelayedCall Truncate(const CertificateFiles& files,
                                  const std::string& target,
                                  const std::string& id,
                                  const std::string& file = "app.log",
                                  absl::Duration age = absl::ZeroDuration()) {
    v1::TruncateLogRequest request;
    request.mutable_meta()->set_request_id(id);
    request.set_path(*logs_ + "/" + file);
    return Signed(files, "truncate_log", request, target, age);
  }

  static v1::RequestEnvelope Envelope(const v1::RelayedCall& call) {
    v1::RequestEnvelope envelope;
    EXPECT_TRUE(envelope.ParseFromString(call.signed_request().envelope()));
    return envelope;
  }
  static void SetEnvelope(const v1::RequestEnvelope& envelope,
                          v1::RelayedCall* call) {
    envelope.SerializeToString(
        call->mutable_signed_request()->mutable_envelope());
  }

  // Signs `bytes` with the private key in `key_path`, as a controller with
  // a key of its own can.
  static std::string SignWith(const std::string& key_path,
                              const std::string& bytes) {
    FILE* file = std::fopen(key_path.c_str(), "r");
    EVP_PKEY* key = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
    std::fclose(file);
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    size_t length = 0;
    EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(context, nullptr, &length,
                   reinterpret_cast<const unsigned char*>(bytes.data()),
                   bytes.size());
    std::string signature(length, '\0');
    EVP_DigestSign(
        context, reinterpret_cast<unsigned char*>(signature.data()), &length,
        reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    signature.resize(length);
    EVP_MD_CTX_free(context);
    EVP_PKEY_free(key);
    return signature;
  }

  // The agent journal's records of `event` for `request_id`.
  static int Journaled(v1::JournalRecord::Event event,
                       const std::string& request_id) {
    int count = 0;
    for (absl::string_view line :
         absl::StrSplit(ReadFileOrDie(*journal_), '\n', absl::SkipEmpty())) {
      v1::JournalRecord record;
      if (google::protobuf::util::JsonStringToMessage(std::string(line),
                                                      &record)
              .ok() &&
          record.event() == event && record.request_id() == request_id)
        ++count;
    }
    return count;
  }

  // Refused with `code` and `message` (what the operator is shown), the
  // precious log untouched, the refusal logged and journaled.
  static void ExpectRefusedAndNothingChanged(
      const std::optional<v1::RelayedResult>& result, absl::StatusCode code,
      const std::string& message, const std::string& request_id = "") {
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->status().code(), static_cast<int>(code))
        << result->status().message();
    EXPECT_THAT(result->status().message(), HasSubstr(message));
    EXPECT_EQ(ReadFileOrDie(*logs_ + "/app.log"), "precious");
    EXPECT_THAT(agent_->process->Log(),
                HasSubstr("from controller opsctld.test"));
    if (!request_id.empty()) {
      EXPECT_GE(Journaled(v1::JournalRecord::REFUSED, request_id), 1);
      EXPECT_EQ(Journaled(v1::JournalRecord::STARTED, request_id), 0);
    }
  }

  static void WaitForLink(int links) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (fake_->links() < links && absl::Now() < deadline)
      absl::SleepFor(absl::Milliseconds(50));
    ASSERT_GE(fake_->links(), links) << agent_->process->Log();
  }

  static std::string* dir_;
  static std::string* logs_;
  static std::string* journal_;
  static std::string* controller_certificate_;
  static std::string* controller_key_;
  static std::shared_ptr<TestCertificateAuthority> ca_;
  static ServerTrust* trust_;
  static FakeController* fake_;
  static grpc::Server* server_;
  static TestAgent* agent_;
};

std::string* MaliciousControllerE2eTest::dir_;
std::string* MaliciousControllerE2eTest::logs_;
std::string* MaliciousControllerE2eTest::journal_;
std::string* MaliciousControllerE2eTest::controller_certificate_;
std::string* MaliciousControllerE2eTest::controller_key_;
std::shared_ptr<TestCertificateAuthority> MaliciousControllerE2eTest::ca_;
ServerTrust* MaliciousControllerE2eTest::trust_;
FakeController* MaliciousControllerE2eTest::fake_;
grpc::Server* MaliciousControllerE2eTest::server_;
TestAgent* MaliciousControllerE2eTest::agent_;

TEST_F(MaliciousControllerE2eTest, AGenuineCallIsServed) {
  // The harness is a working controller: a request alice signed goes through.
  v1::InfoRequest request;
  request.mutable_meta()->set_request_id("genuine-info-1");
  std::optional<v1::RelayedResult> result =
      fake_->Relay(Signed(agent_->oncall, "info", request, "web-1"));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status().code(), 0) << result->status().message();
  v1::InfoReply reply;
  ASSERT_TRUE(reply.ParseFromString(result->final_message()));
  EXPECT_EQ(reply.caller_identity(), "alice");
  EXPECT_EQ(Journaled(v1::JournalRecord::STARTED, "genuine-info-1"), 1);
}

TEST_F(MaliciousControllerE2eTest, ARequestForgedForAnOperatorItHasSeen) {
  // The controller has alice's certificate, not her key. Unsigned:
  v1::RelayedCall call = Truncate(agent_->oncall, "web-1", "forged-1");
  call.mutable_signed_request()->clear_signature();
  ExpectRefusedAndNothingChanged(fake_->Relay(call),
                                 absl::StatusCode::kUnauthenticated,
                                 "not signed", "forged-1");
  // Signed with the controller's own key, naming alice's certificate:
  call = Truncate(agent_->oncall, "web-1", "forged-2");
  call.mutable_signed_request()->set_signature(
      SignWith(*controller_key_, call.signed_request().envelope()));
  ExpectRefusedAndNothingChanged(fake_->Relay(call),
                                 absl::StatusCode::kUnauthenticated,
                                 "not the operator's", "forged-2");
  // Signed properly by the controller, passed off as alice's:
  CertificateFiles controller{*controller_certificate_, *controller_key_};
  call = Truncate(controller, "web-1", "forged-3");
  call.set_operator_certificate(ReadFileOrDie(agent_->oncall.certificate));
  ExpectRefusedAndNothingChanged(fake_->Relay(call),
                                 absl::StatusCode::kUnauthenticated,
                                 "another operator certificate", "forged-3");
}

TEST_F(MaliciousControllerE2eTest, ASignedTruncateWithItsPathChanged) {
  // Alice signed a truncate of other.log; the controller points it at
  // app.log, keeping her signature.
  std::ofstream(*logs_ + "/other.log") << "other";
  v1::RelayedCall call =
      Truncate(agent_->oncall, "web-1", "altered-1", "other.log");
  v1::RequestEnvelope envelope = Envelope(call);
  v1::TruncateLogRequest request;
  ASSERT_TRUE(request.ParseFromString(envelope.request()));
  request.set_path(*logs_ + "/app.log");
  request.SerializeToString(envelope.mutable_request());
  SetEnvelope(envelope, &call);
  ExpectRefusedAndNothingChanged(fake_->Relay(call),
                                 absl::StatusCode::kUnauthenticated,
                                 "altered after signing", "altered-1");
  EXPECT_EQ(ReadFileOrDie(*logs_ + "/other.log"), "other");
}

TEST_F(MaliciousControllerE2eTest, ASignedRequestRetargeted) {
  // Signed for db-1, relayed to web-1 as it is:
  ExpectRefusedAndNothingChanged(
      fake_->Relay(Truncate(agent_->oncall, "db-1", "retarget-1")),
      absl::StatusCode::kPermissionDenied, "this call is for host \"db-1\"",
      "retarget-1");
  // ... or with its target rewritten:
  v1::RelayedCall call = Truncate(agent_->oncall, "db-1", "retarget-2");
  v1::RequestEnvelope envelope = Envelope(call);
  envelope.set_target_host("web-1");
  SetEnvelope(envelope, &call);
  ExpectRefusedAndNothingChanged(fake_->Relay(call),
                                 absl::StatusCode::kUnauthenticated,
                                 "altered after signing", "retarget-2");
}

TEST_F(MaliciousControllerE2eTest, ASignedRequestReplayedAfterItsMinute) {
  // Signed 61 s ago: what a controller holding a captured request for a
  // minute would relay. The agent's clock decides, so this is the same
  // check as waiting; with its expiry moved, the signature breaks.
  v1::RelayedCall call =
      Truncate(agent_->oncall, "web-1", "late-1", "app.log", absl::Seconds(61));
  ExpectRefusedAndNothingChanged(fake_->Relay(call),
                                 absl::StatusCode::kUnauthenticated, "expired",
                                 "late-1");
  v1::RequestEnvelope envelope = Envelope(call);
  envelope.set_expires_at_unix_ms(
      absl::ToUnixMillis(absl::Now() + absl::Seconds(30)));
  SetEnvelope(envelope, &call);
  ExpectRefusedAndNothingChanged(fake_->Relay(call),
                                 absl::StatusCode::kUnauthenticated,
                                 "altered after signing", "late-1");
}

TEST_F(MaliciousControllerE2eTest, ASignedRequestReplayedNowAndAfterRestart) {
  std::ofstream(*logs_ + "/replayed.log") << "first";
  const v1::RelayedCall call =
      Truncate(agent_->oncall, "web-1", "replay-1", "replayed.log");
  std::optional<v1::RelayedResult> first = fake_->Relay(call);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->status().code(), 0) << first->status().message();
  EXPECT_EQ(ReadFileOrDie(*logs_ + "/replayed.log"), "");

  // The log fills again; the controller relays the same signed request.
  std::ofstream(*logs_ + "/replayed.log") << "second";
  std::optional<v1::RelayedResult> again = fake_->Relay(call);
  ExpectRefusedAndNothingChanged(again, absl::StatusCode::kUnauthenticated,
                                 "already received");
  EXPECT_EQ(ReadFileOrDie(*logs_ + "/replayed.log"), "second");

  // A forged copy with the same nonce and a life of two seconds is refused,
  // and must not shorten what the agent remembers of the nonce.
  v1::RelayedCall forged = call;
  v1::RequestEnvelope envelope = Envelope(forged);
  envelope.set_expires_at_unix_ms(
      absl::ToUnixMillis(absl::Now() + absl::Seconds(2)));
  SetEnvelope(envelope, &forged);
  ExpectRefusedAndNothingChanged(fake_->Relay(forged),
                                 absl::StatusCode::kUnauthenticated,
                                 "altered after signing");

  // And once more after the agent restarted, within the minute, after the
  // forged expiry.
  const int links = fake_->links();
  ASSERT_TRUE(agent_->Restart().ok());
  WaitForLink(links + 1);
  absl::SleepFor(absl::Seconds(3));
  std::optional<v1::RelayedResult> restarted = fake_->Relay(call);
  ExpectRefusedAndNothingChanged(restarted, absl::StatusCode::kUnauthenticated,
                                 "already received");
  EXPECT_EQ(ReadFileOrDie(*logs_ + "/replayed.log"), "second");
  EXPECT_EQ(Journaled(v1::JournalRecord::STARTED, "replay-1"), 1);
  EXPECT_EQ(Journaled(v1::JournalRecord::REFUSED, "replay-1"), 3);
}

TEST_F(MaliciousControllerE2eTest, AnOperatorFromAnotherCaIsRefused) {
  auto rogue = TestCertificateAuthority::Create(*dir_, "rogue");
  ASSERT_TRUE(rogue.ok());
  auto forged = (*rogue)->Issue("forged-alice", {"alice", {"oncall"}});
  ASSERT_TRUE(forged.ok());
  ExpectRefusedAndNothingChanged(
      fake_->Relay(Truncate(*forged, "web-1", "rogue-ca-1")),
      absl::StatusCode::kUnauthenticated, "not accepted", "rogue-ca-1");
}

TEST_F(MaliciousControllerE2eTest, AHostOrControllerCertificateIsNoOperator) {
  ExpectRefusedAndNothingChanged(
      fake_->Relay(Truncate(agent_->certificate, "web-1", "as-host-1")),
      absl::StatusCode::kUnauthenticated, "not an operator certificate",
      "as-host-1");
  CertificateSpec expired{"alice", {"oncall"}};
  expired.not_before_from_now = -absl::Hours(48);
  expired.not_after_from_now = -absl::Hours(24);
  auto old = ca_->Issue("expired-alice", expired);
  ASSERT_TRUE(old.ok());
  ExpectRefusedAndNothingChanged(
      fake_->Relay(Truncate(*old, "web-1", "expired-1")),
      absl::StatusCode::kUnauthenticated, "expired", "expired-1");
  v1::RelayedCall garbage = Truncate(agent_->oncall, "web-1", "garbage-1");
  garbage.set_operator_certificate("not a certificate");
  ExpectRefusedAndNothingChanged(fake_->Relay(garbage),
                                 absl::StatusCode::kUnauthenticated,
                                 "not accepted", "garbage-1");
}

TEST_F(MaliciousControllerE2eTest, OnlyDeclaredOperationsAreDispatched) {
  v1::TruncateLogRequest request;
  request.mutable_meta()->set_request_id("op-1");
  request.set_path(*logs_ + "/app.log");
  for (const char* name : {"/opsagent.v1.OpsAgent/TruncateLog", "shell"}) {
    ExpectRefusedAndNothingChanged(
        fake_->Relay(Signed(agent_->oncall, name, request, "web-1")),
        absl::StatusCode::kUnimplemented, "has no operation", "op-1");
  }
}

}  // namespace
}  // namespace opsagent
