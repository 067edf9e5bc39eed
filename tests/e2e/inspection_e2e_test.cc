// End to end over real mutual TLS on 127.0.0.1: the real opsagent binary, the
// real opsctl binary, certificates minted by the test, a real SQLite audit
// log. Each test reads what a user would see (exit code, output, audit rows,
// agent log).

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/system/meminfo.h"
#include "common/subprocess.h"
#include "controller/agent_client.h"
#include "controller/audit/audit_store.h"
#include "controller/auditing_caller.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AgentProcess;
using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::CertificateSpec;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

uint64_t JsonUint(const google::protobuf::Value& value) {
  // Protobuf's JSON mapping prints 64-bit integers as strings.
  uint64_t n = 0;
  if (value.has_string_value())
    EXPECT_TRUE(absl::SimpleAtoi(value.string_value(), &n));
  if (value.has_number_value()) n = static_cast<uint64_t>(value.number_value());
  return n;
}

void WriteBytes(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string chunk(4096, 'x');
  for (size_t written = 0; written < bytes; written += chunk.size()) {
    out.write(chunk.data(), std::min(chunk.size(), bytes - written));
  }
}

class InspectionE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(std::getenv("TEST_TMPDIR"));
    auto rogue = TestCertificateAuthority::Create(*dir_, "rogue");
    ASSERT_TRUE(rogue.ok()) << rogue.status();
    // The tree du is checked against: known files, a hard link, a symlink
    // pointing out of the root.
    mkdir((*dir_ + "/edx").c_str(), 0755);
    root_ = new std::string(absl::StrCat(*dir_, "/edx/var"));
    for (const char* sub :
         {"", "/log", "/log/xqwatcher", "/log/supervisor", "/supervisor"}) {
      mkdir(absl::StrCat(*root_, sub).c_str(), 0755);
    }
    WriteBytes(*root_ + "/log/xqwatcher/xqwatcher.log", 3 << 20);
    WriteBytes(*root_ + "/log/xqwatcher/xqwatcher.log.1", 1 << 20);
    WriteBytes(*root_ + "/log/supervisor/supervisord.log", 512 << 10);
    WriteBytes(*root_ + "/supervisor/state", 100);
    link((*root_ + "/log/xqwatcher/xqwatcher.log.1").c_str(),
         (*root_ + "/log/hardlink.log").c_str());
    symlink("/etc", (*root_ + "/log/escape").c_str());

    TestAgent::Options options;
    options.dir = *dir_;
    options.extra_config = absl::StrCat(
        "roles: \"xqwatcher\"\ninspection_roots: \"", *root_, "\"\n",
        "authorization { roles: \"viewer\" operations: [\"info\", "
        "\"memory\"] }\n");
    auto agent = TestAgent::Start(options);
    ASSERT_TRUE(agent.ok()) << agent.status();
    test_agent_ = agent->release();
    ca_ = test_agent_->ca.get();
    agent_ = test_agent_->process.get();
    port_ = test_agent_->port;
    operators_ = new std::map<std::string, CertificateFiles>();
    (*operators_)["oncall"] = test_agent_->oncall;
    (*operators_)["viewer"] = *ca_->Issue("viewer", {"victor", {"viewer"}});
    (*operators_)["stranger"] =
        *ca_->Issue("stranger", {"mallory", {"nobody"}});
    CertificateSpec expired{"alice-old", {"oncall"}};
    expired.not_before_from_now = -absl::Hours(48);
    expired.not_after_from_now = -absl::Hours(24);
    (*operators_)["expired"] = *ca_->Issue("expired", expired);
    CertificateSpec early{"alice-new", {"oncall"}};
    early.not_before_from_now = absl::Hours(24);
    early.not_after_from_now = absl::Hours(48);
    (*operators_)["not_yet_valid"] = *ca_->Issue("not_yet_valid", early);
    (*operators_)["rogue"] = *(*rogue)->Issue("rogue", {"alice", {"oncall"}});
    rogue_ca_path_ = new std::string((*rogue)->certificate_path());
  }

  static void TearDownTestSuite() {
    delete test_agent_;
    delete operators_;
    delete rogue_ca_path_;
    delete root_;
    delete dir_;
    agent_ = nullptr;
  }

  // opsctl as `who` against this agent, with its own audit database (or
  // `audit_db`) and an inventory naming the agent `inventory_host`.
  OpsctlRunner& Operator(const std::string& who,
                         const std::string& inventory_host = "localhost",
                         const std::string& audit_db = "") {
    const std::string name =
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    const CertificateFiles& cert = operators_->at(who);
    runners_.push_back(std::make_unique<OpsctlRunner>(
        *dir_, absl::StrCat(name, "-", who), cert.certificate, cert.private_key,
        ca_->certificate_path(), inventory_host, port_, audit_db));
    return *runners_.back();
  }

  // A client of this agent as oncall, for requests opsctl never sends.
  static absl::StatusOr<std::unique_ptr<AgentClient>> OncallClient() {
    v1::Host host;
    host.set_name("localhost");
    host.set_address(absl::StrCat("127.0.0.1:", port_));
    const CertificateFiles& oncall = operators_->at("oncall");
    return AgentClient::Connect(
        {oncall.certificate, oncall.private_key, ca_->certificate_path()}, host,
        absl::Seconds(10));
  }

  // The audit rows of the operator used last.
  std::vector<v1::AuditEntry> AuditRows() {
    return runners_.back()->AuditRows();
  }

  std::vector<std::unique_ptr<OpsctlRunner>> runners_;
  static std::string* dir_;
  static std::string* root_;
  static std::string* rogue_ca_path_;
  static TestAgent* test_agent_;
  static TestCertificateAuthority* ca_;
  static std::map<std::string, CertificateFiles>* operators_;
  static AgentProcess* agent_;
  static int port_;
};

