// The central controller on real parts: the real opsctld, real agents that
// dial in over real mutual TLS, real opsctl processes for several
// operators, and the team's audit log in a real SQLite file. One CA signs
// the controller, the agents and the operators, as in a deployment.

#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/signing/signed_request.h"
#include "common/tls/credentials.h"
#include "controller/audit/audit_store.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "opsagent/v1/controller.grpc.pb.h"
#include "opsagent/v1/journal.pb.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/connection_flood.h"
#include "tests/testing/journal_file.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_controller.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::CertificateSpec;
using ::opsagent::testing::ConnectionFlood;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::ReadJournalFile;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::TestController;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

// Every row of the team's audit log.
std::vector<v1::AuditEntry> TeamRows(const std::string& path) {
  absl::StatusOr<std::unique_ptr<AuditStore>> store = AuditStore::Open(path);
  if (!store.ok()) return {};
  v1::AuditQuery all;
  all.set_limit(100000);
  absl::StatusOr<std::vector<v1::AuditEntry>> rows = (*store)->Query(all);
  return rows.ok() ? *rows : std::vector<v1::AuditEntry>{};
}

// A fleet: one controller, agents that link to it, operators.
class Fleet {
 public:
  explicit Fleet(const std::string& dir) : dir_(dir) {
    mkdir(dir.c_str(), 0700);
    auto ca = TestCertificateAuthority::Create(dir, "fleet");
    EXPECT_TRUE(ca.ok()) << ca.status();
    ca_ = std::shared_ptr<TestCertificateAuthority>(*std::move(ca));
  }

  absl::Status StartController(const std::string& extra = "") {
    TestController::Options options;
    options.dir = dir_;
    options.ca = ca_.get();
    options.extra_config = extra;
    absl::StatusOr<std::unique_ptr<TestController>> started =
        TestController::Start(options);
    if (!started.ok()) return started.status();
    controller_ = *std::move(started);
    return absl::OkStatus();
  }

  // An agent for `host`, linked to the controller; waits until linked.
  TestAgent* AddAgent(const std::string& host, const std::string& extra,
                      bool listener = true, const std::string& tls = "",
                      bool wait_linked = true) {
    const std::string agent_dir = absl::StrCat(dir_, "/", host);
    mkdir(agent_dir.c_str(), 0700);
    TestAgent::Options options;
    options.dir = agent_dir;
    options.host_name = host;
    options.ca = ca_;
    options.listener = listener;
    options.tls_config = tls;
    options.extra_config =
        absl::StrCat(controller_->AgentConfig(), "journal_path: \"", agent_dir,
                     "/journal.jsonl\"\n", extra);
    absl::StatusOr<std::unique_ptr<TestAgent>> agent =
        TestAgent::Start(options);
    EXPECT_TRUE(agent.ok()) << agent.status();
    if (!agent.ok()) return nullptr;
    agents_.push_back(*std::move(agent));
    TestAgent* added = agents_.back().get();
    if (!wait_linked) return added;
    EXPECT_TRUE(Eventually([&] {
      return absl::StrContains(added->process->Log(),
                               "connected to the controller");
    })) << added->process->Log();
    return added;
  }

  CertificateFiles Operator(const std::string& name,
                            const std::vector<std::string>& roles) {
    auto issued = ca_->Issue(absl::StrCat("operator-", name), {name, roles});
    EXPECT_TRUE(issued.ok());
    return *issued;
  }

  // opsctl as `files` through the controller (its inventory, for --direct,
  // names `direct_host` at `direct_port`).
  std::unique_ptr<OpsctlRunner> Opsctl(const std::string& name,
                                       const CertificateFiles& files,
                                       const std::string& direct_host = "web-1",
                                       int direct_port = 1) {
    auto runner = std::make_unique<OpsctlRunner>(
        dir_, name, files.certificate, files.private_key,
        ca_->certificate_path(), direct_host, direct_port);
    runner->AppendConfig(controller_->OpsctlConfig());
    return runner;
  }

