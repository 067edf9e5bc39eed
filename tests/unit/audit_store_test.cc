#include "controller/audit/audit_store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/audit_result.h"
#include "tests/testing/sqlite_file.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

std::string TempDb(const std::string& name) {
  std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name, ".db");
  unlink(path.c_str());
  return path;
}

v1::AuditIntent Intent(const std::string& id, const std::string& host,
                       const std::string& op, int64_t at_ms) {
  v1::AuditIntent intent;
  intent.set_request_id(id);
  intent.set_started_at_ms(at_ms);
  intent.set_os_user("alice");
  intent.set_cert_identity("alice-cert");
  intent.set_host(host);
  intent.set_address(host + ":9443");
  intent.set_operation(op);
  intent.set_parameters_json("{\"top\":5}");
  intent.set_incident("INC-1");
  return intent;
}

TEST(AuditStoreTest, IntentThenOutcomeRoundTrips) {
  auto store = AuditStore::Open(TempDb("roundtrip"));
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<int64_t> id =
      (*store)->RecordIntent(Intent("r1", "salt-qa", "memory", 1000));
  ASSERT_TRUE(id.ok()) << id.status();

  auto pending = (*store)->Query({});
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].outcome(),
            v1::OUTCOME_PENDING);  // written before the call
  EXPECT_FALSE((*pending)[0].has_result());

  ASSERT_TRUE(
      (*store)
          ->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK, 1250, "", "",
                                            "available 5.3G of 7.5G"))
          .ok());
  auto rows = (*store)->Query({});
  ASSERT_TRUE(rows.ok());
  const v1::AuditEntry& row = (*rows)[0];
  EXPECT_EQ(row.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(row.intent().request_id(), "r1");
  EXPECT_EQ(row.intent().parameters_json(), "{\"top\":5}");
  EXPECT_EQ(row.result().finished_at_ms(), 1250);
  EXPECT_EQ(row.result().summary(), "available 5.3G of 7.5G");
  // An outcome is written once; a second attempt is refused.
  EXPECT_FALSE(
      (*store)->RecordResult(*id, AuditResultOf(v1::OUTCOME_ERROR, 2000)).ok());
}

// The connections SQLite opens while set, with the file each opened: an
// auto extension runs on each as it opens.
std::vector<std::pair<sqlite3*, std::string>>* opened_connections = nullptr;

int RememberConnection(sqlite3* db, const char** /*error*/,
                       const sqlite3_api_routines* /*api*/) {
  const char* file = sqlite3_db_filename(db, "main");
  if (opened_connections != nullptr)
    opened_connections->emplace_back(db, file == nullptr ? "" : file);
  return SQLITE_OK;
}

