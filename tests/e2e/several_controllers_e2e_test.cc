// One agent, two active controllers (issue 25): the real opsagent linked
// to two real opsctld processes at once (`controller` and
// `more_controllers`), each controller with its own SQLite audit file,
// over real mutual TLS with one test CA. Either controller reaches the
// host; one killed leaves the other's link as it was; a change resent
// through the other controller under the same request id is answered from
// the agent's retry cache, not run twice.

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/signing/signed_request.h"
#include "common/tls/credentials.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "opsagent/v1/agent.pb.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "opsagent/v1/journal.pb.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/journal_file.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_controller.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::Occurrences;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::ReadJournalFile;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::TestController;
using ::testing::HasSubstr;

class SeveralControllersE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    mkdir(dir_.c_str(), 0700);
    auto ca = TestCertificateAuthority::Create(dir_, "fleet");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::shared_ptr<TestCertificateAuthority>(*std::move(ca));
    // Two controllers, each with its own name, port and team log.
    for (const char* which : {"a", "b"}) {
      const std::string controller_dir = absl::StrCat(dir_, "/opsctld-", which);
      mkdir(controller_dir.c_str(), 0700);
      TestController::Options options;
      options.dir = controller_dir;
      options.ca = ca_.get();
      options.name = absl::StrCat("opsctld-", which, ".test");
      absl::StatusOr<std::unique_ptr<TestController>> started =
          TestController::Start(options);
      ASSERT_TRUE(started.ok()) << started.status();
      controllers_.push_back(*std::move(started));
    }
    ASSERT_NE(controllers_[0]->audit_path(), controllers_[1]->audit_path());
    // A change whose every run leaves a file behind: mktemp makes a new
    // one each time and prints its name.
    runs_ = dir_ + "/runs";
    mkdir(runs_.c_str(), 0700);
    const std::string agent_dir = dir_ + "/web-1";
    mkdir(agent_dir.c_str(), 0700);
    TestAgent::Options options;
    options.dir = agent_dir;
    options.host_name = "web-1";
    options.ca = ca_;
    // The controllers are its only way in.
    options.listener = false;
    options.extra_config =
        absl::StrCat(controllers_[0]->AgentConfig("controller"),
                     controllers_[1]->AgentConfig("more_controllers"),
                     "journal_path: \"", agent_dir, "/journal.jsonl\"\n",
                     "command { name: \"mark\" argv: [\"/usr/bin/mktemp\", \"",
                     runs_, "/run.XXXXXX\"] }\n");
    absl::StatusOr<std::unique_ptr<TestAgent>> agent =
        TestAgent::Start(options);
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
    for (const auto& controller : controllers_) {
      const std::string linked =
          absl::StrCat("connected to the controller ", controller->name());
      ASSERT_TRUE(Eventually([&] {
        return absl::StrContains(agent_->process->Log(), linked);
      })) << agent_->process->Log();
    }
  }

  // opsctl as alice through `controller` alone.
  std::unique_ptr<OpsctlRunner> Opsctl(const TestController& controller) {
    const std::string name = controller.name();
    auto runner = std::make_unique<OpsctlRunner>(
        dir_, absl::StrCat("alice-via-", name), agent_->oncall.certificate,
        agent_->oncall.private_key, ca_->certificate_path(), "web-1", 1);
    runner->AppendConfig(controller.OpsctlConfig());
    return runner;
  }

  // Runs the vetted command "mark" on web-1 as alice through `controller`,
  // signed afresh (a new nonce) under `request_id`, as opsctl retrying a
  // change it could not deliver does; the host's result.
  v1::HostResult Mark(const TestController& controller,
                      const std::string& request_id) {
    auto credentials = MakeChannelCredentials(
        {agent_->oncall.certificate, agent_->oncall.private_key,
         ca_->certificate_path()},
        "controller");
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(controller.name());
    auto stub = v1::Controller::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", controller.port()), *credentials, args));
    auto signer = RequestSigner::FromFiles(agent_->oncall.certificate,
                                           agent_->oncall.private_key);
    EXPECT_TRUE(signer.ok()) << signer.status();
    v1::RunCommandRequest mark;
    mark.mutable_meta()->set_request_id(request_id);
    mark.mutable_meta()->set_run_id(absl::StrCat("run-", request_id));
    mark.mutable_meta()->set_reason("two controllers, one change");
    mark.set_name("mark");
    v1::RequestEnvelope envelope;
    envelope.set_request_id(request_id);
    envelope.set_operation("run_command");
    envelope.set_target_host("web-1");
    mark.SerializeToString(envelope.mutable_request());
    auto signed_request = (*signer)->Sign(envelope, absl::Now());
    EXPECT_TRUE(signed_request.ok()) << signed_request.status();
    v1::RunRequest request;
    request.set_target("web-1");
    request.set_operation("run_command");
    *request.add_requests() = *signed_request;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    auto reader = stub->Run(&context, request);
    v1::RunEvent event;
    v1::HostResult result;
    while (reader->Read(&event)) {
      if (event.has_result()) result = event.result();
    }
    grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return result;
  }

  // The file names mktemp printed, as the agent's answer carries them.
  static std::string Output(const v1::HostResult& result) {
    v1::RunCommandEvent final;
    EXPECT_TRUE(final.ParseFromString(result.final_message()));
    return final.result().output_tail();
  }

  int Runs() const {
    int files = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator(runs_))
      ++files;
    return files;
  }

  std::string dir_;
  std::string runs_;
  std::shared_ptr<TestCertificateAuthority> ca_;
  std::vector<std::unique_ptr<TestController>> controllers_;
  std::unique_ptr<TestAgent> agent_;
};