std::string* InspectionE2eTest::dir_;
std::string* InspectionE2eTest::root_;
std::string* InspectionE2eTest::rogue_ca_path_;
TestAgent* InspectionE2eTest::test_agent_;
TestCertificateAuthority* InspectionE2eTest::ca_;
std::map<std::string, CertificateFiles>* InspectionE2eTest::operators_;
AgentProcess* InspectionE2eTest::agent_;
int InspectionE2eTest::port_;

TEST_F(InspectionE2eTest, InfoNamesHostRolesAndWhatTheCallerMayDo) {
  ProgramResult r =
      Operator("viewer").Run({"info", "localhost", "--output", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  google::protobuf::Value json = ParseJson(r.stdout_text);
  EXPECT_EQ(JsonField(json, "outcome").string_value(), "ok");
  const auto& result = JsonField(json, "result");
  EXPECT_EQ(JsonField(result, "hostname").string_value(), "localhost");
  EXPECT_EQ(JsonField(result, "caller_identity").string_value(), "victor");
  const auto& ops =
      JsonField(result, "caller_operations").list_value().values();
  ASSERT_EQ(ops.size(), 2);
  EXPECT_EQ(ops[0].string_value(), "info");
  EXPECT_EQ(ops[1].string_value(), "memory");
  // The certificate the test issued expires in 24 hours.
  const int64_t expiry = static_cast<int64_t>(
      JsonUint(JsonField(result, "certificate_not_after_unix")));
  EXPECT_NEAR(expiry, absl::ToUnixSeconds(absl::Now() + absl::Hours(24)), 120);
}

TEST_F(InspectionE2eTest, MemShowsFreeColumnsFromThisHostsMeminfo) {
  ProgramResult json_run = Operator("oncall").Run(
      {"mem", "localhost", "--top", "3", "--output", "json"});
  ASSERT_EQ(json_run.exit_code, 0) << json_run.stderr_text;
  const google::protobuf::Value json = ParseJson(json_run.stdout_text);
  const auto& result = JsonField(json, "result");
  absl::StatusOr<MemoryUsage> local = ReadMeminfo();
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(JsonUint(JsonField(result, "total_bytes")), local->total);
  EXPECT_EQ(JsonUint(JsonField(result, "used_bytes")) +
                JsonUint(JsonField(result, "available_bytes")),
            local->total);
  EXPECT_EQ(JsonField(result, "top_processes").list_value().values_size(), 3);

  ProgramResult human = Operator("oncall").Run({"mem", "localhost"});
  ASSERT_EQ(human.exit_code, 0) << human.stderr_text;
  EXPECT_THAT(human.stdout_text,
              HasSubstr("              total        used        free      "
                        "shared  buff/cache   available\nMem:"));
  EXPECT_THAT(human.stdout_text, HasSubstr("\nSwap:"));
  std::vector<v1::AuditEntry> rows = AuditRows();
  ASSERT_EQ(rows.size(), 2);
  EXPECT_EQ(rows[1].outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(rows[1].intent().operation(), "memory");
  EXPECT_EQ(rows[1].intent().cert_identity(), "alice");
  EXPECT_THAT(rows[1].result().summary(), HasSubstr("available"));
}

TEST_F(InspectionE2eTest, DfHidesNoiseUnlessAllIsGiven) {
  OpsctlRunner& ops = Operator("oncall");
  ProgramResult plain = ops.Run({"df", "localhost", "--output", "json"});
  ASSERT_EQ(plain.exit_code, 0) << plain.stderr_text;
  const google::protobuf::Value json = ParseJson(plain.stdout_text);
  const auto& filesystems =
      JsonField(JsonField(json, "result"), "filesystems").list_value();
  ASSERT_GT(filesystems.values_size(), 0);
  for (const auto& fs : filesystems.values()) {
    const std::string type = JsonField(fs, "fs_type").string_value();
    EXPECT_THAT(type, Not(::testing::AnyOf("proc", "sysfs", "tmpfs", "squashfs",
                                           "devtmpfs")))
        << type;
    EXPECT_GT(JsonUint(JsonField(fs, "size_bytes")), 0u);
  }
  ProgramResult all = ops.Run({"df", "localhost", "--all", "--output", "json"});
  ASSERT_EQ(all.exit_code, 0);
  EXPECT_THAT(all.stdout_text, HasSubstr("\"fs_type\":\"proc\""));
  ProgramResult human = ops.Run({"df", "localhost"});
  EXPECT_THAT(human.stdout_text, HasSubstr("Filesystem"));
  EXPECT_THAT(human.stdout_text, HasSubstr("Use% Mounted on"));
}

TEST_F(InspectionE2eTest, DuMatchesGnuDuOnAGeneratedTree) {
  ProgramResult r =
      Operator("oncall").Run({"du", "localhost", *root_, "--output", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const google::protobuf::Value json = ParseJson(r.stdout_text);
  const auto& result = JsonField(json, "result");
  std::map<std::string, uint64_t> ours;
  for (const auto& dir :
       JsonField(result, "largest_directories").list_value().values()) {
    ours[JsonField(dir, "path").string_value()] =
        JsonUint(JsonField(dir, "disk_bytes"));
  }
  // GNU du, one line per directory, in bytes of disk usage.
  absl::StatusOr<ProgramResult> du =
      RunProgram({"/usr/bin/du", "-x", "-B1", *root_}, absl::Seconds(30));
  ASSERT_TRUE(du.ok() && du->exit_code == 0);
  int compared = 0;
  for (absl::string_view line :
       absl::StrSplit(du->stdout_text, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> fields =
        absl::StrSplit(line, absl::MaxSplits('\t', 1));
    ASSERT_TRUE(ours.count(fields.second)) << "missing " << fields.second;
    EXPECT_EQ(std::to_string(ours[fields.second]), fields.first)
        << fields.second;
    ++compared;
  }
  EXPECT_EQ(
      compared,
      5);  // the root and its four directories; the symlink is not followed
  const auto& files = JsonField(result, "largest_files").list_value().values();
  ASSERT_GE(files.size(), 2);
  EXPECT_EQ(JsonField(files[0], "path").string_value(),
            *root_ + "/log/xqwatcher/xqwatcher.log");
  EXPECT_EQ(JsonUint(JsonField(files[0], "apparent_bytes")), 3u << 20);
  EXPECT_FALSE(JsonField(result, "incomplete").bool_value());
}

TEST_F(InspectionE2eTest, DuStopsAtTheEntryBudgetAndSaysSo) {
  ProgramResult r =
      Operator("oncall").Run({"du", "localhost", *root_, "--max-entries", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stdout_text,
              HasSubstr("INCOMPLETE: entry budget of 3 reached"));
}

// However many deleted files a host's processes hold, the reply lists the
// largest `top` and counts the rest: 20,000 held files made one read's row
// 6.4 MB in the team log, and 80,000 went over what the controller takes
// (our attack run).
TEST_F(InspectionE2eTest, OpenDeletedListsTheLargestAndCountsTheRest) {
  std::vector<int> held;
  uint64_t held_bytes = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string path = absl::StrCat(*dir_, "/deleted-", i, ".log");
    const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    const std::string bytes((i + 1) * 8192, 'x');
    ASSERT_EQ(write(fd, bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
    fsync(fd);
    struct stat st;
    ASSERT_EQ(fstat(fd, &st), 0);
    held_bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    unlink(path.c_str());
    held.push_back(fd);
  }
  ProgramResult listed = Operator("oncall").Run(
      {"open-deleted", "localhost", "--top", "5", "--output", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.stderr_text;
  const google::protobuf::Value reply = ParseJson(listed.stdout_text);
  const google::protobuf::Value& result = JsonField(reply, "result");
  const auto& files = JsonField(result, "files").list_value().values();
  ASSERT_EQ(files.size(), 5u) << listed.stdout_text;
  // The largest first: ours, 320 KiB down.
  EXPECT_THAT(JsonField(files[0], "path").string_value(),
              HasSubstr("deleted-39.log"));
  uint64_t listed_bytes = 0;
  for (const auto& file : files)
    listed_bytes += JsonUint(JsonField(file, "disk_bytes"));
  EXPECT_GE(JsonUint(JsonField(result, "files_not_listed")), 35u);
  EXPECT_EQ(listed_bytes + JsonUint(JsonField(result, "disk_bytes_not_listed")),
            JsonUint(JsonField(result, "total_disk_bytes")));
  EXPECT_GE(JsonUint(JsonField(result, "total_disk_bytes")), held_bytes);

  ProgramResult shown =
      Operator("oncall").Run({"open-deleted", "localhost", "--top", "3"});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  EXPECT_THAT(shown.stdout_text, HasSubstr("smaller ones holding"));
  // Past the agent's limit (max_top_n, 100) and past opsctl's: refused.
  ProgramResult too_many =
      Operator("oncall").Run({"open-deleted", "localhost", "--top", "500"});
  EXPECT_NE(too_many.exit_code, 0);
  EXPECT_THAT(too_many.stderr_text, HasSubstr("above this agent's limit"));
  EXPECT_EQ(Operator("oncall")
                .Run({"open-deleted", "localhost", "--top", "0"})
                .exit_code,
            2);
  for (int fd : held) close(fd);
}

TEST_F(InspectionE2eTest, DuRefusesPathsOutsideTheRootsAndSymlinks) {
  OpsctlRunner& ops = Operator("oncall");
  struct Case {
    std::string path;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"/etc", "outside the allowed roots"},
           {*root_ + "/../../etc", "contains \"..\""},
           {*root_ + "/log/escape", "symbolic link"},
           {*root_ + "/log/escape/ssl", "symbolic link"},
           {"log", "not absolute"},
           {*root_ + "/missing", "does not exist"},
       }) {
    ProgramResult r = ops.Run({"du", "localhost", c.path});
    EXPECT_NE(r.exit_code, 0) << c.path;
    EXPECT_THAT(r.stderr_text, HasSubstr(c.error)) << c.path;
    EXPECT_EQ(r.stdout_text, "") << c.path;
  }
  std::vector<v1::AuditEntry> rows = AuditRows();
  ASSERT_EQ(rows.size(), 6u);
  for (const v1::AuditEntry& row : rows) {
    EXPECT_NE(row.outcome(), v1::OUTCOME_OK) << row.intent().parameters_json();
    EXPECT_NE(row.outcome(), v1::OUTCOME_PENDING);
  }
}

// Refusals at the TLS layer: the agent never sees a call, so nothing runs.
// opsctl records them as unreachable with the reason it can diagnose.
TEST_F(InspectionE2eTest, CertificatesTheAgentDoesNotTrustAreRefused) {
  struct Case {
    std::string who;
    std::string hint;
  };
  for (const Case& c :
       std::vector<Case>{{"rogue", "signed by the CA the agent trusts"},
                         {"expired", "expired at"},
                         {"not_yet_valid", "not valid until"}}) {
    const std::string before = agent_->Log();
    ProgramResult r = Operator(c.who).Run(
        {"du", "localhost", *root_, "--reason", "probe " + c.who});
    EXPECT_EQ(r.exit_code, 4) << c.who << ": " << r.stderr_text;
    EXPECT_THAT(r.stderr_text, HasSubstr(c.hint)) << c.who;
    std::vector<v1::AuditEntry> rows = AuditRows();
    ASSERT_EQ(rows.size(), 1u) << c.who;
    EXPECT_EQ(rows[0].outcome(), v1::OUTCOME_UNREACHABLE) << c.who;
    EXPECT_THAT(rows[0].result().message(), HasSubstr(c.hint)) << c.who;
    EXPECT_THAT(agent_->Log().substr(before.size()),
                Not(HasSubstr("start disk_usage")))
        << c.who;
  }
}

TEST_F(InspectionE2eTest, ClientWithoutCertificateIsRefused) {
  const std::string before = agent_->Log();
  v1::Host host;
  host.set_name("localhost");
  host.set_address(absl::StrCat("127.0.0.1:", port_));
  auto client = AgentClient::Connect({"", "", ca_->certificate_path()}, host,
                                     absl::Seconds(5));
  ASSERT_TRUE(client.ok()) << client.status();
  auto store = AuditStore::Open(absl::StrCat(*dir_, "/no-cert.audit.db"));
  ASSERT_TRUE(store.ok());
  AuditingCaller caller(store->get(), {"tester", ""},
                        {"no certificate probe", "", ""});
  auto report = caller.Call(
      host, {FindOperation("memory"), std::make_shared<v1::MemoryRequest>()},
      [&](const google::protobuf::Message& request) {
        return (*client)->Call(*FindOperation("memory"), request);
      });
  EXPECT_EQ(report.status.code(), absl::StatusCode::kUnavailable)
      << report.status;
  EXPECT_EQ(report.outcome, v1::OUTCOME_UNREACHABLE);
  auto rows = (*store)->Query({});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].outcome(), v1::OUTCOME_UNREACHABLE);
  EXPECT_THAT(agent_->Log().substr(before.size()),
              Not(HasSubstr("start memory")));
}

TEST_F(InspectionE2eTest, OversizedRequestsAreRefusedBeforeTheService) {
  const std::string before = agent_->Log();
  auto client = OncallClient();
  ASSERT_TRUE(client.ok()) << client.status();
  v1::DiskUsageRequest request;
  request.mutable_meta()->set_request_id("oversized-1");
  request.set_path(*root_ + "/" + std::string(100 * 1024, 'a'));
  auto refused = (*client)->Call<v1::DiskUsageEvent>(request);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted)
      << refused.status();
  EXPECT_THAT(agent_->Log().substr(before.size()),
              Not(HasSubstr("oversized-1")));  // never reached the service
  // Just under the limit reaches validation, which names the problem.
  request.set_path(*root_ + "/" + std::string(60 * 1024, 'a'));
  auto invalid = (*client)->Call<v1::DiskUsageEvent>(request);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument)
      << invalid.status();
  EXPECT_THAT(invalid.status().message(),
              HasSubstr("path is longer than 4096 bytes"));
}

// A caller of another release: a field this agent does not declare (a
// newer opsctl's restriction, in the request's meta) is refused, never
// dropped unread and acted on as if it were not there.
TEST_F(InspectionE2eTest, AFieldTheAgentDoesNotKnowIsRefused) {
  auto client = OncallClient();
  ASSERT_TRUE(client.ok()) << client.status();
  v1::MemoryRequest request;
  request.mutable_meta()->set_request_id("newer-1");
  request.mutable_meta()
      ->GetReflection()
      ->MutableUnknownFields(request.mutable_meta())
      ->AddVarint(99, 1);
  auto refused = (*client)->Call<v1::MemoryReply>(request);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument)
      << refused.status();
  EXPECT_THAT(refused.status().message(),
              HasSubstr("RequestMeta holds a field this agent does not know"));
  v1::MemoryRequest known;
  known.mutable_meta()->set_request_id("known-1");
  EXPECT_TRUE((*client)->Call<v1::MemoryReply>(known).ok());
}

TEST_F(InspectionE2eTest, IdentityWithoutAGrantIsDeniedAndLogged) {
  for (const std::string who : {"viewer", "stranger"}) {
    const std::string before = agent_->Log();
    ProgramResult r = Operator(who).Run({"du", "localhost", *root_});
    EXPECT_EQ(r.exit_code, 3) << who << ": " << r.stderr_text;
    EXPECT_THAT(r.stderr_text, HasSubstr("is not allowed to call disk_usage"));
    const std::string log = agent_->Log().substr(before.size());
    EXPECT_THAT(log, HasSubstr("denied disk_usage by"));
    EXPECT_THAT(log, Not(HasSubstr("start disk_usage")));
    std::vector<v1::AuditEntry> rows = AuditRows();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].outcome(), v1::OUTCOME_DENIED);
    EXPECT_EQ(rows[0].result().error_code(), "PERMISSION_DENIED");
  }
}

TEST_F(InspectionE2eTest, AgentCertificateForAnotherHostIsRefused) {
  // The inventory says salt-qa lives at this address, but the agent there
  // presents a certificate for "localhost".
  ProgramResult r = Operator("oncall", "salt-qa").Run({"mem", "salt-qa"});
  EXPECT_EQ(r.exit_code, 4) << r.stderr_text;
  std::vector<v1::AuditEntry> rows = AuditRows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].outcome(), v1::OUTCOME_UNREACHABLE);
}