// The value of `pragma` on connection `db`, as text.
std::string PragmaOf(sqlite3* db, const std::string& pragma) {
  sqlite3_stmt* stmt = nullptr;
  std::string value;
  if (sqlite3_prepare_v2(db, ("PRAGMA " + pragma).c_str(), -1, &stmt,
                         nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return value;
}

// synchronous is a setting of a connection, not of the file: it is read on
// the store's own connection (found through an auto extension), where FULL
// is 2; NORMAL (1) would lose the last transactions of a WAL database on a
// power cut.
TEST(AuditStoreTest, UsesWalAndFullSync) {
  const std::string path = TempDb("pragmas");
  std::vector<std::pair<sqlite3*, std::string>> connections;
  opened_connections = &connections;
  ASSERT_EQ(
      sqlite3_auto_extension(reinterpret_cast<void (*)()>(&RememberConnection)),
      SQLITE_OK);
  absl::StatusOr<std::unique_ptr<AuditStore>> store = AuditStore::Open(path);
  sqlite3_cancel_auto_extension(
      reinterpret_cast<void (*)()>(&RememberConnection));
  opened_connections = nullptr;
  ASSERT_TRUE(store.ok()) << store.status();
  // The store keeps one connection open: the last one opened on its file.
  sqlite3* db = nullptr;
  for (const auto& [connection, file] : connections) {
    if (file == path) db = connection;
  }
  ASSERT_NE(db, nullptr) << "no connection to " << path << " was opened";
  EXPECT_EQ(PragmaOf(db, "journal_mode"), "wal");
  EXPECT_EQ(PragmaOf(db, "synchronous"), "2");
}

TEST(AuditStoreTest, FiltersByEachField) {
  auto store = AuditStore::Open(TempDb("filters"));
  ASSERT_TRUE(store.ok());
  AuditStore& s = **store;
  auto a = s.RecordIntent(Intent("a", "salt-qa", "memory", 1000));
  auto b = s.RecordIntent(Intent("b", "xq-1", "disk_usage", 2000));
  v1::AuditIntent other = Intent("c", "xq-1", "memory", 3000);
  other.set_os_user("bob");
  other.set_cert_identity("bob");
  other.set_incident("");
  other.set_run_id("run-9");
  auto c = s.RecordIntent(other);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_TRUE(s.RecordResult(*a, AuditResultOf(v1::OUTCOME_OK, 1100)).ok());
  ASSERT_TRUE(s.RecordResult(*b, AuditResultOf(v1::OUTCOME_DENIED, 2100,
                                               "PERMISSION_DENIED", "no"))
                  .ok());

  auto ids = [&](v1::AuditQuery filter) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<v1::AuditEntry>> rows = s.Query(filter);
    EXPECT_TRUE(rows.ok()) << rows.status();
    for (const v1::AuditEntry& r : *rows)
      out.push_back(r.intent().request_id());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({}), (V{"a", "b", "c"}));
  v1::AuditQuery f;
  f.set_host("xq-1");
  EXPECT_EQ(ids(f), (V{"b", "c"}));
  f = {};
  f.set_operator_name("alice-cert");
  EXPECT_EQ(ids(f), (V{"a", "b"}));
  f = {};
  f.set_operator_name("bob");
  EXPECT_EQ(ids(f), (V{"c"}));
  f = {};
  f.set_operation("memory");
  EXPECT_EQ(ids(f), (V{"a", "c"}));
  f = {};
  f.set_outcome(v1::OUTCOME_DENIED);
  EXPECT_EQ(ids(f), (V{"b"}));
  f = {};
  f.set_outcome(v1::OUTCOME_PENDING);
  EXPECT_EQ(ids(f), (V{"c"}));
  f = {};
  f.set_incident("INC-1");
  EXPECT_EQ(ids(f), (V{"a", "b"}));
  f = {};
  f.set_run_id("run-9");
  EXPECT_EQ(ids(f), (V{"c"}));
  f = {};
  f.set_since_unix_ms(2000);
  f.set_until_unix_ms(3000);
  EXPECT_EQ(ids(f), (V{"b"}));
  f = {};
  f.set_limit(2);  // the newest two, oldest first
  EXPECT_EQ(ids(f), (V{"b", "c"}));
}

TEST(AuditStoreTest, ConcurrentWritersLoseNoRow) {
  const std::string path = TempDb("concurrent");
  ASSERT_TRUE(AuditStore::Open(path).ok());
  constexpr int kWriters = 4, kEach = 100;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto store = AuditStore::Open(
          path);  // its own connection, as another opsctl would have
      if (!store.ok()) {
        ++failures;
        return;
      }
      for (int i = 0; i < kEach; ++i) {
        auto id = (*store)->RecordIntent(
            Intent(absl::StrCat(w, "-", i), "h", "memory", i));
        if (!id.ok() ||
            !(*store)
                 ->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK, i + 1))
                 .ok())
          ++failures;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto store = AuditStore::Open(path);
  v1::AuditQuery all;
  all.set_limit(100000);
  auto rows = (*store)->Query(all);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), static_cast<size_t>(kWriters * kEach));
  for (const v1::AuditEntry& r : *rows) EXPECT_EQ(r.outcome(), v1::OUTCOME_OK);
}

TEST(AuditStoreTest, DuplicateRequestIdIsRefused) {
  auto store = AuditStore::Open(TempDb("dup"));
  ASSERT_TRUE((*store)->RecordIntent(Intent("same", "h", "memory", 1)).ok());
  EXPECT_FALSE((*store)->RecordIntent(Intent("same", "h", "memory", 2)).ok());
}