  TestController& controller() { return *controller_; }
  TestCertificateAuthority& ca() { return *ca_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::shared_ptr<TestCertificateAuthority> ca_;
  std::unique_ptr<TestController> controller_;
  std::vector<std::unique_ptr<TestAgent>> agents_;
};

class ControllerE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/fleet");
    fleet_ = new Fleet(dir);
    // A host the team expects, which never connects.
    WriteFileOrDie(dir + "/expected.inventory",
                   "host { name: \"web-3\" address: \"10.0.0.3:9443\" roles: "
                   "\"web\" environment: \"production\" }\n");
    chmod((dir + "/expected.inventory").c_str(), 0600);
    // Viewers may relay through the controller; what they may do on a
    // host is each agent's decision.
    ASSERT_TRUE(fleet_
                    ->StartController(absl::StrCat(
                        "inventory: \"", dir, "/expected.inventory\"\n",
                        "access { roles: \"viewer\" permissions: \"run\" }\n"))
                    .ok());
    // web-1 checks revocation: mallory is revoked there.
    mallory_ = new CertificateFiles(fleet_->Operator("mallory", {"oncall"}));
    const std::string crls = dir + "/crl";
    mkdir(crls.c_str(), 0700);
    ASSERT_TRUE(fleet_->ca().WriteCrl(crls, {mallory_->certificate}).ok());
    logs_ = new std::string(dir + "/logs");
    mkdir(logs_->c_str(), 0700);
    std::ofstream(*logs_ + "/app.log") << std::string(1 << 20, 'x');
    web1_ = fleet_->AddAgent(
        "web-1",
        absl::StrCat("roles: \"web\"\nenvironment: \"production\"\n",
                     "truncatable_logs: \"", *logs_, "/*.log\"\n",
                     "inspection_roots: \"", dir, "\"\n",
                     "command { name: \"slow\" argv: \"/bin/sleep\" argv: "
                     "\"2\" timeout_seconds: 10 }\n",
                     "authorization { roles: \"viewer\" operations: "
                     "[\"info\", \"memory\"] }\n"),
        /*listener=*/true,
        absl::StrCat("crl_directory: \"", crls,
                     "\" refresh_interval_seconds: 1"));
    // web-2 has no listener at all: the controller is its only way in.
    web2_ = fleet_->AddAgent("web-2",
                             "roles: \"web\"\nenvironment: \"production\"\n",
                             /*listener=*/false);
    ASSERT_NE(web1_, nullptr);
    ASSERT_NE(web2_, nullptr);
    alice_ = new CertificateFiles(fleet_->Operator("alice", {"oncall"}));
    bob_ = new CertificateFiles(fleet_->Operator("bob", {"oncall"}));
    victor_ = new CertificateFiles(fleet_->Operator("victor", {"viewer"}));
  }

  static void TearDownTestSuite() {
    delete fleet_;
    fleet_ = nullptr;
  }

  static Fleet* fleet_;
  static TestAgent* web1_;
  static TestAgent* web2_;
  static CertificateFiles* alice_;
  static CertificateFiles* bob_;
  static CertificateFiles* mallory_;
  static CertificateFiles* victor_;
  static std::string* logs_;
};

Fleet* ControllerE2eTest::fleet_;
TestAgent* ControllerE2eTest::web1_;
TestAgent* ControllerE2eTest::web2_;
CertificateFiles* ControllerE2eTest::alice_;
CertificateFiles* ControllerE2eTest::bob_;
CertificateFiles* ControllerE2eTest::mallory_;
CertificateFiles* ControllerE2eTest::victor_;
std::string* ControllerE2eTest::logs_;

// A denial by the controller is exit code 3 whichever command met it, as a
// denial by an agent is: scripts tell "not allowed" from "unreachable" (4).
TEST_F(ControllerE2eTest, EveryControllerDenialIsExitCode3) {
  auto victor = fleet_->Opsctl("denied-victor", *victor_);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"hosts"},
                                             {"incidents"},
                                             {"incident", "show", "INC-1"},
                                             {"audit", "--since", "1h"}}) {
    ProgramResult denied = victor->Run(args);
    EXPECT_EQ(denied.exit_code, 3)
        << absl::StrJoin(args, " ") << ": " << denied.stderr_text;
    EXPECT_THAT(denied.stderr_text, HasSubstr("victor"))
        << absl::StrJoin(args, " ");
  }
}