TEST_F(SeveralControllersE2eTest, BothControllersListTheHostAndReachIt) {
  for (const auto& controller : controllers_) {
    auto alice = Opsctl(*controller);
    ProgramResult hosts = alice->Run({"hosts", "--output", "json"});
    ASSERT_EQ(hosts.exit_code, 0) << hosts.stderr_text;
    std::map<std::string, bool> connected;
    const google::protobuf::Value listed = ParseJson(hosts.stdout_text);
    for (const auto& host : listed.list_value().values())
      connected[JsonField(host, "name").string_value()] =
          JsonField(host, "connected").bool_value();
    EXPECT_EQ(connected, (std::map<std::string, bool>{{"web-1", true}}))
        << controller->name() << ": " << hosts.stdout_text;
    ProgramResult info = alice->Run({"info", "web-1"});
    EXPECT_EQ(info.exit_code, 0) << info.stderr_text;
    EXPECT_THAT(info.stdout_text, HasSubstr("host:              web-1"));
  }
  // The agent journaled each call with the controller it came through.
  std::map<std::string, int> via;
  for (const v1::JournalRecord& record :
       ReadJournalFile(agent_->dir + "/journal.jsonl"))
    ++via[record.via()];
  EXPECT_GE(via["controller opsctld-a.test"], 1);
  EXPECT_GE(via["controller opsctld-b.test"], 1);
}

TEST_F(SeveralControllersE2eTest, OneControllerKilledLeavesTheOtherLinkUp) {
  const std::string b_linked = "connected to the controller opsctld-b.test";
  const int b_links_before = Occurrences(agent_->process->Log(), b_linked);
  controllers_[0]->Kill();
  // At once: B's link never went down, so nothing waits for a reconnect.
  auto alice = Opsctl(*controllers_[1]);
  const absl::Time asked = absl::Now();
  ProgramResult info = alice->Run({"info", "web-1", "--timeout", "5"});
  EXPECT_EQ(info.exit_code, 0) << info.stderr_text;
  EXPECT_LT(absl::Now() - asked, absl::Seconds(5));
  EXPECT_EQ(Occurrences(agent_->process->Log(), b_linked), b_links_before)
      << agent_->process->Log();
  // A's link notices and retries on its own, B's staying up meanwhile.
  EXPECT_TRUE(Eventually([&] {
    return absl::StrContains(agent_->process->Log(),
                             "the link to the controller opsctld-a.test ended");
  })) << agent_->process->Log();
  EXPECT_TRUE(Eventually([&] {
    return absl::StrContains(agent_->process->Log(),
                             "cannot link to the controller opsctld-a.test");
  })) << agent_->process->Log();
  ProgramResult again = alice->Run({"info", "web-1"});
  EXPECT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_EQ(Occurrences(agent_->process->Log(), b_linked), b_links_before);
  // A back: the agent links to it again by itself.
  ASSERT_TRUE(controllers_[0]->Restart().ok());
  EXPECT_TRUE(Eventually([&] {
    return Occurrences(agent_->process->Log(),
                       "connected to the controller opsctld-a.test") == 2;
  })) << agent_->process->Log();
}

// The agent's retry cache is the agent's, not a link's: a change that went
// through A, whose controller then died before the operator heard back, is
// resent through B under the same request id and gets the first outcome.
TEST_F(SeveralControllersE2eTest,
       AChangeResentThroughTheOtherControllerIsNotRunTwice) {
  const v1::HostResult first = Mark(*controllers_[0], "resend-1");
  ASSERT_EQ(first.outcome(), v1::OUTCOME_OK) << first.status().message();
  ASSERT_EQ(Runs(), 1);
  controllers_[0]->Kill();
  const v1::HostResult resent = Mark(*controllers_[1], "resend-1");
  ASSERT_EQ(resent.outcome(), v1::OUTCOME_OK) << resent.status().message();
  // The same answer (the one file mktemp made), and no second file.
  EXPECT_THAT(Output(first), HasSubstr(runs_ + "/run."));
  EXPECT_EQ(Output(resent), Output(first));
  EXPECT_EQ(Runs(), 1);
  EXPECT_THAT(agent_->process->Log(),
              HasSubstr("returning the first outcome, not acting again"));
  int started = 0;
  for (const v1::JournalRecord& record :
       ReadJournalFile(agent_->dir + "/journal.jsonl")) {
    if (record.request_id() == "resend-1" &&
        record.event() == v1::JournalRecord::STARTED)
      ++started;
  }
  EXPECT_EQ(started, 1);
  // A new request id through B is a new change.
  const v1::HostResult other = Mark(*controllers_[1], "resend-2");
  EXPECT_EQ(other.outcome(), v1::OUTCOME_OK) << other.status().message();
  EXPECT_EQ(Runs(), 2);
}

}  // namespace
}  // namespace opsagent
