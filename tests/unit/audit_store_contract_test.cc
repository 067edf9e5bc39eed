// The audit store's contract, checked on both stores it has: an SQLite
// file and a real PostgreSQL 15 server (Debian's binaries, started by the
// test as an unprivileged user). Then what only a shared PostgreSQL log
// must do: two controllers appending at once into one chain, a server
// restarted mid-append, and one checkpoint signer at a time.

#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/postgres/pg_connection.h"
#include "controller/audit/audit_store.h"
#include "controller/audit/log_migration.h"
#include "controller/audit/postgres_audit_store.h"
#include "controller/audit/sqlite_audit_store.h"
#include "controller/opsctld/audit_log_parts.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/audit_result.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

enum class Kind { kSqlite, kPostgres };

std::string KindName(const ::testing::TestParamInfo<Kind>& info) {
  return info.param == Kind::kSqlite ? "Sqlite" : "Postgres";
}

v1::AuditIntent Intent(const std::string& id, const std::string& host,
                       int64_t at_ms, const std::string& incident = "") {
  v1::AuditIntent intent;
  intent.set_request_id(id);
  intent.set_started_at_ms(at_ms);
  intent.set_os_user("alice");
  intent.set_os_uid(1000);
  intent.set_cert_identity("alice-cert");
  intent.set_host(host);
  intent.set_address(host + ":9443");
  intent.set_operation("restart_service");
  intent.set_parameters_json("{\"unit\":\"supervisor.service\"}");
  intent.set_reason("DiskUsageWarning xqwatcher");
  intent.set_incident(incident);
  intent.set_mutating(true);
  return intent;
}

// Rows signed into checkpoints must be dated as they would be.
int64_t Now() { return absl::ToUnixMillis(absl::Now()); }

class AuditStoreContractTest : public ::testing::TestWithParam<Kind> {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<testing::PostgresServer>> server =
        testing::PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    const std::string name = absl::StrCat(
        "t", ++databases_, "_",
        ::testing::UnitTest::GetInstance()->current_test_info()->line());
    if (GetParam() == Kind::kSqlite) {
      location_ = absl::StrCat(testing::MakeTestDirectory(), "/", name, ".db");
    } else {
      absl::StatusOr<std::string> conninfo = server_->CreateDatabase(name);
      ASSERT_TRUE(conninfo.ok()) << conninfo.status();
      location_ = *conninfo;
    }
    store_ = OpenStore("opsctld-a");
    ASSERT_NE(store_, nullptr);
  }

  std::unique_ptr<AuditStore> OpenStore(const std::string& controller) {
    absl::StatusOr<std::unique_ptr<AuditStore>> store;
    if (GetParam() == Kind::kSqlite) {
      store = AuditStore::Open(location_);
    } else {
      absl::StatusOr<std::unique_ptr<PostgresAuditStore>> pg =
          PostgresAuditStore::Open(location_, controller);
      if (pg.ok()) {
        store = std::unique_ptr<AuditStore>(*std::move(pg));
      } else {
        store = pg.status();
      }
    }
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Runs `sql` on the log behind the store's back, as someone with the
  // database's credentials could.
  void Tamper(const std::string& sql) {
    if (GetParam() == Kind::kSqlite) {
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open(location_.c_str(), &db), SQLITE_OK);
      char* error = nullptr;
      EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error),
                SQLITE_OK)
          << (error ? error : "");
      sqlite3_free(error);
      sqlite3_close(db);
    } else {
      absl::StatusOr<std::unique_ptr<PgConnection>> db =
          PgConnection::Connect(location_, "tampering");
      ASSERT_TRUE(db.ok()) << db.status();
      EXPECT_TRUE((*db)->Exec("tampering", sql).ok());
    }
  }

  int64_t Rows(v1::AuditQuery filter = {}) {
    filter.set_limit(1000000);
    absl::StatusOr<std::vector<v1::AuditEntry>> rows = store_->Query(filter);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? static_cast<int64_t>(rows->size()) : -1;
  }

  static testing::PostgresServer* server_;
  static int databases_;
  std::string location_;
  std::unique_ptr<AuditStore> store_;
};

testing::PostgresServer* AuditStoreContractTest::server_ = nullptr;
int AuditStoreContractTest::databases_ = 0;