TEST_F(ControllerE2eTest, HostsShowsTheLiveInventory) {
  auto alice = fleet_->Opsctl("hosts-alice", *alice_);
  ProgramResult r = alice->Run({"hosts", "--output", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const google::protobuf::Value hosts = ParseJson(r.stdout_text);
  std::map<std::string, const google::protobuf::Value*> by_name;
  for (const auto& host : hosts.list_value().values())
    by_name[JsonField(host, "name").string_value()] = &host;
  ASSERT_EQ(by_name.size(), 3u) << r.stdout_text;
  EXPECT_TRUE(JsonField(*by_name["web-1"], "connected").bool_value());
  EXPECT_TRUE(JsonField(*by_name["web-2"], "connected").bool_value());
  EXPECT_FALSE(JsonField(*by_name["web-3"], "connected").bool_value());
  EXPECT_TRUE(JsonField(*by_name["web-3"], "in_inventory").bool_value());
  EXPECT_EQ(JsonField(*by_name["web-1"], "agent_version").string_value(),
            "0.1.0");
  ProgramResult table = alice->Run({"hosts"});
  EXPECT_THAT(table.stdout_text, HasSubstr("never connected"));
  EXPECT_THAT(table.stderr_text, HasSubstr("2 of 3 hosts connected"));
}

TEST_F(ControllerE2eTest, ReadOnlyAndMutatingOperationsGoThroughIt) {
  auto alice = fleet_->Opsctl("ops-alice", *alice_);
  ProgramResult mem = alice->Run({"mem", "web-2", "--incident", "INC-42"});
  ASSERT_EQ(mem.exit_code, 0) << mem.stderr_text;
  EXPECT_THAT(mem.stdout_text, HasSubstr("available"));
  // Many hosts: one run, same output as directly.
  ProgramResult all = alice->Run({"info", "role:web,env:production", "--output",
                                  "json", "--incident", "INC-42"});
  EXPECT_EQ(all.exit_code, 4) << all.stderr_text;  // web-3 is not connected
  EXPECT_THAT(all.stdout_text, HasSubstr("\"host\":\"web-1\""));
  EXPECT_THAT(all.stdout_text, HasSubstr("\"outcome\":\"unreachable\""));
  EXPECT_THAT(all.stdout_text, HasSubstr("web-3 is not connected"));

  const std::string log = *logs_ + "/app.log";
  struct stat before;
  ASSERT_EQ(stat(log.c_str(), &before), 0);
  ProgramResult truncate =
      alice->Run({"truncate", "web-1", log, "--yes", "--incident", "INC-42"});
  ASSERT_EQ(truncate.exit_code, 0) << truncate.stderr_text;
  struct stat after;
  ASSERT_EQ(stat(log.c_str(), &after), 0);
  EXPECT_EQ(after.st_size, 0);
  EXPECT_EQ(after.st_ino, before.st_ino);

  // One answer to "what did the team do during INC-42", from the
  // controller's log, naming alice from her certificate.
  ProgramResult audit =
      alice->Run({"audit", "--incident", "INC-42", "--output", "json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.stderr_text;
  const google::protobuf::Value rows = ParseJson(audit.stdout_text);
  ASSERT_GE(rows.list_value().values_size(), 5) << audit.stdout_text;
  bool truncate_row = false;
  for (const auto& row : rows.list_value().values()) {
    EXPECT_EQ(JsonField(row, "cert_identity").string_value(), "alice");
    if (JsonField(row, "operation").string_value() == "truncate_log") {
      truncate_row = true;
      EXPECT_TRUE(JsonField(row, "mutating").bool_value());
      EXPECT_EQ(JsonField(row, "outcome").string_value(), "ok");
      EXPECT_EQ(JsonField(row, "host").string_value(), "web-1");
    }
  }
  EXPECT_TRUE(truncate_row);
  // Nothing in alice's local file: the team's log is the controller's.
  EXPECT_TRUE(alice->AuditRows().empty());
  // The agent's own witness: journaled as relayed, for alice.
  bool journaled = false;
  for (const v1::JournalRecord& record :
       ReadJournalFile(web1_->dir + "/journal.jsonl")) {
    if (record.operation() == "truncate_log" &&
        record.event() == v1::JournalRecord::FINISHED) {
      journaled = true;
      EXPECT_EQ(record.via(), "controller opsctld.test");
      EXPECT_EQ(record.caller(), "alice (oncall)");
      EXPECT_EQ(record.status_code(), 0);
    }
  }
  EXPECT_TRUE(journaled);
}

TEST_F(ControllerE2eTest, TheAgentAuthorizesTheOperatorNotTheController) {
  // The controller lets victor (a viewer) relay, but not list hosts.
  auto victor = fleet_->Opsctl("authz-victor", *victor_);
  ProgramResult hosts = victor->Run({"hosts"});
  EXPECT_EQ(hosts.exit_code, 3);
  EXPECT_THAT(hosts.stderr_text, HasSubstr("may not use the controller"));
  ProgramResult read = victor->Run({"info", "web-1"});
  EXPECT_EQ(read.exit_code, 0) << read.stderr_text;
  EXPECT_THAT(read.stdout_text, HasSubstr("you are:           victor"));
  // web-1 grants viewers reads only: the change is refused there, and the
  // file is untouched.
  const std::string log_file = *logs_ + "/app.log";
  std::ofstream(log_file) << "keep me";
  ProgramResult change = victor->Run({"truncate", "web-1", log_file, "--yes"});
  EXPECT_EQ(change.exit_code, 3) << change.stderr_text;
  EXPECT_THAT(change.stderr_text, HasSubstr("victor"));
  EXPECT_EQ(ReadFileOrDie(log_file), "keep me");

  // mallory is revoked by web-1's CRL. The controller checks no CRL and
  // relays her call, but web-1 verifies her certificate itself.
  auto mallory = fleet_->Opsctl("authz-mallory", *mallory_);
  const std::string before = web1_->process->Log();
  ProgramResult revoked = mallory->Run({"mem", "web-1"});
  EXPECT_EQ(revoked.exit_code, 3) << revoked.stderr_text;
  const std::string log = web1_->process->Log().substr(before.size());
  EXPECT_THAT(log, HasSubstr("revoked"));
  EXPECT_THAT(log, Not(HasSubstr("start memory by mallory")));
  std::vector<v1::AuditEntry> rows =
      TeamRows(fleet_->controller().audit_path());
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.back().intent().cert_identity(), "mallory");
  EXPECT_EQ(rows.back().outcome(), v1::OUTCOME_DENIED);
}

TEST_F(ControllerE2eTest, TwoOperatorsAtOnceAndTheLocksHoldAcrossThem) {
  auto alice = fleet_->Opsctl("two-alice", *alice_);
  auto bob = fleet_->Opsctl("two-bob", *bob_);
  const std::string dir = fleet_->dir();
  // Both run the same slow vetted command on web-1 at the same moment: one
  // holds its lock, the other is told who holds it.
  auto first = alice->Start({"exec", "web-1", "slow", "--yes"},
                            dir + "/alice.out", dir + "/alice.err");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(Eventually([&] {
    return absl::StrContains(web1_->process->Log(),
                             "start run_command by alice");
  }));
  ProgramResult second = bob->Run({"exec", "web-1", "slow", "--yes"});
  EXPECT_EQ(second.exit_code, 1) << second.stderr_text;
  EXPECT_THAT(second.stderr_text, HasSubstr("in progress"));
  EXPECT_THAT(second.stderr_text, HasSubstr("alice"));
  absl::StatusOr<int> first_exit = first->Wait(absl::Seconds(30));
  ASSERT_TRUE(first_exit.ok());
  EXPECT_EQ(*first_exit, 0) << ReadFileOrDie(dir + "/alice.err");
  // Meanwhile reads by both went through at once.
  std::thread reader([&] {
    EXPECT_EQ(alice->Run({"mem", "web-2"}).exit_code, 0);
  });
  EXPECT_EQ(bob->Run({"mem", "web-2"}).exit_code, 0);
  reader.join();
  // Each row names its operator from the certificate.
  int by_alice = 0, by_bob = 0;
  for (const v1::AuditEntry& row :
       TeamRows(fleet_->controller().audit_path())) {
    if (row.intent().operation() != "run_command") continue;
    by_alice += row.intent().cert_identity() == "alice";
    by_bob += row.intent().cert_identity() == "bob";
    if (row.intent().cert_identity() == "bob")
      EXPECT_EQ(row.outcome(), v1::OUTCOME_ERROR);
  }
  EXPECT_EQ(by_alice, 1);
  EXPECT_EQ(by_bob, 1);
}

// A raw channel to the controller, presenting `files`.
std::shared_ptr<grpc::Channel> ControllerChannel(
    Fleet& fleet, const CertificateFiles& files) {
  auto credentials = MakeChannelCredentials(
      {files.certificate, files.private_key, fleet.ca().certificate_path()},
      "controller");
  EXPECT_TRUE(credentials.ok());
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("opsctld.test");
  return grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", fleet.controller().port()), *credentials,
      args);
}

// A raw client of the controller's AgentLink, presenting `files`.
std::unique_ptr<v1::AgentLink::Stub> LinkStub(Fleet& fleet,
                                              const CertificateFiles& files) {
  return v1::AgentLink::NewStub(ControllerChannel(fleet, files));
}

// Says hello as `hostname`; the status the controller ends the link with.
grpc::Status Register(v1::AgentLink::Stub& stub, const std::string& hostname) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  auto stream = stub.Connect(&context);
  v1::AgentMessage hello;
  hello.mutable_hello()->set_hostname(hostname);
  stream->Write(hello);
  v1::ControllerMessage reply;
  if (stream->Read(&reply) && reply.has_accepted()) {
    context.TryCancel();
    stream->Finish().IgnoreError();
    return grpc::Status::OK;
  }
  return stream->Finish();
}

TEST_F(ControllerE2eTest, NoCertificateRegistersAsAHostItDoesNotCertify) {
  CertificateSpec db{"db-1", {}, {"db-1"}, {"127.0.0.1"}};
  db.server = true;
  auto db_cert = fleet_->ca().Issue("db-1", db);
  ASSERT_TRUE(db_cert.ok());
  auto as_db = LinkStub(*fleet_, *db_cert);
  // As web-1 (whose link it would hijack): refused, web-1 stays linked.
  grpc::Status hijack = Register(*as_db, "web-1");
  EXPECT_EQ(hijack.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(hijack.error_message(), HasSubstr("does not certify"));
  // An operator certificate cannot be an agent at all.
  auto as_alice = LinkStub(*fleet_, *alice_);
  grpc::Status operator_link = Register(*as_alice, "alice");
  EXPECT_EQ(operator_link.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(operator_link.error_message(),
              HasSubstr("operator certificate cannot register"));
  // Hello text is host text: control characters are refused.
  grpc::ClientContext context;
  auto stream = as_db->Connect(&context);
  v1::AgentMessage hello;
  hello.mutable_hello()->set_hostname("db-1");
  hello.mutable_hello()->add_roles("web\x1b]0;owned\x07");
  stream->Write(hello);
  v1::ControllerMessage reply;
  EXPECT_FALSE(stream->Read(&reply) && reply.has_accepted());
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // web-1 still answers through its own link.
  auto alice = fleet_->Opsctl("hijack-alice", *alice_);
  ProgramResult info = alice->Run({"info", "web-1"});
  EXPECT_EQ(info.exit_code, 0) << info.stderr_text;
  EXPECT_THAT(info.stdout_text, HasSubstr("host:              web-1"));
}

TEST_F(ControllerE2eTest, AHostCertificateCannotActAsAnOperator) {
  // web-1's own certificate calling Controller.Run.
  auto stub =
      v1::Controller::NewStub(ControllerChannel(*fleet_, web1_->certificate));
  grpc::ClientContext context;
  v1::RunRequest request;
  request.set_target("web-2");
  request.set_operation("memory");
  auto reader = stub->Run(&context, request);
  v1::RunEvent event;
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("not an operator certificate"));
}

// An operator's run may only name hosts the controller knows, by DNS
// names: nothing else gets a row in the team's log.
TEST_F(ControllerE2eTest, ARunForHostsTheControllerDoesNotKnowIsRefused) {
  auto stub = v1::Controller::NewStub(ControllerChannel(*fleet_, *alice_));
  auto signer =
      RequestSigner::FromFiles(alice_->certificate, alice_->private_key);
  ASSERT_TRUE(signer.ok());
  const size_t rows_before = TeamRows(fleet_->controller().audit_path()).size();
  for (const auto& [host, code] :
       {std::pair{std::string("ghost-1"), grpc::StatusCode::NOT_FOUND},
        {std::string("evil\x1b[2J\rhost"),
         grpc::StatusCode::INVALID_ARGUMENT}}) {
    v1::InfoRequest info;
    info.mutable_meta()->set_request_id(absl::StrCat("unknown-", host.size()));
    info.mutable_meta()->set_run_id("run-unknown");
    v1::RequestEnvelope envelope;
    envelope.set_request_id(info.meta().request_id());
    envelope.set_operation("info");
    info.SerializeToString(envelope.mutable_request());
    envelope.set_target_host(host);
    auto signed_request = (*signer)->Sign(envelope, absl::Now());
    ASSERT_TRUE(signed_request.ok());
    v1::RunRequest request;
    request.set_operation("info");
    *request.add_requests() = *signed_request;
    grpc::ClientContext context;
    auto reader = stub->Run(&context, request);
    v1::RunEvent event;
    EXPECT_FALSE(reader->Read(&event));
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), code) << status.error_message();
  }
  EXPECT_EQ(TeamRows(fleet_->controller().audit_path()).size(), rows_before);
}