// The audit row names the user opsctl really runs as (getuid); SUDO_USER,
// which any caller can set, is recorded and shown only as a claim.
TEST_F(InspectionE2eTest, TheAuditRecordsTheRealUserAndSudoUserAsAClaim) {
  OpsctlRunner& ops = Operator("oncall");
  ProgramResult r = ops.Run({"mem", "localhost"}, {"SUDO_USER=ceo"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  std::vector<v1::AuditEntry> rows = ops.AuditRows();
  ASSERT_FALSE(rows.empty());
  const v1::AuditIntent& intent = rows.back().intent();
  EXPECT_EQ(intent.os_uid(), static_cast<int64_t>(getuid()));
  EXPECT_NE(intent.os_user(), "ceo");
  EXPECT_EQ(intent.sudo_user(), "ceo");
  ProgramResult table = ops.Run({"audit"});
  EXPECT_THAT(table.stdout_text,
              HasSubstr(intent.os_user() + "/" + intent.cert_identity() +
                        " (sudo claims ceo)"));
  ProgramResult json = ops.Run({"audit", "--output", "json"});
  EXPECT_THAT(json.stdout_text, HasSubstr("\"sudo_user_claimed\":\"ceo\""));
  EXPECT_THAT(json.stdout_text,
              HasSubstr(absl::StrCat("\"os_uid\":", getuid())));
}

TEST_F(InspectionE2eTest, NothingIsSentWhenTheAuditLogCannotRecord) {
  // The audit database's directory is a regular file: the intent cannot be
  // written.
  const std::string blocker = *dir_ + "/not-a-directory";
  WriteFileOrDie(blocker, "");
  const std::string before = agent_->Log();
  ProgramResult r = Operator("oncall", "localhost", blocker + "/audit.db")
                        .Run({"mem", "localhost"});
  EXPECT_EQ(r.exit_code, 5) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("nothing was sent"));
  EXPECT_THAT(agent_->Log().substr(before.size()),
              Not(HasSubstr("start memory")));
}

TEST_F(InspectionE2eTest, AuditQueriesFilterByOperationOutcomeAndIncident) {
  OpsctlRunner& ops = Operator("oncall");
  ASSERT_EQ(ops.Run({"mem", "localhost", "--incident", "INC-7"}).exit_code, 0);
  ASSERT_EQ(ops.Run({"df", "localhost", "--incident", "INC-7"}).exit_code, 0);
  ASSERT_EQ(
      ops.Run({"du", "localhost", "/etc", "--incident", "INC-7"}).exit_code, 3);
  ASSERT_EQ(ops.Run({"mem", "localhost"}).exit_code, 0);

  ProgramResult by_incident =
      ops.Run({"audit", "--incident", "INC-7", "--output", "json"});
  ASSERT_EQ(by_incident.exit_code, 0) << by_incident.stderr_text;
  EXPECT_EQ(ParseJson(by_incident.stdout_text).list_value().values_size(), 3);
  ProgramResult memory =
      ops.Run({"audit", "--operation", "memory", "--output", "json"});
  EXPECT_EQ(ParseJson(memory.stdout_text).list_value().values_size(), 2);
  ProgramResult denied =
      ops.Run({"audit", "--outcome", "denied", "--output", "json"});
  const google::protobuf::Value denied_json = ParseJson(denied.stdout_text);
  const auto& rows = denied_json.list_value().values();
  ASSERT_EQ(rows.size(), 1);
  EXPECT_EQ(JsonField(rows[0], "operation").string_value(), "disk_usage");
  EXPECT_EQ(JsonField(JsonField(rows[0], "parameters"), "path").string_value(),
            "/etc");
  ProgramResult csv = ops.Run({"audit", "--since", "1h", "--output", "csv"});
  EXPECT_EQ(std::count(csv.stdout_text.begin(), csv.stdout_text.end(), '\n'),
            5);  // header + 4 rows
  ProgramResult future =
      ops.Run({"audit", "--since", "2999-01-01", "--output", "json"});
  EXPECT_EQ(ParseJson(future.stdout_text).list_value().values_size(), 0);
  ProgramResult verify = ops.Run({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.stdout_text;
  EXPECT_THAT(verify.stdout_text,
              HasSubstr("8 events verified; no signed checkpoints; head "));
  ProgramResult bad = ops.Run({"audit", "--since", "yesterday"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.stderr_text, HasSubstr("--since"));
}

TEST_F(InspectionE2eTest, UsageErrorsExitWithTwoAndExplain) {
  OpsctlRunner& ops = Operator("oncall");
  ProgramResult unknown_host = ops.Run({"mem", "localhos"});
  EXPECT_EQ(unknown_host.exit_code, 2);
  EXPECT_THAT(unknown_host.stderr_text, HasSubstr("did you mean localhost?"));
  ProgramResult unknown_flag = ops.Run({"mem", "localhost", "--bogus"});
  EXPECT_EQ(unknown_flag.exit_code, 2);
  EXPECT_THAT(unknown_flag.stderr_text, HasSubstr("unknown flag --bogus"));
  ProgramResult missing_arg = ops.Run({"du", "localhost"});
  EXPECT_EQ(missing_arg.exit_code, 2);
  ProgramResult help = ops.Run({"du", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.stdout_text, HasSubstr("Example:"));
  // Nothing was sent for any of these, so nothing was audited.
  EXPECT_EQ(access(ops.audit_path().c_str(), F_OK), -1);
}

TEST_F(InspectionE2eTest, AgentRefusesToStartOnBadConfigAndNamesTheField) {
  struct Case {
    std::string config;
    std::string error;
  };
  const std::string tls = absl::StrCat(
      "tls { certificate: \"", test_agent_->certificate.certificate,
      "\" private_key: \"", test_agent_->certificate.private_key,
      "\" ca_certificate: \"", ca_->certificate_path(), "\" }\n");
  const std::string grant =
      "authorization { roles: \"oncall\" operations: \"*\" }\n";
  for (const Case& c : std::vector<Case>{
           {tls + grant, "listen_address: is required"},
           {"listen_address: \"127.0.0.1:1\"\n" + grant,
            "tls.certificate: is required"},
           {"listen_address: \"127.0.0.1:1\"\n" + tls,
            "authorization: no rules"},
           {"listen_address: \"127.0.0.1:1\"\n" + tls +
                "authorization { roles: \"x\" operations: \"rm\" }",
            "unknown operation \"rm\""},
           {"listen_address: \"127.0.0.1:1\"\n" + tls + grant +
                "inspection_roots: \"var/log\"",
            "inspection_roots[0]: \"var/log\" is not absolute"},
           {"listen_address: \"127.0.0.1:1\"\n" + tls + grant +
                "inspection_roots: \"" + *root_ + "/log/escape\"",
            "passes through a symbolic link"},
           {"listen_adress: \"127.0.0.1:1\"",
            "no field named \"listen_adress\""},
       }) {
    const std::string path = *dir_ + "/bad.textproto";
    WriteFileOrDie(path, c.config);
    absl::StatusOr<ProgramResult> r =
        RunProgram({"agent/opsagent", "--config", path}, absl::Seconds(20));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->exit_code, 2) << c.config;
    EXPECT_THAT(r->stderr_text, HasSubstr(c.error)) << c.config;
  }
}

}  // namespace
}  // namespace opsagent