TEST_P(AuditStoreContractTest, AnIntentAndItsOutcomeRoundTripAndFilter) {
  absl::StatusOr<int64_t> id =
      store_->RecordIntent(Intent("r1", "xqwatcher-1", 1000, "INC-42"));
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(store_->RecordIntent(Intent("r2", "salt-master", 2000)).ok());
  v1::AuditQuery pending;
  pending.set_outcome(v1::OUTCOME_PENDING);
  EXPECT_EQ(Rows(pending), 2);
  ASSERT_TRUE(store_
                  ->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK, 1500, "",
                                                    "", "restarted"))
                  .ok());
  v1::AuditQuery by_incident;
  by_incident.set_incident("INC-42");
  absl::StatusOr<std::vector<v1::AuditEntry>> rows = store_->Query(by_incident);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  const v1::AuditEntry& row = (*rows)[0];
  EXPECT_EQ(row.id(), *id);
  EXPECT_EQ(row.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(row.intent().host(), "xqwatcher-1");
  EXPECT_EQ(row.intent().os_uid(), 1000);
  EXPECT_TRUE(row.intent().mutating());
  EXPECT_EQ(row.result().summary(), "restarted");
  EXPECT_EQ(row.result().finished_at_ms(), 1500);
  v1::AuditQuery by_operator;
  by_operator.set_operator_name("alice-cert");
  by_operator.set_host("salt-master");
  EXPECT_EQ(Rows(by_operator), 1);
  v1::AuditQuery newest;
  newest.set_limit(1);
  rows = store_->Query(newest);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].intent().request_id(), "r2");
  absl::StatusOr<std::string> verified = store_->Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_THAT(*verified, HasSubstr("3 events verified"));
}

TEST_P(AuditStoreContractTest, ConcurrentCallersLoseNothingAndChainOnce) {
  constexpr int kThreads = 40;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> ids(kThreads);
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        absl::StatusOr<int64_t> id = store_->RecordIntent(
            Intent(absl::StrCat("c", t, "-", i), "web-1", 1000 + i));
        if (!id.ok() ||
            !store_->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK, 2000))
                 .ok()) {
          ++failures;
          continue;
        }
        ids[t].push_back(*id);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<int64_t> distinct;
  for (const auto& some : ids) distinct.insert(some.begin(), some.end());
  EXPECT_EQ(distinct.size(), size_t{kThreads * kEach});
  EXPECT_EQ(*distinct.begin(), 1);
  EXPECT_EQ(*distinct.rbegin(), kThreads * kEach);  // dense: no gaps
  v1::AuditQuery done;
  done.set_outcome(v1::OUTCOME_OK);
  EXPECT_EQ(Rows(done), kThreads * kEach);
  absl::StatusOr<std::string> verified = store_->Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_THAT(*verified, HasSubstr(absl::StrCat(2 * kThreads * kEach,
                                                " events verified")));
}

TEST_P(AuditStoreContractTest, AFanOutOfThousandsCommitsAsOne) {
  // More rows than one PostgreSQL statement takes: written in slices, in
  // one transaction.
  constexpr int kHosts = 4500;
  std::vector<v1::AuditIntent> intents;
  for (int i = 0; i < kHosts; ++i)
    intents.push_back(Intent(absl::StrCat("f", i), absl::StrCat("h", i), i));
  absl::StatusOr<std::vector<int64_t>> ids = store_->Commit(intents, {});
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_EQ(ids->size(), size_t{kHosts});
  EXPECT_EQ(ids->back() - ids->front(), kHosts - 1);
  std::vector<std::pair<int64_t, v1::AuditResult>> results;
  for (int64_t id : *ids)
    results.emplace_back(id, AuditResultOf(v1::OUTCOME_OK, kHosts + id));
  // One outcome is for a row that does not exist: nothing is written.
  results.emplace_back(ids->back() + 1, AuditResultOf(v1::OUTCOME_OK, 1));
  EXPECT_FALSE(store_->Commit({}, results).ok());
  v1::AuditQuery done;
  done.set_outcome(v1::OUTCOME_OK);
  EXPECT_EQ(Rows(done), 0);
  results.pop_back();
  ASSERT_TRUE(store_->Commit({}, results).ok());
  EXPECT_EQ(Rows(done), kHosts);
  absl::StatusOr<std::string> verified = store_->Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_THAT(*verified,
              HasSubstr(absl::StrCat(2 * kHosts, " events verified")));
}