// Each case its own controller and agents: they kill things.
class ControllerFailureE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fleet_ = std::make_unique<Fleet>(absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    ASSERT_TRUE(fleet_->StartController().ok());
    for (const char* host : {"app-1", "app-2"}) {
      TestAgent* agent = fleet_->AddAgent(
          host,
          "command { name: \"slow\" argv: \"/bin/sleep\" argv: \"3\" "
          "timeout_seconds: 10 }\n");
      ASSERT_NE(agent, nullptr);
      agents_.push_back(agent);
    }
    alice_ = fleet_->Operator("alice", {"oncall"});
  }

  std::unique_ptr<Fleet> fleet_;
  std::vector<TestAgent*> agents_;
  CertificateFiles alice_;
};

TEST_F(ControllerFailureE2eTest, ControllerKilledMidFanOut) {
  auto alice = fleet_->Opsctl("alice", alice_);
  const std::string dir = fleet_->dir();
  auto run = alice->Start({"exec", "app-*", "slow", "--yes"}, dir + "/run.out",
                          dir + "/run.err");
  ASSERT_TRUE(run.ok());
  for (TestAgent* agent : agents_) {
    ASSERT_TRUE(Eventually([&] {
      return absl::StrContains(agent->process->Log(), "start run_command");
    }));
  }
  fleet_->controller().Kill();
  absl::StatusOr<int> exit = run->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.ok());
  // Changes whose outcome never came back are unknown, never ok.
  EXPECT_EQ(*exit, 6) << ReadFileOrDie(dir + "/run.err");
  EXPECT_THAT(ReadFileOrDie(dir + "/run.err"),
              HasSubstr("the controller went away"));
  // Their intents are on record, pending.
  std::vector<v1::AuditEntry> rows =
      TeamRows(fleet_->controller().audit_path());
  ASSERT_EQ(rows.size(), 2u);
  for (const v1::AuditEntry& row : rows) {
    EXPECT_EQ(row.outcome(), v1::OUTCOME_PENDING);
    EXPECT_EQ(row.intent().operation(), "run_command");
    EXPECT_TRUE(row.intent().mutating());
  }
  // Back, it records them unknown rather than leave them pending for good
  // (issue 21), and says where their outcome is.
  ASSERT_TRUE(fleet_->controller().Restart().ok());
  rows = TeamRows(fleet_->controller().audit_path());
  ASSERT_EQ(rows.size(), 2u);
  for (const v1::AuditEntry& row : rows) {
    EXPECT_EQ(row.outcome(), v1::OUTCOME_UNKNOWN);
    ASSERT_TRUE(row.has_result());
    EXPECT_THAT(row.result().message(),
                HasSubstr(absl::StrCat("the controller stopped before ",
                                       row.intent().host(), " answered")));
    EXPECT_THAT(row.result().message(), HasSubstr("opsctl audit reconcile"));
  }
  // The agents reconnect when it returns.
  EXPECT_TRUE(Eventually([&] {
    ProgramResult hosts = alice->Run({"hosts", "--output", "json"});
    return hosts.exit_code == 0 &&
           absl::StrContains(hosts.stdout_text, "\"name\":\"app-1\"") &&
           absl::StrContains(hosts.stdout_text, "\"name\":\"app-2\"");
  })) << fleet_->controller().Log();
  EXPECT_EQ(alice->Run({"info", "app-*"}).exit_code, 0);
}

