// The team's audit log on real parts: the real opsctld signing its real
// SQLite log with a real Ed25519 key file and exporting to a real file, a
// real agent keeping its own journal, real opsctl.
// - Checkpoints: an attacker with the database file but not the key swaps
//   it for an older copy: opsctld refuses to start, and an offline verify
//   of the copy names it.
// - Reconcile: the two witnesses compared after a break-glass change and an
//   attacker's edits to the team log (a row deleted, an outcome changed, a
//   result changed, a row made up), each reported as what it is.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/sqlite_file.h"
#include "tests/testing/test_agent.h"
#include "tests/testing/test_controller.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::opsagent::testing::CertificateFiles;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::TestCertificateAuthority;
using ::opsagent::testing::TestController;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// The "cursor" of a JSON export line.
std::string CursorOf(const std::string& line) {
  const size_t at = line.find("\"cursor\":\"") + 10;
  return line.substr(at, line.find('"', at) - at);
}

class TeamAuditE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTestDirectory();
    // The key and the export apart from the database's directory.
    keys_ = dir_ + "/keys";
    mkdir(keys_.c_str(), 0700);
    export_dir_ = dir_ + "/export";
    mkdir(export_dir_.c_str(), 0700);
    ASSERT_TRUE(testing::WriteEd25519Key(keys_ + "/checkpoint.key",
                                         keys_ + "/checkpoint.pub")
                    .ok());
    auto ca = TestCertificateAuthority::Create(dir_, "fleet");
    ASSERT_TRUE(ca.ok());
    ca_ = std::shared_ptr<TestCertificateAuthority>(*std::move(ca));
    TestController::Options options;
    options.dir = dir_;
    options.ca = ca_.get();
    options.extra_config = absl::StrCat(
        "audit_checkpoints { key_file: \"", keys_,
        "/checkpoint.key\" every_events: 4 every_seconds: 1 export_file: \"",
        export_file(), "\" }\n");
    auto controller = TestController::Start(options);
    ASSERT_TRUE(controller.ok()) << controller.status();
    controller_ = *std::move(controller);
    TestAgent::Options agent;
    agent.dir = dir_ + "/web-1";
    mkdir(agent.dir.c_str(), 0700);
    agent.host_name = "web-1";
    agent.ca = ca_;
    logs_ = dir_ + "/logs";
    mkdir(logs_.c_str(), 0700);
    testing::WriteFileOrDie(logs_ + "/app.log", std::string(1 << 20, 'x'));
    agent.extra_config = absl::StrCat(
        controller_->AgentConfig(), "journal_path: \"", agent.dir,
        "/journal.jsonl\"\n", "truncatable_logs: \"", logs_, "/*.log\"\n",
        // A vetted command with three parameters: its request carries a
        // map, whose JSON text has no fixed key order.
        R"(command { name: "deploy" argv: ["/bin/echo", "{app}", "{env}", "{ref}"]
             params { name: "app" type: REGEX pattern: "[a-z]+" }
             params { name: "env" type: REGEX pattern: "[a-z]+" }
             params { name: "ref" type: REGEX pattern: "[a-z0-9]+" } }
           command { name: "slow" argv: ["/bin/sleep", "{seconds}"]
             timeout_seconds: 30
             params { name: "seconds" type: INTEGER min: 1 max: 10 } })"
        "\n");
    auto started = TestAgent::Start(agent);
    ASSERT_TRUE(started.ok()) << started.status();
    agent_ = *std::move(started);
    ASSERT_TRUE(Eventually([&] {
      return absl::StrContains(agent_->process->Log(),
                               "connected to the controller");
    }));
    auto alice = ca_->Issue("operator-alice", {"alice", {"oncall"}});
    ASSERT_TRUE(alice.ok());
    alice_ = std::make_unique<OpsctlRunner>(
        dir_, "alice", alice->certificate, alice->private_key,
        ca_->certificate_path(), "web-1", 1);
    alice_->AppendConfig(controller_->OpsctlConfig());
    // The same operator's break-glass path to the agent's own listener.
    alice_direct_ = std::make_unique<OpsctlRunner>(
        dir_, "alice-direct", alice->certificate, alice->private_key,
        ca_->certificate_path(), "web-1", agent_->port);
  }

  // The team log changed with sqlite3, as an attacker with the file would.
  void TamperTeamLog(const std::string& sql) {
    absl::Status done = testing::ExecSqlite(controller_->audit_path(), sql);
    ASSERT_TRUE(done.ok()) << done;
  }

  // The request id opsctl --output json reported for a call.
  std::string RequestId(const std::string& json) {
    const size_t at = json.find("\"request_id\":\"");
    if (at == std::string::npos) return "";
    return json.substr(at + 14, json.find('"', at + 14) - at - 14);
  }

  std::string export_file() const { return export_dir_ + "/checkpoints.jsonl"; }

  // `n` calls through the controller: two chain events each.
  void Calls(int n) {
    for (int i = 0; i < n; ++i) {
      ProgramResult r = alice_->Run({"info", "web-1"});
      ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
    }
  }

  size_t ExportedCheckpoints() {
    return Lines(ReadFileOrDie(export_file())).size();
  }

  // Checkpoints in the database: a checkpoint is exported before its
  // commit, so the file may hold one the database does not yet.
  int64_t CommittedCheckpoints() {
    absl::StatusOr<int64_t> count = testing::QuerySqliteInt(
        controller_->audit_path(), "SELECT count(*) FROM audit_checkpoints");
    return count.ok() ? *count : -1;
  }

  std::string dir_, keys_, export_dir_;
  std::shared_ptr<TestCertificateAuthority> ca_;
  std::unique_ptr<TestController> controller_;
  std::unique_ptr<TestAgent> agent_;
  std::unique_ptr<OpsctlRunner> alice_;
  std::unique_ptr<OpsctlRunner> alice_direct_;
  std::string logs_;
};

