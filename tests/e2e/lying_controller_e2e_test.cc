// A controller that lies to opsctl. The harness is a real gRPC server with
// a genuine controller certificate (opsctl's checks of who the controller is
// pass), answering what the real opsctld never would: a run that ends
// without a word of the hosts it started, a row whose two outcomes
// disagree, an outcome no release knows. opsctl must never show any of it
// as a success: unknown (exit 6) or refused (exit 5), with why.

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/tls/credentials.h"
#include "common/tls/server_trust.h"
#include "gmock/gmock.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::TestCertificateAuthority;
using ::testing::HasSubstr;

// What the lying controller answers; the test sets it before each call.
struct Lies {
  // Sent after RunStarted, before the stream ends OK.
  std::vector<v1::RunEvent> run_events;
  v1::AuditQueryReply audit;
};

class LyingController final : public v1::Controller::Service {
 public:
  void Tell(Lies lies) {
    absl::MutexLock lock(&mutex_);
    lies_ = std::move(lies);
  }

  grpc::Status SelectHosts(grpc::ServerContext*, const v1::SelectHostsRequest*,
                           v1::SelectHostsReply* reply) override {
    for (const char* host : {"web-1", "web-2", "web-3"}) reply->add_hosts(host);
    return grpc::Status::OK;
  }

  grpc::Status Run(grpc::ServerContext*, const v1::RunRequest* request,
                   grpc::ServerWriter<v1::RunEvent>* writer) override {
    v1::RunEvent started;
    for (int i = 0; i < request->requests_size(); ++i)
      started.mutable_started()->add_hosts(absl::StrCat("web-", i + 1));
    writer->Write(started);
    absl::MutexLock lock(&mutex_);
    for (const v1::RunEvent& event : lies_.run_events) writer->Write(event);
    return grpc::Status::OK;  // and not a word more
  }

  grpc::Status QueryAudit(grpc::ServerContext*, const v1::AuditQuery*,
                          v1::AuditQueryReply* reply) override {
    absl::MutexLock lock(&mutex_);
    *reply = lies_.audit;
    return grpc::Status::OK;
  }

 private:
  absl::Mutex mutex_;
  Lies lies_ ABSL_GUARDED_BY(mutex_);
};

class LyingControllerE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(std::getenv("TEST_TMPDIR"));
    auto ca = TestCertificateAuthority::Create(*dir_, "fleet");
    ASSERT_TRUE(ca.ok());
    ca_ = ca->release();
    testing::CertificateSpec controller{
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
    liar_ = new LyingController();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port_);
    builder.RegisterService(liar_);
    server_ = builder.BuildAndStart().release();
    ASSERT_NE(server_, nullptr);
    auto alice = ca_->Issue("operator-alice", {"alice", {"oncall"}});
    ASSERT_TRUE(alice.ok());
    alice_ =
        new OpsctlRunner(*dir_, "alice", alice->certificate, alice->private_key,
                         ca_->certificate_path(), "web-1", 1);
    alice_->AppendConfig(
        absl::StrCat("controller: \"127.0.0.1:", port_,
                     "\"\ncontroller_name: \"opsctld.test\"\n"));
  }

  static void TearDownTestSuite() {
    server_->Shutdown(std::chrono::system_clock::now());
    delete server_;
  }

  static v1::RunEvent Result(uint32_t host, v1::Outcome outcome) {
    v1::RunEvent event;
    event.mutable_result()->set_host(host);
    event.mutable_result()->set_outcome(outcome);
    return event;
  }

  static v1::RunEvent Finished(uint32_t ok, uint32_t not_started) {
    v1::RunEvent event;
    event.mutable_finished()->set_ok(ok);
    event.mutable_finished()->set_not_started(not_started);
    return event;
  }

  static v1::AuditQueryReply OneRow(v1::Outcome outcome,
                                    std::optional<v1::Outcome> result) {
    v1::AuditQueryReply reply;
    v1::AuditEntry* row = reply.add_entries();
    row->set_id(7);
    row->mutable_intent()->set_host("web-1");
    row->mutable_intent()->set_operation("truncate_log");
    row->set_outcome(outcome);
    if (result.has_value()) {
      row->mutable_result()->set_outcome(*result);
      row->mutable_result()->set_message("failed");
    }
    return reply;
  }

  static std::string* dir_;
  static TestCertificateAuthority* ca_;
  static ServerTrust* trust_;
  static LyingController* liar_;
  static grpc::Server* server_;
  static int port_;
  static OpsctlRunner* alice_;
};

std::string* LyingControllerE2eTest::dir_ = nullptr;
TestCertificateAuthority* LyingControllerE2eTest::ca_ = nullptr;
ServerTrust* LyingControllerE2eTest::trust_ = nullptr;
LyingController* LyingControllerE2eTest::liar_ = nullptr;
grpc::Server* LyingControllerE2eTest::server_ = nullptr;
int LyingControllerE2eTest::port_ = 0;
OpsctlRunner* LyingControllerE2eTest::alice_ = nullptr;