// A controller that accepts connections but never answers (stopped, hung):
// opsctl gives up by --timeout, before the hosts are even chosen, with the
// exit code for an unreachable controller (4; the audit commands' 5 says
// the log cannot be read), whatever the command (`mem` waited 20 s for
// gRPC's connect, `hosts` 30 s: our attack run).
TEST_F(ControllerFailureE2eTest, AHungControllerIsGivenUpOnByTimeout) {
  auto alice = fleet_->Opsctl("alice", alice_);
  ASSERT_EQ(kill(fleet_->controller().pid(), SIGSTOP), 0);
  for (const auto& [args, exit_code] :
       std::vector<std::pair<std::vector<std::string>, int>>{
           {{"mem", "app-1", "--timeout", "2"}, 4},
           {{"hosts", "--timeout", "2"}, 4},
           {{"audit", "--timeout", "2"}, 5}}) {
    const absl::Time started = absl::Now();
    ProgramResult ran = alice->Run(args);
    const absl::Duration took = absl::Now() - started;
    EXPECT_EQ(ran.exit_code, exit_code) << args[0] << ": " << ran.stderr_text;
    EXPECT_LT(took, absl::Seconds(10)) << args[0];
    EXPECT_THAT(ran.stderr_text, HasSubstr("controller")) << args[0];
  }
  ASSERT_EQ(kill(fleet_->controller().pid(), SIGCONT), 0);
  EXPECT_TRUE(Eventually([&] {
    return alice->Run({"info", "app-1"}).exit_code == 0;
  }));
}