TEST_P(AuditStoreContractTest, AWriteThatCannotBeMadeChangesNothingElse) {
  absl::StatusOr<int64_t> id = store_->RecordIntent(Intent("r1", "web-1", 1));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store_->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK, 2)).ok());
  // A second outcome for the row, and a row that does not exist.
  absl::Status again =
      store_->RecordResult(*id, AuditResultOf(v1::OUTCOME_ERROR, 3));
  EXPECT_TRUE(absl::IsFailedPrecondition(again)) << again;
  EXPECT_THAT(again.message(), HasSubstr("already has an outcome"));
  EXPECT_FALSE(
      store_->RecordResult(999, AuditResultOf(v1::OUTCOME_OK, 3)).ok());
  // A request id used twice.
  EXPECT_FALSE(store_->RecordIntent(Intent("r1", "web-2", 4)).ok());
  // Nothing else happened: one row, still ok, and the chain holds.
  EXPECT_EQ(Rows(), 1);
  absl::StatusOr<std::vector<v1::AuditEntry>> rows = store_->Query({});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].outcome(), v1::OUTCOME_OK);
  absl::StatusOr<std::string> verified = store_->Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_THAT(*verified, HasSubstr("2 events verified"));
  // Merged with other callers' writes, a bad one fails alone.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 20; ++t) {
    threads.emplace_back([&, t] {
      if (t == 7) {
        EXPECT_FALSE(
            store_->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK, 5)).ok());
      } else if (store_->RecordIntent(Intent(absl::StrCat("m", t), "w", 5))
                     .ok()) {
        ++ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 19);
  EXPECT_EQ(Rows(), 20);
}

TEST_P(AuditStoreContractTest, CheckpointsSignVerifyAndExportInOrder) {
  const std::string key = testing::MakeTestDirectory() + "/checkpoint.key";
  ASSERT_TRUE(testing::WriteEd25519Key(key).ok());
  absl::StatusOr<std::unique_ptr<CheckpointSigner>> signer =
      CheckpointSigner::FromKeyFile(key);
  ASSERT_TRUE(signer.ok()) << signer.status();
  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> verifier =
      CheckpointVerifier::FromPem((*signer)->public_key_pem());
  ASSERT_TRUE(verifier.ok());
  absl::StatusOr<bool> lease = store_->HoldsSigningLease();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_TRUE(*lease);
  ASSERT_TRUE(store_->RecordIntent(Intent("r1", "web-1", Now())).ok());
  auto first = store_->SignCheckpoint(**signer, absl::Now(), std::nullopt);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->number(), 1);
  EXPECT_EQ((*first)->last_seq(), 1);
  ASSERT_TRUE(store_->RecordIntent(Intent("r2", "web-1", Now())).ok());
  // Signing again from a stale idea of the last checkpoint is refused.
  auto stale = store_->SignCheckpoint(**signer, absl::Now(), std::nullopt);
  EXPECT_TRUE(absl::IsDataLoss(stale.status())) << stale.status();
  auto second = store_->SignCheckpoint(**signer, absl::Now(), **first);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->previous_signature(), (*first)->signature());
  ASSERT_TRUE(store_->RecordIntent(Intent("r3", "web-1", Now())).ok());
  absl::StatusOr<CheckpointState> state = store_->GetCheckpointState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->unsigned_events, 1);
  VerifyOptions options;
  options.checkpoint_key = verifier->get();
  options.exported = {**first, **second};
  absl::StatusOr<std::string> verified = store_->Verify(options);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_THAT(*verified, HasSubstr("2 checkpoint(s)"));
  // Export: event 1, checkpoint 1, event 2, checkpoint 2, event 3.
  absl::StatusOr<std::vector<v1::ExportAuditItem>> items =
      store_->Export({}, 100);
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 5u);
  EXPECT_TRUE((*items)[1].has_checkpoint());
  EXPECT_TRUE((*items)[3].has_checkpoint());
  EXPECT_EQ((*items)[4].seq(), 3);
  EXPECT_EQ((*items)[4].entry().intent().request_id(), "r3");
  // Resumed from a cursor, only what follows.
  absl::StatusOr<AuditCursor> cursor = AuditCursor::Parse((*items)[2].cursor());
  ASSERT_TRUE(cursor.ok());
  items = store_->Export(*cursor, 100);
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->size(), 2u);
  // A deleted checkpoint is caught.
  Tamper("DELETE FROM audit_checkpoints WHERE number = 2");
  verified = store_->Verify(options);
  EXPECT_TRUE(absl::IsDataLoss(verified.status())) << verified.status();
}