TEST(AuditStoreTest, UnusableLocationsAreClearErrors) {
  auto blocked = AuditStore::Open("/proc/self/cannot/audit.db");
  ASSERT_FALSE(blocked.ok());
  EXPECT_THAT(blocked.status().message(), HasSubstr("audit log"));

  const std::string path = TempDb("future");
  ASSERT_TRUE(AuditStore::Open(path).ok());
  sqlite3* db;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto future = AuditStore::Open(path);
  ASSERT_FALSE(future.ok());
  EXPECT_THAT(future.status().message(),
              HasSubstr("newer than this opsctl understands"));
}

// Anyone who could swap or write the log's file could rewrite history:
// such locations are refused, and a new log is readable by its owner only.
TEST(AuditStoreTest, UntrustedLocationsAreRefused) {
  const std::string base = absl::StrCat(std::getenv("TEST_TMPDIR"), "/trust");
  mkdir(base.c_str(), 0755);
  const std::string open_dir = base + "/world-writable";
  mkdir(open_dir.c_str(), 0777);
  chmod(open_dir.c_str(), 0777);
  auto in_open_dir = AuditStore::Open(open_dir + "/team.db");
  ASSERT_FALSE(in_open_dir.ok());
  EXPECT_THAT(in_open_dir.status().message(), HasSubstr("writable by others"));
  EXPECT_NE(access((open_dir + "/team.db").c_str(), F_OK), 0);

  const std::string target = base + "/elsewhere.db";
  const std::string link = base + "/link.db";
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  auto through_link = AuditStore::Open(link);
  ASSERT_FALSE(through_link.ok());
  EXPECT_THAT(through_link.status().message(), HasSubstr("symbolic link"));
  EXPECT_NE(access(target.c_str(), F_OK), 0);

  const std::string shared = base + "/shared.db";
  ASSERT_TRUE(AuditStore::Open(shared).ok());
  struct stat st;
  ASSERT_EQ(stat(shared.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  chmod(shared.c_str(), 0666);
  auto writable = AuditStore::Open(shared);
  ASSERT_FALSE(writable.ok());
  EXPECT_THAT(writable.status().message(), HasSubstr("writable"));
}

// Several processes opening one log of an earlier schema at once: one
// upgrades it, the others find it upgraded (an ALTER TABLE run twice once
// failed one of them with "duplicate column name").
TEST(AuditStoreTest, OpenersOfAnOldLogAtOnceAllSucceed) {
  for (int trial = 0; trial < 5; ++trial) {
    const std::string path = TempDb(absl::StrCat("racing", trial));
    ASSERT_TRUE(AuditStore::Open(path).ok());
    ASSERT_TRUE(testing::ExecSqlite(
                    path,
                    "DROP INDEX actions_by_ticket; ALTER TABLE actions DROP "
                    "COLUMN ticket; PRAGMA user_version=6")
                    .ok());
    std::vector<absl::Status> opened(6);
    std::vector<std::thread> openers;
    for (absl::Status& status : opened) {
      openers.emplace_back(
          [&status, &path] { status = AuditStore::Open(path).status(); });
    }
    for (std::thread& opener : openers) opener.join();
    for (const absl::Status& status : opened)
      EXPECT_TRUE(status.ok()) << "trial " << trial << ": " << status;
  }
}

// Logs written by earlier releases are upgraded in place on open and then
// record everything a current one does, the structured result included.
TEST(AuditStoreTest, LogsFromEarlierSchemasAreUpgradedAndKeepRecording) {
  struct Earlier {
    int version;
    const char* downgrade;  // what that release's file lacked
  };
  // Schema 7 added the ticket, 6 the agent's result signature.
  const std::string before6 =
      "DROP INDEX actions_by_ticket; ALTER TABLE actions DROP COLUMN ticket; "
      "ALTER TABLE actions DROP COLUMN agent_result_sha256; "
      "ALTER TABLE actions DROP COLUMN agent_signature; ";
  const std::string before7 =
      "DROP INDEX actions_by_ticket; ALTER TABLE actions DROP COLUMN ticket";
  for (const Earlier& earlier : {
           Earlier{6, ""},
           Earlier{5, ""},
           Earlier{3, "ALTER TABLE actions DROP COLUMN result_json"},
           Earlier{2,
                   "ALTER TABLE actions DROP COLUMN result_json; "
                   "ALTER TABLE actions DROP COLUMN os_uid; "
                   "ALTER TABLE actions DROP COLUMN sudo_user"},
       }) {
    SCOPED_TRACE(absl::StrCat("schema ", earlier.version));
    const std::string path = TempDb(absl::StrCat("schema", earlier.version));
    {
      auto store = AuditStore::Open(path);
      ASSERT_TRUE(store.ok());
      auto id = (*store)->RecordIntent(Intent("old", "xq-1", "memory", 1000));
      ASSERT_TRUE(id.ok());
      ASSERT_TRUE((*store)
                      ->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK, 1010,
                                                        "", "", "ok"))
                      .ok());
    }
    const absl::Status downgraded = testing::ExecSqlite(
        path, earlier.version == 6
                  ? absl::StrCat(before7, "; PRAGMA user_version=6")
                  : absl::StrCat(before6, earlier.downgrade,
                                 "; PRAGMA user_version=", earlier.version));
    ASSERT_TRUE(downgraded.ok()) << downgraded;

    auto store = AuditStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    v1::AuditIntent drill = Intent("new", "xq-1", "restart", 2000);
    drill.set_ticket("CHG-1042");
    auto id = (*store)->RecordIntent(drill);
    ASSERT_TRUE(id.ok()) << id.status();
    v1::AuditResult failed = AuditResultOf(v1::OUTCOME_ERROR, 2010, "ABORTED",
                                           "still down", "3 attempts");
    failed.set_result_json(R"({"attempts":[{"state":"failed"}]})");
    failed.set_agent_result_sha256(std::string(64, 'f'));
    failed.set_agent_signature("00ff");
    ASSERT_TRUE((*store)->RecordResult(*id, failed).ok());
    v1::AuditQuery filter;
    filter.set_id(*id);
    auto rows = (*store)->Query(filter);
    ASSERT_TRUE(rows.ok()) << rows.status();
    ASSERT_EQ(rows->size(), 1u);
    ASSERT_TRUE((*rows)[0].has_result());
    EXPECT_EQ((*rows)[0].result().result_json(), failed.result_json());
    EXPECT_EQ((*rows)[0].result().agent_signature(), "00ff");
    EXPECT_EQ((*rows)[0].intent().ticket(), "CHG-1042");
    filter = v1::AuditQuery();
    filter.set_ticket("CHG-1042");
    rows = (*store)->Query(filter);
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ(rows->size(), 1u);
    EXPECT_TRUE((*store)->Verify().ok());
  }
}

}  // namespace
}  // namespace opsagent