TEST_F(ControllerFailureE2eTest, AnAgentKilledShowsDisconnectedThenReconnects) {
  auto alice = fleet_->Opsctl("alice", alice_);
  TestAgent* app1 = agents_[0];
  app1->process->process().Signal(SIGKILL);
  ASSERT_TRUE(app1->process->process().Wait(absl::Seconds(10)).ok());
  EXPECT_TRUE(Eventually([&] {
    ProgramResult hosts = alice->Run({"hosts"});
    for (absl::string_view line : absl::StrSplit(hosts.stdout_text, '\n')) {
      if (absl::StartsWith(line, "app-1 "))
        return absl::StrContains(line, "disconnected");
    }
    return false;
  }));
  ProgramResult gone = alice->Run({"mem", "app-1"});
  EXPECT_NE(gone.exit_code, 0);
  // A fan-out still names it, unreachable, and serves the rest.
  ProgramResult mixed = alice->Run({"mem", "app-*", "--output", "json"});
  EXPECT_EQ(mixed.exit_code, 4) << mixed.stderr_text;
  EXPECT_THAT(mixed.stdout_text, HasSubstr("app-1 is not connected"));
  EXPECT_THAT(mixed.stdout_text,
              HasSubstr("\"host\":\"app-2\",\"operation\":\"memory\""));
  ASSERT_TRUE(app1->Restart().ok());
  EXPECT_TRUE(Eventually([&] {
    return alice->Run({"mem", "app-1"}).exit_code == 0;
  }));
}

TEST_F(ControllerFailureE2eTest,
       DirectWorksWithTheControllerDownAndIsJournaled) {
  TestAgent* app1 = agents_[0];
  auto alice = fleet_->Opsctl("alice", alice_, "app-1", app1->port);
  fleet_->controller().Kill();
  ProgramResult through = alice->Run({"mem", "app-1"});
  EXPECT_EQ(through.exit_code, 4);
  EXPECT_THAT(through.stderr_text, HasSubstr("--direct"));
  ProgramResult direct =
      alice->Run({"--direct", "mem", "app-1", "--reason", "controller down"});
  ASSERT_EQ(direct.exit_code, 0) << direct.stderr_text;
  // Audited locally, and the agent's journal has the read too.
  ASSERT_EQ(alice->AuditRows().size(), 1u);
  bool journaled = false;
  for (const v1::JournalRecord& record :
       ReadJournalFile(app1->dir + "/journal.jsonl")) {
    if (record.event() == v1::JournalRecord::STARTED &&
        record.operation() == "memory") {
      journaled = true;
      EXPECT_EQ(record.via(), "direct");
      EXPECT_EQ(record.reason(), "controller down");
      EXPECT_EQ(record.caller(), "alice (oncall)");
    }
  }
  EXPECT_TRUE(journaled);
}

// A viewer's script reading in a loop with long reasons fills the team's
// log (our attack run: ~1 GB an hour), and a full log stops everyone's
// changes. Past their write budget the controller refuses their calls: exit
// 5, nothing sent, no row; another operator is served meanwhile, and the
// viewer again once the budget refills.
TEST(ControllerWriteBudgetE2eTest, AnOperatorsLoopStopsAtTheirBudgetOnly) {
  Fleet fleet(absl::StrCat(std::getenv("TEST_TMPDIR"), "/budget"));
  ASSERT_TRUE(
      fleet
          .StartController("access { roles: \"viewer\" permissions: \"run\" }\n"
                           "audit_write_budget { burst_bytes: 16000 "
                           "bytes_per_second: 300 }\n")
          .ok());
  TestAgent* web1 =
      fleet.AddAgent("web-1",
                     "authorization { roles: \"viewer\" operations: [\"info\", "
                     "\"memory\"] }\n");
  ASSERT_NE(web1, nullptr);
  auto victor =
      fleet.Opsctl("budget-victor", fleet.Operator("victor", {"viewer"}));
  auto alice =
      fleet.Opsctl("budget-alice", fleet.Operator("alice", {"oncall"}));
  const std::string reason(1000, 'r');
  const auto victor_rows = [&] {
    int rows = 0;
    for (const v1::AuditEntry& row : TeamRows(fleet.controller().audit_path()))
      rows += row.intent().cert_identity() == "victor";
    return rows;
  };
  const std::string journal_path = web1->dir + "/journal.jsonl";
  ProgramResult refused;
  std::string journal_before_refusal;
  int served = 0;
  for (int i = 0; i < 40; ++i) {
    journal_before_refusal = ReadFileOrDie(journal_path);
    refused = victor->Run({"mem", "web-1", "--reason", reason});
    if (refused.exit_code != 0) break;
    ++served;
  }
  // 16,000 bytes hold a few such calls, not forty.
  EXPECT_GE(served, 2);
  EXPECT_LT(served, 20);
  EXPECT_EQ(refused.exit_code, 5) << refused.stderr_text;
  EXPECT_THAT(refused.stderr_text, HasSubstr("audit_write_budget"));
  EXPECT_THAT(refused.stderr_text, HasSubstr("nothing was sent"));
  // The refused call wrote nothing, and reached no agent. (Compared with
  // the journal as it was just before that call: the budget refills while
  // this test runs, so a later call may be served again, as it should.)
  EXPECT_EQ(victor_rows(), served);
  EXPECT_EQ(ReadFileOrDie(journal_path), journal_before_refusal);
  EXPECT_THAT(fleet.controller().Log(), HasSubstr("audit_write_budget"));
  // Another operator's budget is their own.
  ProgramResult other = alice->Run({"info", "web-1"});
  EXPECT_EQ(other.exit_code, 0) << other.stderr_text;
  // The budget refills (300 bytes a second).
  EXPECT_TRUE(Eventually(
      [&] {
        return victor->Run({"mem", "web-1"}).exit_code == 0;
      },
      absl::Seconds(60)));
  EXPECT_EQ(victor_rows(), served + 1);
}