TEST_P(AuditStoreContractTest, RowsChangedBehindTheStoreAreNamed) {
  for (int i = 1; i <= 3; ++i) {
    absl::StatusOr<int64_t> id =
        store_->RecordIntent(Intent(absl::StrCat("r", i), "web-1", i));
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(
        store_->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK, 10 + i)).ok());
  }
  ASSERT_TRUE(store_->Verify().ok());
  Tamper("UPDATE actions SET outcome = 'error' WHERE id = 2");
  absl::StatusOr<std::string> verified = store_->Verify();
  EXPECT_TRUE(absl::IsDataLoss(verified.status())) << verified.status();
  EXPECT_THAT(verified.status().message(), HasSubstr("row 2 was edited"));
  Tamper("UPDATE actions SET outcome = 'ok' WHERE id = 2");
  ASSERT_TRUE(store_->Verify().ok());
  Tamper("DELETE FROM actions WHERE id = 3");
  verified = store_->Verify();
  EXPECT_THAT(verified.status().message(), HasSubstr("row 3 was deleted"));
}

TEST_P(AuditStoreContractTest, SettlingAfterACrashCompletesOnlyOwnRows) {
  ASSERT_TRUE(store_->RecordIntent(Intent("mine", "web-1", 1)).ok());
  std::unique_ptr<AuditStore> other = OpenStore("opsctld-b");
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->RecordIntent(Intent("theirs", "web-2", 2)).ok());
  absl::StatusOr<int64_t> settled = store_->SettleInterrupted(absl::Now());
  ASSERT_TRUE(settled.ok()) << settled.status();
  v1::AuditQuery pending;
  pending.set_outcome(v1::OUTCOME_PENDING);
  if (GetParam() == Kind::kPostgres) {
    // The other controller's call is its own, in flight: left alone.
    EXPECT_EQ(*settled, 1);
    EXPECT_EQ(Rows(pending), 1);
  } else {
    // One file, one controller: every pending row was this process's.
    EXPECT_EQ(*settled, 2);
    EXPECT_EQ(Rows(pending), 0);
  }
  v1::AuditQuery unknown;
  unknown.set_outcome(v1::OUTCOME_UNKNOWN);
  unknown.set_host("web-1");
  EXPECT_EQ(Rows(unknown), 1);
  EXPECT_TRUE(store_->Verify().ok());
}

INSTANTIATE_TEST_SUITE_P(BothStores, AuditStoreContractTest,
                         ::testing::Values(Kind::kSqlite, Kind::kPostgres),
                         KindName);

// What only a log several controllers share must do.
class SharedPostgresLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<testing::PostgresServer>> server =
        testing::PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    absl::StatusOr<std::string> conninfo = server_->CreateDatabase("team");
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    conninfo_ = *conninfo;
  }

  std::unique_ptr<PostgresAuditStore> Open(const std::string& controller) {
    auto store = PostgresAuditStore::Open(conninfo_, controller);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::unique_ptr<testing::PostgresServer> server_;
  std::string conninfo_;
};