TEST_F(TeamAuditE2eTest, SignsExportsAndVerifiesThroughTheController) {
  Calls(3);
  ASSERT_TRUE(Eventually([&] { return ExportedCheckpoints() >= 1; }))
      << controller_->Log();
  ProgramResult verify = alice_->Run({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.stdout_text << verify.stderr_text;
  EXPECT_THAT(verify.stdout_text, HasSubstr("checkpoint(s) signed by key"));
  EXPECT_THAT(verify.stdout_text, HasSubstr("exported checkpoint(s) match"));

  // A SIEM follows the log: all lines, then only what is new after the
  // last cursor.
  ProgramResult first = alice_->Run({"audit", "export"});
  ASSERT_EQ(first.exit_code, 0) << first.stderr_text;
  std::vector<std::string> lines = Lines(first.stdout_text);
  ASSERT_GE(lines.size(), 7u);  // 6 events and a checkpoint at least
  EXPECT_THAT(lines[0], HasSubstr("\"event\":\"intent\""));
  EXPECT_THAT(lines[0], HasSubstr("\"operation\":\"info\""));
  EXPECT_THAT(first.stdout_text,
              HasSubstr("\"checkpoint\":{\"type\":"
                        "\"audit_checkpoint\",\"number\":1"));
  const std::string cursor = CursorOf(lines.back());
  Calls(1);
  ProgramResult next = alice_->Run({"audit", "export", "--after", cursor});
  ASSERT_EQ(next.exit_code, 0) << next.stderr_text;
  EXPECT_THAT(next.stdout_text, Not(HasSubstr(lines.back())));
  EXPECT_THAT(next.stdout_text, HasSubstr("\"event\":\"outcome\""));
  EXPECT_EQ(alice_->Run({"audit", "export", "--after", "nonsense"}).exit_code,
            2);

  // The export is what verify takes as the copy kept elsewhere.
  const std::string siem = dir_ + "/siem.jsonl";
  testing::WriteFileOrDie(siem, first.stdout_text);
  ProgramResult with_copy =
      alice_->Run({"audit", "verify", "--checkpoints", siem});
  EXPECT_EQ(with_copy.exit_code, 0) << with_copy.stdout_text;
}

TEST_F(TeamAuditE2eTest, AnOlderCopyOfTheDatabaseIsRefusedAndNamed) {
  Calls(2);
  ASSERT_TRUE(Eventually([&] { return CommittedCheckpoints() >= 1; }));
  // The attacker keeps a copy of the log as it is now...
  const std::string older = dir_ + "/older.db";
  TamperTeamLog("VACUUM INTO '" + older + "'");
  // ...the team works on (a truncation it would rather hide)...
  const size_t before = ExportedCheckpoints();
  Calls(3);
  ASSERT_TRUE(Eventually([&] { return ExportedCheckpoints() > before; }));
  controller_->Kill();
  // ...and the older copy is put in its place.
  for (const char* suffix : {"-wal", "-shm"})
    std::filesystem::remove(controller_->audit_path() + suffix);
  std::filesystem::copy_file(older, controller_->audit_path(),
                             std::filesystem::copy_options::overwrite_existing);
  chmod(controller_->audit_path().c_str(), 0600);
  absl::Status restarted = controller_->Restart();
  ASSERT_FALSE(restarted.ok());
  EXPECT_THAT(restarted.message(), HasSubstr("refusing to start"));
  EXPECT_THAT(restarted.message(), HasSubstr("swapped for an older copy"));

  // Offline, on a copy, with the public key and the export file.
  ProgramResult offline =
      alice_->Run({"audit", "verify", "--database", older, "--checkpoint-key",
                   keys_ + "/checkpoint.pub", "--checkpoints", export_file()});
  EXPECT_EQ(offline.exit_code, 1) << offline.stdout_text << offline.stderr_text;
  EXPECT_THAT(offline.stdout_text, HasSubstr("TAMPERED"));
  EXPECT_THAT(offline.stdout_text, HasSubstr("swapped for an older copy"));
  // A checkpoint "file" that never ends is refused, not read forever.
  ProgramResult endless =
      alice_->Run({"audit", "verify", "--database", older, "--checkpoint-key",
                   keys_ + "/checkpoint.pub", "--checkpoints", "/dev/zero"});
  EXPECT_EQ(endless.exit_code, 2);
  EXPECT_THAT(endless.stderr_text, HasSubstr("is not a regular file"));
  // Without the key a log with checkpoints is not called intact.
  ProgramResult keyless = alice_->Run({"audit", "verify", "--database", older});
  EXPECT_EQ(keyless.exit_code, 2);
  EXPECT_THAT(keyless.stderr_text, HasSubstr("--checkpoint-key"));

  // The copy is evidence: verify reads it and writes nothing, so a mistyped
  // path is no empty log that verifies, and an older schema is upgraded
  // only when asked.
  const std::string missing = dir_ + "/no-such.db";
  ProgramResult mistyped =
      alice_->Run({"audit", "verify", "--database", missing, "--checkpoint-key",
                   keys_ + "/checkpoint.pub"});
  EXPECT_EQ(mistyped.exit_code, 2) << mistyped.stdout_text;
  EXPECT_THAT(mistyped.stderr_text, HasSubstr("no audit log at"));
  EXPECT_FALSE(std::filesystem::exists(missing));
  const std::string schema6 = dir_ + "/schema6.db";
  std::filesystem::copy_file(older, schema6);
  ASSERT_TRUE(testing::ExecSqlite(schema6,
                                  "DROP INDEX actions_by_ticket; ALTER TABLE "
                                  "actions DROP COLUMN ticket; PRAGMA "
                                  "user_version=6")
                  .ok());
  const std::string before_bytes = ReadFileOrDie(schema6);
  ProgramResult old_schema =
      alice_->Run({"audit", "verify", "--database", schema6, "--checkpoint-key",
                   keys_ + "/checkpoint.pub"});
  EXPECT_EQ(old_schema.exit_code, 2);
  EXPECT_THAT(old_schema.stderr_text, HasSubstr("schema version 6"));
  EXPECT_THAT(old_schema.stderr_text, HasSubstr("--upgrade"));
  EXPECT_EQ(ReadFileOrDie(schema6), before_bytes);  // not a byte changed
  ProgramResult upgraded =
      alice_->Run({"audit", "verify", "--database", schema6, "--upgrade",
                   "--checkpoint-key", keys_ + "/checkpoint.pub",
                   "--max-unsigned-age", "0"});
  EXPECT_EQ(upgraded.exit_code, 0)
      << upgraded.stdout_text << upgraded.stderr_text;
}

// One row edited to hold bytes that are not UTF-8 made every query and
// export through the controller fail for everyone (Protobuf will not carry
// them; our attack run): it is shown with U+FFFD, and verify names the row.
TEST_F(TeamAuditE2eTest, ARowEditedToHoldInvalidUtf8StillAnswersAndIsNamed) {
  Calls(2);
  TamperTeamLog(
      "UPDATE actions SET reason = CAST(X'66FFFE6F' AS TEXT), host = "
      "CAST(X'776562FF' AS TEXT) WHERE id = (SELECT max(id) FROM actions)");
  ProgramResult json = alice_->Run({"audit", "--output", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.stderr_text;
  EXPECT_THAT(json.stdout_text, HasSubstr("f\xef\xbf\xbd\xef\xbf\xbdo"));
  ProgramResult table = alice_->Run({"audit"});
  EXPECT_EQ(table.exit_code, 0) << table.stderr_text;
  ProgramResult exported = alice_->Run({"audit", "export"});
  EXPECT_EQ(exported.exit_code, 0) << exported.stderr_text;
  ProgramResult verified = alice_->Run({"audit", "verify"});
  EXPECT_EQ(verified.exit_code, 1) << verified.stdout_text;
  EXPECT_THAT(verified.stdout_text, HasSubstr("TAMPERED"));
}

TEST_F(TeamAuditE2eTest, ReconcileNamesEachDifferenceBetweenTheWitnesses) {
  auto run = [&](OpsctlRunner& opsctl, std::vector<std::string> args) {
    args.push_back("--output");
    args.push_back("json");
    ProgramResult r = opsctl.Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
    return RequestId(r.stdout_text);
  };
  const std::string log = logs_ + "/app.log";
  const std::string kept = run(*alice_, {"info", "web-1"});
  const std::string truncated =
      run(*alice_, {"truncate", "web-1", log, "--yes"});
  const std::string edited = run(*alice_, {"mem", "web-1"});
  const std::string changed = run(*alice_, {"df", "web-1"});
  const std::string deleted = run(*alice_, {"info", "web-1"});
  // Nothing tampered yet: the witnesses agree.
  ProgramResult clean = alice_->Run({"audit", "reconcile", "--since", "10m"});
  EXPECT_EQ(clean.exit_code, 0) << clean.stdout_text << clean.stderr_text;
  EXPECT_THAT(clean.stderr_text, HasSubstr("reconciled 1 host(s)"));
  EXPECT_THAT(clean.stderr_text, HasSubstr("5 call(s) agree, 0 discrepancies"));

  // A break-glass change, straight to the agent.
  ASSERT_EQ(alice_direct_->Run({"--direct", "truncate", "web-1", log, "--yes"})
                .exit_code,
            0);
  // And an attacker with the team log's file: a row deleted, an outcome
  // rewritten, the recorded answer changed, a row no agent ran.
  TamperTeamLog(absl::StrCat(
      "DELETE FROM actions WHERE request_id = '", deleted, "';",
      "UPDATE actions SET outcome = 'error' WHERE request_id = '", edited, "';",
      "UPDATE actions SET agent_result_sha256 = '", std::string(64, 'a'),
      "' WHERE request_id = '", changed, "';",
      "INSERT INTO actions (request_id, started_at_ms, os_user, "
      "cert_identity, host, address, operation, outcome, finished_at_ms) "
      "VALUES ('made-up', ",
      absl::ToUnixMillis(absl::Now()),
      ", 'alice', 'alice', 'web-1', 'x', 'restart_service', 'ok', ",
      absl::ToUnixMillis(absl::Now()), ")"));

  ProgramResult found = alice_->Run({"audit", "reconcile", "--since", "10m",
                                     "--host", "web-1", "--output", "json"});
  EXPECT_EQ(found.exit_code, 7) << found.stderr_text;
  const std::string& out = found.stdout_text;
  auto finding = [&](const std::string& kind, const std::string& request) {
    return absl::StrContains(out, absl::StrCat("{\"kind\":\"", kind,
                                               "\",\"host\":\"web-1\"")) &&
           absl::StrContains(out,
                             absl::StrCat("\"request_id\":\"", request, "\""));
  };
  EXPECT_TRUE(finding("missing_row", deleted)) << out;
  EXPECT_TRUE(finding("outcome_differs", edited)) << out;
  EXPECT_TRUE(finding("result_differs", changed)) << out;
  EXPECT_TRUE(finding("not_run", "made-up")) << out;
  EXPECT_THAT(out, HasSubstr("\"kind\":\"unlogged_change\""));
  EXPECT_THAT(out, HasSubstr("via direct"));
  // What was not touched still agrees.
  EXPECT_THAT(out, Not(HasSubstr(kept)));
  EXPECT_THAT(out, Not(HasSubstr(truncated)));
  EXPECT_THAT(found.stderr_text,
              HasSubstr("3 call(s) agree, 5 discrepancies (1 unlogged_change, "
                        "1 missing_row, 1 not_run, 1 outcome_differs, 1 "
                        "result_differs)"));
  // Break-glass cannot reconcile: the team log is the controller's.
  EXPECT_EQ(alice_->Run({"--direct", "audit", "reconcile"}).exit_code, 2);
}

// Issue 21: about half of the `exec` calls with two or more parameters were
// reported as request_differs (the team log's JSON and the journal's, in
// another key order), so reconcile exited 7 on a clean fleet.
TEST_F(TeamAuditE2eTest, ReconcileOfExecCallsWithSeveralParametersIsClean) {
  constexpr int kCalls = 12;
  std::vector<std::string> ids;
  for (int i = 0; i < kCalls; ++i) {
    ProgramResult r = alice_->Run(
        {"exec", "web-1", "deploy", "--param", "app=web", "--param", "env=prod",
         "--param", absl::StrCat("ref=r", i), "--yes", "--output", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.stdout_text << r.stderr_text;
    ids.push_back(RequestId(r.stdout_text));
  }
  ProgramResult clean = alice_->Run({"audit", "reconcile", "--since", "10m"});
  EXPECT_EQ(clean.exit_code, 0) << clean.stdout_text << clean.stderr_text;
  EXPECT_THAT(
      clean.stderr_text,
      HasSubstr(absl::StrCat(kCalls, " call(s) agree, 0 discrepancies")));

  // A request genuinely changed in the team log is still named.
  TamperTeamLog(absl::StrCat(
      "UPDATE actions SET parameters = replace(parameters, '\"r3\"', "
      "'\"evil\"') WHERE request_id = '",
      ids[3], "'"));
  ProgramResult found =
      alice_->Run({"audit", "reconcile", "--since", "10m", "--output", "json"});
  EXPECT_EQ(found.exit_code, 7) << found.stderr_text;
  EXPECT_THAT(found.stdout_text,
              HasSubstr(absl::StrCat("\"request_id\":\"", ids[3], "\"")));
  EXPECT_THAT(found.stdout_text, HasSubstr("\"kind\":\"request_differs\""));
  // The other calls (and the first reconcile's journal read) still agree.
  EXPECT_THAT(found.stderr_text,
              HasSubstr(absl::StrCat(kCalls,
                                     " call(s) agree, 1 discrepancy "
                                     "(1 request_differs)")));
}

// Issue 21: a change cut off by a controller kill stayed `pending` in the
// team log for good. The restarted controller records it unknown, pointing
// at the host's journal, and reconcile says how it really ended.
TEST_F(TeamAuditE2eTest, AChangeCutOffByAControllerKillIsUnknownAfterRestart) {
  const std::string out = dir_ + "/slow.out", err = dir_ + "/slow.err";
  absl::StatusOr<Subprocess> slow = alice_->Start(
      {"exec", "web-1", "slow", "--param", "seconds=3", "--yes"}, out, err);
  ASSERT_TRUE(slow.ok()) << slow.status();
  // Killed once the agent has started it.
  ASSERT_TRUE(Eventually([&] {
    return absl::StrContains(ReadFileOrDie(agent_->dir + "/journal.jsonl"),
                             "\"run_command\"");
  }));
  controller_->Kill();
  absl::StatusOr<int> cut = slow->Wait(absl::Seconds(30));
  ASSERT_TRUE(cut.ok());
  EXPECT_NE(*cut, 0);
  ASSERT_TRUE(controller_->Restart().ok()) << controller_->Log();
  EXPECT_THAT(controller_->Log(), HasSubstr("1 call(s) a stopped controller "
                                            "left without an outcome"));

  ProgramResult rows =
      alice_->Run({"audit", "--operation", "run_command", "--output", "json"});
  ASSERT_EQ(rows.exit_code, 0) << rows.stderr_text;
  EXPECT_THAT(rows.stdout_text, HasSubstr("\"outcome\":\"unknown\""));
  EXPECT_THAT(rows.stdout_text, Not(HasSubstr("\"outcome\":\"pending\"")));
  EXPECT_THAT(rows.stdout_text,
              HasSubstr("the controller stopped before web-1 answered"));

  // The agent finished it meanwhile; its journal says so.
  ASSERT_TRUE(Eventually(
      [&] {
        return absl::StrContains(
            alice_->Run({"audit", "reconcile", "--since", "10m"}).stdout_text,
            "the team log says unknown; web-1 finished it ok");
      },
      absl::Seconds(30)))
      << alice_->Run({"audit", "reconcile", "--since", "10m"}).stderr_text;
}

TEST(AuditCheckpointConfigE2eTest, AKeyOthersCanReadIsRefusedAtStart) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/badkey");
  mkdir(dir.c_str(), 0700);
  mkdir((dir + "/keys").c_str(), 0700);
  ASSERT_TRUE(testing::WriteEd25519Key(dir + "/keys/k.pem").ok());
  chmod((dir + "/keys/k.pem").c_str(), 0640);
  auto ca = TestCertificateAuthority::Create(dir, "fleet");
  ASSERT_TRUE(ca.ok());
  TestController::Options options;
  options.dir = dir;
  options.ca = ca->get();
  options.extra_config = absl::StrCat("audit_checkpoints { key_file: \"", dir,
                                      "/keys/k.pem\" syslog: true }\n");
  auto controller = TestController::Start(options);
  ASSERT_FALSE(controller.ok());
  EXPECT_THAT(controller.status().message(), HasSubstr("readable by it alone"));
  // Nor may the key sit beside the database.
  options.extra_config = absl::StrCat("audit_checkpoints { key_file: \"", dir,
                                      "/k.pem\" syslog: true }\n");
  controller = TestController::Start(options);
  ASSERT_FALSE(controller.ok());
  EXPECT_THAT(controller.status().message(),
              HasSubstr("must not be in the audit database's directory"));
  // Nor beside it by another name: `..`, or a link to its directory.
  ASSERT_TRUE(testing::WriteEd25519Key(dir + "/k.pem").ok());
  ASSERT_EQ(symlink(dir.c_str(), (dir + "/keys/db-dir").c_str()), 0);
  for (const std::string& other :
       {dir + "/keys/../k.pem", dir + "/keys/db-dir/k.pem"}) {
    options.extra_config = absl::StrCat("audit_checkpoints { key_file: \"",
                                        other, "\" syslog: true }\n");
    controller = TestController::Start(options);
    ASSERT_FALSE(controller.ok()) << other;
    EXPECT_THAT(controller.status().message(),
                HasSubstr("must not be in the audit database's directory"));
  }
  // A FIFO planted as the export file is refused at once, not waited on.
  chmod((dir + "/keys/k.pem").c_str(), 0600);
  ASSERT_EQ(mkfifo((dir + "/keys/export.jsonl").c_str(), 0600), 0);
  options.extra_config = absl::StrCat("audit_checkpoints { key_file: \"", dir,
                                      "/keys/k.pem\" export_file: \"", dir,
                                      "/keys/export.jsonl\" }\n");
  const absl::Time start = absl::Now();
  controller = TestController::Start(options);
  ASSERT_FALSE(controller.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_THAT(controller.status().message(), HasSubstr("export_file"));
}

}  // namespace
}  // namespace opsagent