namespace opsagent {
namespace {

// Tampering with the audit database behind opsctl's back, with sqlite3 as an
// attacker would, must be reported by Verify, naming the row.
class AuditChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ =
        TempDb(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto store = AuditStore::Open(path_);
    ASSERT_TRUE(store.ok());
    for (int i = 1; i <= 5; ++i) {
      auto id = (*store)->RecordIntent(
          Intent(absl::StrCat("r", i), "xq-1", "truncate_log", i * 1000));
      ASSERT_TRUE(id.ok());
      if (i != 5)
        ASSERT_TRUE(
            (*store)
                ->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK, i * 1000 + 10,
                                                  "", "", "freed 8.2G"))
                .ok());
    }
  }

  void Tamper(const std::string& sql) {
    absl::Status done = testing::ExecSqlite(path_, sql);
    ASSERT_TRUE(done.ok()) << done;
  }

  absl::StatusOr<std::string> Verify(const VerifyOptions& options = {}) {
    return (*AuditStore::Open(path_))->Verify(options);
  }

  // The head as `audit verify` prints it.
  std::string Head() {
    absl::StatusOr<std::string> verified = Verify();
    EXPECT_TRUE(verified.ok());
    return verified.ok() ? verified->substr(verified->find("; head ") + 7, 64)
                         : "";
  }

  std::string path_;
};

TEST_F(AuditChainTest, AnUntouchedLogVerifies) {
  absl::StatusOr<std::string> verified = Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_THAT(
      *verified,
      HasSubstr(
          "9 events verified; no signed checkpoints; head "));  // 5 intents, 4
                                                                // outcomes
}