// The run ends OK, its tally even claiming success, with no result for two
// of the three hosts it started: those two are unknown, never ok.
TEST_F(LyingControllerE2eTest, HostsARunEndsSilentOnAreUnknown) {
  liar_->Tell({{Result(0, v1::OUTCOME_OK), Finished(3, 0)}, {}});
  ProgramResult ran = alice_->Run({"mem", "web-1,web-2,web-3"});
  EXPECT_EQ(ran.exit_code, 6) << ran.stdout_text << ran.stderr_text;
  EXPECT_THAT(ran.stdout_text + ran.stderr_text,
              HasSubstr("1 ok, 0 error, 0 denied, 0 unreachable, 2 unknown"));
  EXPECT_THAT(ran.stdout_text + ran.stderr_text,
              HasSubstr("ended the run without this host's result"));
}

// Nothing but the tally: every host is unknown.
TEST_F(LyingControllerE2eTest, ATallyWithoutResultsIsNoSuccess) {
  liar_->Tell({{Finished(3, 0)}, {}});
  ProgramResult ran = alice_->Run({"mem", "web-1,web-2,web-3"});
  EXPECT_EQ(ran.exit_code, 6) << ran.stdout_text << ran.stderr_text;
  EXPECT_THAT(ran.stdout_text + ran.stderr_text, HasSubstr("3 unknown"));
}

// Hosts the controller says it did not start (it stops after the error
// budget) are counted as not started, not unknown.
TEST_F(LyingControllerE2eTest, HostsNotStartedAreCountedSo) {
  liar_->Tell({{Result(0, v1::OUTCOME_ERROR), Finished(0, 2)}, {}});
  ProgramResult ran =
      alice_->Run({"mem", "web-1,web-2,web-3", "--max-failures", "1"});
  EXPECT_EQ(ran.exit_code, 1) << ran.stdout_text << ran.stderr_text;
  EXPECT_THAT(ran.stdout_text + ran.stderr_text,
              HasSubstr("0 ok, 1 error, 0 denied, 0 unreachable, 0 unknown"));
  EXPECT_THAT(ran.stdout_text + ran.stderr_text, HasSubstr("2 not started"));
}

// "Not started" where nothing failed, or the run had no error budget, or
// for hosts it answered: not a way to make hosts vanish. They are unknown.
TEST_F(LyingControllerE2eTest, NotStartedWithoutAFailureIsUnknown) {
  liar_->Tell({{Result(0, v1::OUTCOME_OK), Finished(1, 1000)}, {}});
  ProgramResult ran = alice_->Run({"mem", "web-1,web-2,web-3"});
  EXPECT_EQ(ran.exit_code, 6) << ran.stdout_text << ran.stderr_text;
  EXPECT_THAT(ran.stdout_text + ran.stderr_text, HasSubstr("2 unknown"));
  ProgramResult budget =
      alice_->Run({"mem", "web-1,web-2,web-3", "--max-failures", "1"});
  EXPECT_EQ(budget.exit_code, 6) << budget.stdout_text << budget.stderr_text;
  liar_->Tell({{Result(2, v1::OUTCOME_ERROR), Finished(0, 2)}, {}});
  ProgramResult answered =
      alice_->Run({"mem", "web-1,web-2,web-3", "--max-failures", "1"});
  EXPECT_EQ(answered.exit_code, 6)
      << answered.stdout_text << answered.stderr_text;
  EXPECT_THAT(answered.stdout_text + answered.stderr_text,
              HasSubstr("2 unknown"));
}

// A row saying ok whose result says error is shown as neither.
TEST_F(LyingControllerE2eTest, ARowWithTwoOutcomesIsRefused) {
  liar_->Tell({{}, OneRow(v1::OUTCOME_OK, v1::OUTCOME_ERROR)});
  for (const char* format : {"table", "json"}) {
    ProgramResult listed = alice_->Run({"audit", "--output", format});
    EXPECT_EQ(listed.exit_code, 5) << format << listed.stdout_text;
    EXPECT_THAT(listed.stderr_text, HasSubstr("says two outcomes (ok and "
                                              "error)"));
    EXPECT_THAT(listed.stdout_text, ::testing::Not(HasSubstr("web-1")));
  }
}

// A finished outcome with no result to show for it is refused too.
TEST_F(LyingControllerE2eTest, AnOutcomeWithoutItsResultIsRefused) {
  liar_->Tell({{}, OneRow(v1::OUTCOME_OK, std::nullopt)});
  ProgramResult listed = alice_->Run({"audit"});
  EXPECT_EQ(listed.exit_code, 5) << listed.stdout_text;
  EXPECT_THAT(listed.stderr_text, HasSubstr("says ok with no result"));
}

// An outcome no release knows, in the result only: refused, naming it.
TEST_F(LyingControllerE2eTest, AnUnknownOutcomeIsRefusedByItsNumber) {
  liar_->Tell({{}, OneRow(v1::OUTCOME_OK, static_cast<v1::Outcome>(99))});
  ProgramResult listed = alice_->Run({"audit"});
  EXPECT_EQ(listed.exit_code, 5) << listed.stdout_text;
  EXPECT_THAT(listed.stderr_text, HasSubstr("does not know (99)"));
}

}  // namespace
}  // namespace opsagent