// Calls made at once were all admitted on one balance before any was
// charged (our attack run: 35 of 100 parallel calls against a burst for
// 20). A run holds what its hosts' rows may take while it runs, so those
// made at once are admitted against each other.
TEST(ControllerWriteBudgetE2eTest, CallsMadeAtOnceAreAdmittedAgainstEachOther) {
  Fleet fleet(absl::StrCat(std::getenv("TEST_TMPDIR"), "/budget-at-once"));
  ASSERT_TRUE(fleet
                  .StartController("audit_write_budget { burst_bytes: 8000 "
                                   "bytes_per_second: 1 }\n")
                  .ok());
  ASSERT_NE(fleet.AddAgent("web-1", ""), nullptr);
  auto alice =
      fleet.Opsctl("at-once-alice", fleet.Operator("alice", {"oncall"}));
  std::vector<Subprocess> running;
  for (int i = 0; i < 12; ++i) {
    absl::StatusOr<Subprocess> started = alice->Start(
        {"mem", "web-1"}, absl::StrCat(fleet.dir(), "/at-once-", i, ".out"),
        absl::StrCat(fleet.dir(), "/at-once-", i, ".err"));
    ASSERT_TRUE(started.ok()) << started.status();
    running.push_back(*std::move(started));
  }
  int admitted = 0, refused = 0;
  for (Subprocess& call : running) {
    absl::StatusOr<int> code = call.Wait(absl::Seconds(60));
    ASSERT_TRUE(code.ok()) << code.status();
    admitted += *code == 0;
    refused += *code == 5;
  }
  // One after another, about four such calls (2 KB each) fit in 8,000
  // bytes; at once, each holds about 5 KB more while it runs. Not twelve.
  EXPECT_GE(admitted, 1);
  EXPECT_LE(admitted, 5);
  EXPECT_EQ(admitted + refused, 12);
  int rows = 0;
  for (const v1::AuditEntry& row : TeamRows(fleet.controller().audit_path()))
    rows += row.intent().cert_identity() == "alice";
  EXPECT_EQ(rows, admitted);
}

// gRPC 1.51 stops accepting for good once accept4 fails with EMFILE; a
// plain TCP flood past the controller's descriptor limit (max_agents + 512 +
// 1,024 unverified) must not do that to opsctld. Its connection guard holds
// 8 connections per address not vouched for, resets the rest, and serves
// again when the flood ends.
TEST(ControllerFloodE2eTest, AConnectionFloodLeavesTheControllerServing) {
  Fleet fleet(absl::StrCat(std::getenv("TEST_TMPDIR"), "/flood"));
  ASSERT_TRUE(fleet.StartController("max_agents: 20\n").ok());
  ASSERT_NE(fleet.AddAgent("web-1", ""), nullptr);
  auto alice = fleet.Opsctl("flood-alice", fleet.Operator("alice", {"oncall"}));
  {
    ConnectionFlood flood(fleet.controller().port(), /*sources=*/10,
                          /*per_source=*/200, ConnectionFlood::Kind::kIdle);
    EXPECT_GT(flood.opened(), 600);  // past the descriptor limit
    // Reset by the guard (RST), not held until the 10 s handshake deadline
    // and closed then (FIN); waited for, with room for a loaded machine...
    EXPECT_TRUE(Eventually([&] { return flood.ResetByServer() >= 1700; },
                           absl::Seconds(60)))
        << flood.ResetByServer() << " of " << flood.opened() << " reset";
    // ... and what is held stays under the limit (10 addresses x 8).
    const std::string fds =
        absl::StrCat("/proc/", fleet.controller().pid(), "/fd");
    const auto held = std::distance(std::filesystem::directory_iterator(fds),
                                    std::filesystem::directory_iterator());
    EXPECT_LT(held, 10 * 8 + 64);
  }
  // The held link never dropped, and new callers get in.
  EXPECT_TRUE(Eventually([&] {
    ProgramResult info = alice->Run({"info", "web-1"});
    return info.exit_code == 0;
  }));
  EXPECT_THAT(fleet.controller().Log(), Not(HasSubstr("Failed accept4")));
}