TEST_F(SharedPostgresLogTest, TwoControllersAppendingAtOnceMakeOneChain) {
  std::unique_ptr<PostgresAuditStore> a = Open("opsctld-a");
  std::unique_ptr<PostgresAuditStore> b = Open("opsctld-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 16; ++t) {
    AuditStore* store = t % 2 == 0 ? a.get() : b.get();
    threads.emplace_back([&, t, store] {
      for (int i = 0; i < 30; ++i) {
        absl::StatusOr<int64_t> id = store->RecordIntent(
            Intent(absl::StrCat("t", t, "-", i), "web-1", i));
        if (!id.ok() ||
            !store->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK, i)).ok())
          ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  // One chain, whichever controller verifies it.
  for (AuditStore* store :
       {static_cast<AuditStore*>(a.get()), static_cast<AuditStore*>(b.get())}) {
    absl::StatusOr<std::string> verified = store->Verify();
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_THAT(*verified, HasSubstr("960 events verified"));
  }
}

TEST_F(SharedPostgresLogTest, AServerRestartedMidAppendLosesNoAcknowledgedRow) {
  std::unique_ptr<PostgresAuditStore> store = Open("opsctld-a");
  ASSERT_NE(store, nullptr);
  std::atomic<bool> stop{false};
  std::vector<std::string> acknowledged;
  std::vector<std::string> refused_messages;
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string id = absl::StrCat("w", i);
      absl::StatusOr<int64_t> row = store->RecordIntent(Intent(id, "web-1", i));
      if (row.ok()) {
        acknowledged.push_back(id);
      } else {
        refused_messages.push_back(std::string(row.status().message()));
        absl::SleepFor(absl::Milliseconds(50));
      }
    }
  });
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_TRUE(server_->Stop().ok());
  absl::SleepFor(absl::Seconds(1));
  ASSERT_TRUE(server_->Restart().ok());
  const size_t before = acknowledged.size();
  // It resumes by itself.
  EXPECT_TRUE(testing::Eventually(
      [&] { return acknowledged.size() > before + 10; }, absl::Seconds(30)));
  stop = true;
  writer.join();
  ASSERT_FALSE(refused_messages.empty());
  EXPECT_THAT(refused_messages.front(), HasSubstr("PostgreSQL"));
  // Every append it acknowledged is there, and the chain holds.
  v1::AuditQuery all;
  all.set_limit(1000000);
  absl::StatusOr<std::vector<v1::AuditEntry>> rows = store->Query(all);
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::set<std::string> present;
  for (const v1::AuditEntry& row : *rows)
    present.insert(row.intent().request_id());
  for (const std::string& id : acknowledged)
    EXPECT_TRUE(present.count(id)) << id << " was acknowledged and is gone";
  absl::StatusOr<std::string> verified = store->Verify({});
  EXPECT_TRUE(verified.ok()) << verified.status();
}

// Runs `sql` on the SQLite file at `path` behind opsctl's back.
void Tamper(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
}

// Runs `sql` as someone with the database's credentials.
void AsDba(const std::string& conninfo, const std::string& sql) {
  auto db = PgConnection::Connect(conninfo, "dba");
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->ExecScript("tampering", sql).ok()) << sql;
}

TEST_F(SharedPostgresLogTest, AMovedHeadOrACutTailIsRefusedNotAppendedTo) {
  std::unique_ptr<PostgresAuditStore> store = Open("opsctld-a");
  ASSERT_NE(store, nullptr);
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(store->RecordIntent(Intent(absl::StrCat("r", i), "w", i)).ok());
  // The head row pointed elsewhere: nothing is appended onto it.
  AsDba(conninfo_, "UPDATE audit_head SET hash = repeat('a', 64)");
  absl::StatusOr<int64_t> refused =
      store->RecordIntent(Intent("after-edit", "w", 4));
  EXPECT_TRUE(absl::IsDataLoss(refused.status())) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("changed outside opsctld"));
  AsDba(conninfo_,
        "UPDATE audit_head SET hash = (SELECT hash FROM audit_chain WHERE "
        "seq = 3)");
  ASSERT_TRUE(store->RecordIntent(Intent("r4", "w", 4)).ok());
  // The tail cut, the head moved back to match: consistent, and still
  // caught by the controller that wrote what was cut.
  AsDba(conninfo_,
        "BEGIN; DELETE FROM audit_chain WHERE seq = 4; DELETE FROM actions "
        "WHERE id = 4; UPDATE audit_head SET seq = 3, action_id = 3, hash = "
        "(SELECT hash FROM audit_chain WHERE seq = 3); COMMIT");
  refused = store->RecordIntent(Intent("after-cut", "w", 5));
  EXPECT_TRUE(absl::IsDataLoss(refused.status())) << refused.status();
  EXPECT_THAT(refused.status().message(),
              HasSubstr("which this controller wrote, was deleted"));
  v1::AuditQuery all;
  all.set_limit(100);
  auto rows = store->Query(all);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 3u);  // nothing was added on top
}