TEST_F(AuditChainTest, AnEditedRowIsNamed) {
  Tamper("UPDATE actions SET os_user = 'someone-else' WHERE request_id = 'r3'");
  absl::StatusOr<std::string> verified = Verify();
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.status().message(),
            "row 3 was edited: its intent no longer matches what was recorded");
}

// A ticket is under the chain: given, changed or taken away afterwards, it
// is an edit.
TEST_F(AuditChainTest, AnEditedTicketIsNamed) {
  {
    auto store = AuditStore::Open(path_);
    ASSERT_TRUE(store.ok());
    v1::AuditIntent drill = Intent("r6", "xq-1", "truncate_log", 6000);
    drill.set_ticket("drill 7");
    ASSERT_TRUE((*store)->RecordIntent(drill).ok());
  }
  ASSERT_TRUE(Verify().ok());
  for (const char* edit :
       {"UPDATE actions SET ticket = 'drill 8' WHERE request_id = 'r6'",
        "UPDATE actions SET ticket = '' WHERE request_id = 'r6'"}) {
    Tamper(edit);
    EXPECT_EQ(Verify().status().message(),
              "row 6 was edited: its intent no longer matches what was "
              "recorded");
    Tamper("UPDATE actions SET ticket = 'drill 7' WHERE request_id = 'r6'");
  }
  Tamper("UPDATE actions SET ticket = 'INC-2' WHERE request_id = 'r2'");
  EXPECT_EQ(Verify().status().message(),
            "row 2 was edited: its intent no longer matches what was recorded");
}

// SQLite stores any class of value in any column: a host stored as a blob,
// or a time as text, reads back alike (so the digest still matches) while
// no query finds the row. Each is named.
TEST_F(AuditChainTest, AValueStoredAsAnotherTypeIsNamed) {
  struct Case {
    std::string column, edit, revert;
  };
  for (const Case& c : std::vector<Case>{
           {"host", "host = CAST(host AS BLOB)", "host = CAST(host AS TEXT)"},
           {"ticket", "ticket = CAST(ticket AS BLOB)",
            "ticket = CAST(ticket AS TEXT)"},
           {"started_at_ms", "started_at_ms = started_at_ms || 'x'",
            "started_at_ms = CAST(rtrim(started_at_ms, 'x') AS INTEGER)"},
           // (INTEGER columns turn what reads as a number back into one.)
           {"dry_run", "dry_run = 'no'", "dry_run = 0"},
           {"finished_at_ms", "finished_at_ms = finished_at_ms || 'x'",
            "finished_at_ms = CAST(rtrim(finished_at_ms, 'x') AS INTEGER)"}}) {
    SCOPED_TRACE(c.column);
    Tamper("UPDATE actions SET " + c.edit + " WHERE id = 3");
    EXPECT_EQ(Verify().status().message(),
              "row 3 was changed outside opsctl: its " + c.column +
                  " is stored as another type than opsctl writes, which "
                  "hides the row from queries");
    Tamper("UPDATE actions SET " + c.revert + " WHERE id = 3");
    EXPECT_TRUE(Verify().ok()) << Verify().status();
  }
}

// Ids opsctl never gives (0, negative) are outside the chain's range and
// were once never looked at: a row forged there showed in queries.
TEST_F(AuditChainTest, ARowWithAnIdOpsctlNeverGivesIsNamed) {
  for (const char* id : {"0", "-1"}) {
    SCOPED_TRACE(id);
    Tamper(absl::StrCat(
        "INSERT INTO actions (id, request_id, started_at_ms, os_user, "
        "cert_identity, host, address, operation) VALUES (",
        id, ", 'forged", id,
        "', 1, 'bob', 'bob', 'xq-1', 'xq-1:9443', "
        "'restart_service')"));
    EXPECT_EQ(
        Verify().status().message(),
        absl::StrCat("row ", id,
                     " was inserted outside opsctl (its ids start at 1)"));
    Tamper(absl::StrCat("DELETE FROM actions WHERE id = ", id));
    EXPECT_TRUE(Verify().ok());
  }
}