// Agents behind one NAT share an address, and strangers must not get their
// room: an address that linked an agent is vouched for and bounded by
// max_agents alone, while a flood from a hundred other addresses is held to
// the unverified pool. Agents and operators from the vouched address are
// served during the flood.
TEST(ControllerFloodE2eTest,
     AFloodFromManyAddressesLeavesVouchedAddressesServed) {
  Fleet fleet(absl::StrCat(std::getenv("TEST_TMPDIR"), "/nat"));
  ASSERT_TRUE(
      fleet
          .StartController("max_agents: 20 max_unverified_connections: 64 "
                           "max_unverified_connections_per_address: 1\n")
          .ok());
  // One connection per stranger address, yet three agents link from
  // 127.0.0.1: the first link vouched for it.
  for (const char* host : {"web-1", "web-2", "web-3"})
    ASSERT_NE(fleet.AddAgent(host, ""), nullptr) << host;
  auto alice = fleet.Opsctl("nat-alice", fleet.Operator("alice", {"oncall"}));
  const std::string fds =
      absl::StrCat("/proc/", fleet.controller().pid(), "/fd");
  const auto before = std::distance(std::filesystem::directory_iterator(fds),
                                    std::filesystem::directory_iterator());

  ConnectionFlood flood(fleet.controller().port(), /*sources=*/100,
                        /*per_source=*/20, ConnectionFlood::Kind::kIdle);
  // Reset by the guard (RST), not closed at the handshake deadline (FIN).
  EXPECT_TRUE(Eventually([&] { return flood.ResetByServer() >= 1900; },
                         absl::Seconds(60)))
      << flood.ResetByServer() << " of " << flood.opened() << " reset";
  const auto held = std::distance(std::filesystem::directory_iterator(fds),
                                  std::filesystem::directory_iterator());
  EXPECT_LE(held, before + 64 + 8);
  // Served while the pool is full: an operator and a new agent.
  ProgramResult hosts = alice->Run({"hosts"});
  EXPECT_EQ(hosts.exit_code, 0) << hosts.stderr_text;
  EXPECT_THAT(hosts.stdout_text, HasSubstr("web-3"));
  ASSERT_NE(fleet.AddAgent("web-4", ""), nullptr);
  ProgramResult info = alice->Run({"info", "web-4"});
  EXPECT_EQ(info.exit_code, 0) << info.stderr_text;
  EXPECT_THAT(fleet.controller().Log(), HasSubstr("connection guard: refused"));
}

// Vouching is kept in memory: after a restart under a flood nobody is
// vouched for until an agent wins a place. A network configured as vouched
// for is served from the start, while strangers' half-open handshakes hold
// the whole unverified pool; strangers stay held to it.
TEST(ControllerFloodE2eTest, AVouchedNetworkIsServedWhileStrangersFillThePool) {
  Fleet fleet(absl::StrCat(std::getenv("TEST_TMPDIR"), "/networks"));
  ASSERT_TRUE(
      fleet
          .StartController("max_agents: 20 max_unverified_connections: 64 "
                           "max_unverified_connections_per_address: 1 "
                           "vouched_networks: \"127.0.0.0/31\"\n")
          .ok());
  EXPECT_THAT(fleet.controller().Log(),
              HasSubstr("networks vouched for always: 127.0.0.0/31"));
  // 100 strangers (127.0.1.1 ...), one half-open handshake each: 64 fill
  // the pool until the handshake deadline (10 s), the rest are reset.
  ConnectionFlood flood(fleet.controller().port(), /*sources=*/100,
                        /*per_source=*/1,
                        ConnectionFlood::Kind::kPartialHandshake);
  EXPECT_TRUE(Eventually([&] { return flood.ResetByServer() >= 36; },
                         absl::Seconds(60)))
      << flood.ResetByServer() << " of " << flood.opened() << " reset";
  EXPECT_TRUE(Eventually(
      [&] {
        return absl::StrContains(
            fleet.controller().Log(),
            "too many connections from addresses not vouched for");
      },
      absl::Seconds(60)));
  // From 127.0.0.1, nobody having shown a certificate yet: an agent links
  // and an operator is served while the pool is still full.
  ASSERT_NE(fleet.AddAgent("web-1", ""), nullptr);
  auto alice = fleet.Opsctl("net-alice", fleet.Operator("alice", {"oncall"}));
  ProgramResult hosts = alice->Run({"hosts"});
  EXPECT_EQ(hosts.exit_code, 0) << hosts.stderr_text;
  EXPECT_THAT(hosts.stdout_text, HasSubstr("web-1"));
  EXPECT_GE(flood.opened() - flood.ClosedByServer(), 60)
      << "the pool was no longer full when the operator was served";
}

// Revoking the controller's certificate cuts it off: an agent that checks
// revocation refuses to take calls from it when it links, and drops a link
// it holds at the next heartbeat once a CRL revokes it.
TEST(ControllerRevocationE2eTest, ARevokedControllerIsRefusedAndDropped) {
  Fleet fleet(absl::StrCat(std::getenv("TEST_TMPDIR"), "/revoked"));
  ASSERT_TRUE(fleet.StartController().ok());  // heartbeats every second
  const std::string crls = fleet.dir() + "/crl";
  mkdir(crls.c_str(), 0700);
  const std::string controller = fleet.controller().certificate().certificate;
  ASSERT_TRUE(fleet.ca().WriteCrl(crls, {controller}).ok());
  TestAgent* agent = fleet.AddAgent(
      "web-1", "", /*listener=*/true,
      absl::StrCat("crl_directory: \"", crls, "\" refresh_interval_seconds: 1"),
      /*wait_linked=*/false);
  ASSERT_NE(agent, nullptr);
  EXPECT_TRUE(Eventually([&] {
    return absl::StrContains(agent->process->Log(),
                             "refusing the controller opsctld.test");
  })) << agent->process->Log();
  EXPECT_THAT(agent->process->Log(),
              Not(HasSubstr("connected to the controller")));

  // Not revoked any more: it links.
  ASSERT_TRUE(fleet.ca().WriteCrl(crls, {}).ok());
  EXPECT_TRUE(Eventually([&] {
    return absl::StrContains(agent->process->Log(),
                             "connected to the controller");
  })) << agent->process->Log();
  // Revoked while linked: dropped at a heartbeat.
  ASSERT_TRUE(fleet.ca().WriteCrl(crls, {controller}).ok());
  EXPECT_TRUE(Eventually([&] {
    return absl::StrContains(agent->process->Log(),
                             "dropping the link to the controller");
  })) << agent->process->Log();
}

}  // namespace
}  // namespace opsagent