TEST_F(SharedPostgresLogTest, AControllerWhoseNameWasTakenStopsWriting) {
  std::unique_ptr<PostgresAuditStore> a = Open("opsctld-a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->RecordIntent(Intent("r1", "w", 1)).ok());
  // A's writing session is cut off, and a second controller under A's
  // name starts meanwhile.
  AsDba(conninfo_,
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "
        "'advisory' AND classid = 7062");
  std::unique_ptr<PostgresAuditStore> twin = Open("opsctld-a");
  ASSERT_NE(twin, nullptr);
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<int64_t> refused =
        a->RecordIntent(Intent(absl::StrCat("late", i), "w", 2));
    EXPECT_TRUE(absl::IsFailedPrecondition(refused.status()))
        << refused.status();
    EXPECT_THAT(refused.status().message(),
                HasSubstr("another opsctld named \"opsctld-a\""));
  }
}

TEST_F(SharedPostgresLogTest, WhichControllerWroteARowIsChained) {
  std::unique_ptr<PostgresAuditStore> a = Open("opsctld-a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->RecordIntent(Intent("r1", "w", 1)).ok());
  auto rows = a->Query({});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].intent().controller(), "opsctld-a");
  ASSERT_TRUE(a->Verify({}).ok());
  // Handing the pending row to another controller (which would settle it
  // as interrupted) is an edit like any other.
  AsDba(conninfo_, "UPDATE actions SET controller = 'opsctld-b'");
  absl::StatusOr<std::string> verified = a->Verify({});
  EXPECT_TRUE(absl::IsDataLoss(verified.status())) << verified.status();
  EXPECT_THAT(verified.status().message(), HasSubstr("row 1 was edited"));
}

TEST_F(SharedPostgresLogTest, AServerReachedWithoutProvingItselfIsRefused) {
  // The same server over loopback TCP: a neighbour could listen there
  // first. Refused before anything is read or written, whatever answers.
  for (const std::string& conninfo :
       {conninfo_ + " host=127.0.0.1 port=1",
        conninfo_ + " host=/tmp,127.0.0.1 sslmode=require",
        conninfo_ + " hostaddr=127.0.0.1 sslmode=verify-ca"}) {
    absl::StatusOr<std::unique_ptr<PostgresAuditStore>> store =
        PostgresAuditStore::Open(conninfo, "opsctld-a");
    EXPECT_FALSE(store.ok()) << conninfo;
    EXPECT_THAT(store.status().message(), HasSubstr("sslmode=verify-full"))
        << conninfo;
  }
}

TEST_F(SharedPostgresLogTest, ASqliteLogMigratesAndStillVerifies) {
  const std::string dir = testing::MakeTestDirectory();
  const std::string path = dir + "/team-audit.db";
  ASSERT_TRUE(testing::WriteEd25519Key(dir + "/checkpoint.key").ok());
  auto signer = CheckpointSigner::FromKeyFile(dir + "/checkpoint.key");
  ASSERT_TRUE(signer.ok());
  auto key = CheckpointVerifier::FromPem((*signer)->public_key_pem());
  ASSERT_TRUE(key.ok());
  std::vector<v1::AuditCheckpoint> exported;
  {
    auto sqlite = AuditStore::Open(path);
    ASSERT_TRUE(sqlite.ok()) << sqlite.status();
    for (int i = 0; i < 30; ++i) {
      auto id = (*sqlite)->RecordIntent(
          Intent(absl::StrCat("s", i), "web-1", Now(), "INC-7"));
      ASSERT_TRUE(id.ok());
      if (i < 29) {  // the last one left pending, as a killed controller's
        ASSERT_TRUE(
            (*sqlite)
                ->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK, Now()))
                .ok());
      }
      if (i % 10 == 9) {
        auto signed_now = (*sqlite)->SignCheckpoint(
            **signer, absl::Now(),
            exported.empty()
                ? std::nullopt
                : std::optional<v1::AuditCheckpoint>(exported.back()));
        ASSERT_TRUE(signed_now.ok()) << signed_now.status();
        exported.push_back(**signed_now);
      }
    }
  }
  VerifyOptions options;
  options.checkpoint_key = key->get();
  options.exported = exported;
  absl::StatusOr<std::string> before = VerifyAuditLog(path, options);
  ASSERT_TRUE(before.ok()) << before.status();

  std::unique_ptr<PostgresAuditStore> store = Open("opsctld-a");
  ASSERT_NE(store, nullptr);
  auto copied = MigrateSqliteLogToPostgres(path, conninfo_);
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(copied->rows, 30);
  EXPECT_EQ(copied->events, 59);
  EXPECT_EQ(copied->checkpoints, 3);
  // The same chain, the same signed checkpoints, the same head.
  absl::StatusOr<std::string> after = store->Verify(options);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->substr(after->find("head ")),
            before->substr(before->find("head ")));
  v1::AuditQuery incident;
  incident.set_incident("INC-7");
  auto rows = store->Query(incident);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 30u);
  // It goes on from there: the pending row is settled by the next
  // controller to start.
  auto settled = store->SettleInterrupted(absl::Now());
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(*settled, 1);
  auto next = store->RecordIntent(Intent("after", "web-2", Now()));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, 31);
  options.max_unsigned_age = absl::ZeroDuration();
  after = store->Verify(options);
  EXPECT_TRUE(after.ok()) << after.status();
  // Only into an empty log.
  auto again = MigrateSqliteLogToPostgres(path, conninfo_);
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
}