TEST_F(AuditChainTest, AnEditedOutcomeIsNamed) {
  Tamper("UPDATE actions SET outcome = 'error' WHERE id = 2");
  EXPECT_EQ(
      Verify().status().message(),
      "row 2 was edited: its outcome no longer matches what was recorded");
}

TEST_F(AuditChainTest, ADeletedRowIsNamed) {
  Tamper("DELETE FROM actions WHERE id = 4");
  EXPECT_EQ(Verify().status().message(),
            "row 4 was deleted (its intent is in the chain)");
}

TEST_F(AuditChainTest, DeletingRowAndChainEventsTogetherBreaksTheChain) {
  Tamper(
      "DELETE FROM actions WHERE id = 2; DELETE FROM audit_chain WHERE "
      "action_id = 2");
  EXPECT_THAT(Verify().status().message(),
              HasSubstr("events were deleted or reordered"));
}

TEST_F(AuditChainTest, ReorderedEventsBreakTheChain) {
  Tamper(
      "UPDATE audit_chain SET seq = -seq WHERE seq IN (3, 4); UPDATE "
      "audit_chain SET seq = 4 WHERE seq = -3; "
      "UPDATE audit_chain SET seq = 3 WHERE seq = -4");
  EXPECT_THAT(Verify().status().message(),
              HasSubstr("does not follow the one before it"));
}

TEST_F(AuditChainTest, RowsInsertedOrCompletedBehindOpsctlAreNamed) {
  Tamper(
      "INSERT INTO actions (request_id, started_at_ms, os_user, cert_identity, "
      "host, address, operation) "
      "VALUES ('forged', 1, 'x', 'x', 'h', 'a', 'memory')");
  EXPECT_EQ(
      Verify().status().message(),
      "row 6 was inserted outside opsctl: the chain has 0 of its 1 events");
}

// The attack of the outside run: drop every chain event and move the start
// of the chain past the last row, then edit freely.
TEST_F(AuditChainTest, MovingTheStartOfTheChainPastTheRowsIsDetected) {
  Tamper(
      "DELETE FROM audit_chain; UPDATE audit_meta SET value = '5' WHERE key "
      "= 'chain_start'; UPDATE actions SET host = 'elsewhere' WHERE id = 3");
  absl::StatusOr<std::string> verified = Verify();
  ASSERT_FALSE(verified.ok());
  EXPECT_THAT(verified.status().message(),
              HasSubstr("rows 1 to 5 are not covered by the hash chain"));
}

TEST_F(AuditChainTest, MovingTheStartOfTheChainBreaksItsFirstLink) {
  // Even with the moved start accepted, the events left over no longer
  // follow from it.
  Tamper("UPDATE audit_meta SET value = '2' WHERE key = 'chain_start'");
  VerifyOptions accept_two;
  accept_two.accept_unchained = 2;
  EXPECT_THAT(Verify(accept_two).status().message(),
              HasSubstr("does not follow the start of the chain"));
}

TEST_F(AuditChainTest, RowsDeletedFromTheEndAreCaughtByAPinnedHead) {
  const std::string head = Head();
  VerifyOptions pinned;
  pinned.expect_head = head;
  absl::StatusOr<std::string> verified = Verify(pinned);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_THAT(*verified,
              HasSubstr("the pinned head is event 9, 0 event(s) since"));
  // Cutting the newest rows and their events leaves a consistent chain...
  Tamper(
      "DELETE FROM actions WHERE id >= 4; DELETE FROM audit_chain WHERE "
      "action_id >= 4");
  EXPECT_TRUE(Verify().ok());
  // ...that no longer holds the head kept elsewhere.
  EXPECT_THAT(Verify(pinned).status().message(),
              HasSubstr("the pinned head " + head + " is not in the chain"));
}

TEST_F(AuditChainTest, APendingRowMarkedDoneBehindOpsctlIsNamed) {
  Tamper(
      "UPDATE actions SET outcome = 'ok', finished_at_ms = 6000 WHERE id = 5");
  EXPECT_EQ(
      Verify().status().message(),
      "row 5 was changed outside opsctl: the chain has 1 of its 2 events");
}

}  // namespace
}  // namespace opsagent