TEST_F(SharedPostgresLogTest, ALogThatDoesNotVerifyIsNotMigrated) {
  const std::string dir = testing::MakeTestDirectory() + "/refused";
  mkdir(dir.c_str(), 0700);
  const std::string path = dir + "/team-audit.db";
  {
    auto sqlite = AuditStore::Open(path);
    ASSERT_TRUE(sqlite.ok()) << sqlite.status();
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE(
          (*sqlite)->RecordIntent(Intent(absl::StrCat("s", i), "w", i)).ok());
  }
  Tamper(path, "UPDATE actions SET reason = 'innocent' WHERE id = 3");
  const std::string conninfo_file = dir + "/postgresql.conninfo";
  testing::WriteFileOrDie(conninfo_file, conninfo_);
  chmod(conninfo_file.c_str(), 0600);
  v1::OpsctldConfig config;
  config.mutable_postgresql()->set_conninfo_file(conninfo_file);
  config.mutable_postgresql()->set_controller_name("opsctld-m");
  absl::StatusOr<std::string> migrated = MigrateAuditLog(config, path);
  EXPECT_TRUE(absl::IsDataLoss(migrated.status())) << migrated.status();
  EXPECT_THAT(migrated.status().message(), HasSubstr("nothing was copied"));
  EXPECT_THAT(migrated.status().message(), HasSubstr("row 3 was edited"));
  // The PostgreSQL log is as empty as before: the real file can still go.
  std::unique_ptr<PostgresAuditStore> store = Open("opsctld-b");
  ASSERT_NE(store, nullptr);
  v1::AuditQuery all;
  auto rows = store->Query(all);
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
}

TEST_F(SharedPostgresLogTest, OneSignerAtATimeAndTheLeaseOutlivesNoController) {
  std::unique_ptr<PostgresAuditStore> a = Open("opsctld-a");
  std::unique_ptr<PostgresAuditStore> b = Open("opsctld-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  absl::StatusOr<bool> a_holds = a->HoldsSigningLease();
  ASSERT_TRUE(a_holds.ok()) << a_holds.status();
  EXPECT_TRUE(*a_holds);
  EXPECT_FALSE(*b->HoldsSigningLease());
  EXPECT_TRUE(*a->HoldsSigningLease());  // still, and not twice over
  // A second controller under a name in use is refused.
  auto twin = PostgresAuditStore::Open(conninfo_, "opsctld-a");
  EXPECT_TRUE(absl::IsFailedPrecondition(twin.status())) << twin.status();
  EXPECT_THAT(twin.status().message(), HasSubstr("controller_name"));
  a.reset();  // its sessions end, as a killed controller's do
  EXPECT_TRUE(testing::Eventually(
      [&] {
        absl::StatusOr<bool> holds = b->HoldsSigningLease();
        return holds.ok() && *holds;
      },
      absl::Seconds(10)));
}

}  // namespace
}  // namespace opsagent
