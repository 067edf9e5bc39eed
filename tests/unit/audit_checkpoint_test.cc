// Signed audit checkpoints against an attacker who can write the audit
// database (with sqlite3, knowing the chain's scheme) but cannot read the
// controller's checkpoint key: a rewritten chain, rows cut off the end, a
// deleted checkpoint and an older copy of the database must all be caught.

#include "controller/audit/audit_checkpoint.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "controller/audit/audit_chain.h"
#include "controller/audit/audit_schema.h"
#include "controller/audit/audit_store.h"
#include "controller/audit/checkpoint_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/audit_result.h"
#include "tests/testing/sqlite_file.h"
#include "tests/testing/test_pki.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  unlink(path.c_str());
  return path;
}

std::string WriteEd25519Key(const std::string& name) {
  const std::string path = TempPath(name);
  EXPECT_TRUE(testing::WriteEd25519Key(path).ok());
  return path;
}

v1::AuditIntent Intent(int i) {
  v1::AuditIntent intent;
  intent.set_request_id(absl::StrCat("r", i));
  intent.set_started_at_ms(absl::ToUnixMillis(absl::Now()));
  intent.set_os_user("alice");
  intent.set_cert_identity("alice");
  intent.set_host("xq-1");
  intent.set_address("xq-1:9443");
  intent.set_operation("truncate_log");
  intent.set_parameters_json("{\"path\":\"/var/log/xq.log\"}");
  intent.set_mutating(true);
  return intent;
}

class AuditCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name =
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    path_ = TempPath(name + ".db");
    auto signer = CheckpointSigner::FromKeyFile(WriteEd25519Key(name + ".key"));
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = *std::move(signer);
    auto verifier = CheckpointVerifier::FromPem(signer_->public_key_pem());
    ASSERT_TRUE(verifier.ok());
    verifier_ = *std::move(verifier);
    auto store = AuditStore::Open(path_);
    ASSERT_TRUE(store.ok());
    store_ = *std::move(store);
  }

  // Rows `from` to `to`, each intent and outcome: two chain events a row.
  void AddRows(int from, int to) {
    for (int i = from; i <= to; ++i) {
      auto id = store_->RecordIntent(Intent(i));
      ASSERT_TRUE(id.ok()) << id.status();
      ASSERT_TRUE(
          store_
              ->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK,
                                                absl::ToUnixMillis(absl::Now()),
                                                "", "", "truncated 8.2G"))
              .ok());
    }
  }

  v1::AuditCheckpoint Sign() {
    auto checkpoint = store_->SignCheckpoint(*signer_, absl::Now(), Last());
    EXPECT_TRUE(checkpoint.ok()) << checkpoint.status();
    EXPECT_TRUE(checkpoint.ok() && checkpoint->has_value());
    exported_.push_back(**checkpoint);
    return **checkpoint;
  }

  // What the controller's signer last signed.
  std::optional<v1::AuditCheckpoint> Last() const {
    if (exported_.empty()) return std::nullopt;
    return exported_.back();
  }

  void Tamper(const std::string& sql) {
    absl::Status done = testing::ExecSqlite(path_, sql);
    ASSERT_TRUE(done.ok()) << done;
  }

  // What an attacker who knows the scheme does after editing rows: recompute
  // every digest and hash so that the chain verifies again.
  void RecomputeChain() {
    v1::AuditQuery all;
    all.set_limit(1 << 20);
    auto records = store_->Query(all);
    ASSERT_TRUE(records.ok());
    std::map<int64_t, v1::AuditEntry> by_id;
    for (const v1::AuditEntry& r : *records) by_id[r.id()] = r;
    sqlite3* db;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* events;
    sqlite3_prepare_v2(db,
                       "SELECT seq, action_id, event FROM audit_chain ORDER "
                       "BY seq",
                       -1, &events, nullptr);
    std::string previous = GenesisHash(0);
    std::string sql;
    while (sqlite3_step(events) == SQLITE_ROW) {
      const int64_t seq = sqlite3_column_int64(events, 0);
      const int64_t id = sqlite3_column_int64(events, 1);
      const std::string event =
          reinterpret_cast<const char*>(sqlite3_column_text(events, 2));
      const v1::AuditEntry& r = by_id[id];
      const std::string digest =
          Sha256Hex(event == "intent" ? CanonicalIntent(id, r.intent())
                                      : CanonicalOutcome(id, r.result()));
      const std::string hash = ChainHash(previous, digest);
      absl::StrAppend(&sql, "UPDATE audit_chain SET digest = '", digest,
                      "', prev_hash = '", previous, "', hash = '", hash,
                      "' WHERE seq = ", seq, ";");
      previous = hash;
    }
    sqlite3_finalize(events);
    sqlite3_close(db);
    Tamper(sql);
  }

  absl::StatusOr<std::string> Verify(bool with_exported = false,
                                     const std::string& path = "") {
    VerifyOptions options;
    options.checkpoint_key = verifier_.get();
    if (with_exported) options.exported = exported_;
    auto store = AuditStore::Open(path.empty() ? path_ : path);
    if (!store.ok()) return store.status();
    return (*store)->Verify(options);
  }

  std::string path_;
  std::unique_ptr<CheckpointSigner> signer_;
  std::unique_ptr<CheckpointVerifier> verifier_;
  std::unique_ptr<AuditStore> store_;
  std::vector<v1::AuditCheckpoint> exported_;
};

TEST_F(AuditCheckpointTest, SignedLogVerifies) {
  AddRows(1, 3);
  const v1::AuditCheckpoint first = Sign();
  EXPECT_EQ(first.number(), 1);
  EXPECT_EQ(first.first_seq(), 1);
  EXPECT_EQ(first.last_seq(), 6);
  EXPECT_EQ(first.previous_signature(), "");
  AddRows(4, 4);
  const v1::AuditCheckpoint second = Sign();
  EXPECT_EQ(second.first_seq(), 7);
  EXPECT_EQ(second.previous_signature(), first.signature());
  // Nothing new: nothing to sign.
  auto none = store_->SignCheckpoint(*signer_, absl::Now(), Last());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  AddRows(5, 5);
  absl::StatusOr<std::string> verified = Verify(/*with_exported=*/true);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_THAT(*verified,
              HasSubstr(absl::StrCat("10 events verified; 2 checkpoint(s) "
                                     "signed by key ",
                                     signer_->key_id(), " verified")));
  EXPECT_THAT(*verified, HasSubstr("signs events to 8, 2 event(s) since"));
  EXPECT_THAT(*verified, HasSubstr("2 exported checkpoint(s) match"));
}

TEST_F(AuditCheckpointTest, EditedRowWithTheChainRecomputedIsCaught) {
  AddRows(1, 4);
  Sign();
  Tamper("UPDATE actions SET os_user = 'mallory' WHERE id = 2");
  RecomputeChain();
  // The chain alone no longer shows it: the attack is real...
  VerifyOptions chain_only;
  chain_only.checkpoint_key = verifier_.get();
  Tamper(
      "CREATE TABLE saved AS SELECT * FROM audit_checkpoints; DELETE FROM "
      "audit_checkpoints");
  EXPECT_TRUE((*AuditStore::Open(path_))->Verify(chain_only).ok());
  Tamper("INSERT INTO audit_checkpoints SELECT * FROM saved");
  // ...and the signed checkpoint catches it.
  EXPECT_THAT(Verify().status().message(),
              HasSubstr("events up to 8 no longer end in the head that "
                        "checkpoint 1 signed"));
}

TEST_F(AuditCheckpointTest, RowsDeletedAtTheTailAreCaught) {
  AddRows(1, 5);
  Sign();
  Tamper(
      "DELETE FROM actions WHERE id >= 4; DELETE FROM audit_chain WHERE "
      "action_id >= 4");
  EXPECT_THAT(Verify().status().message(),
              HasSubstr("events 7 to 10 were deleted from the end: checkpoint "
                        "1 signed them"));
}

TEST_F(AuditCheckpointTest, ADeletedCheckpointIsCaught) {
  for (int i = 1; i <= 3; ++i) {
    AddRows(i, i);
    Sign();
  }
  Tamper("DELETE FROM audit_checkpoints WHERE number = 2");
  EXPECT_THAT(Verify().status().message(),
              HasSubstr("checkpoint 2 deleted: the checkpoints jump from 1 "
                        "to 3"));
}

TEST_F(AuditCheckpointTest, TheNewestCheckpointDeletedIsCaughtByItsCopy) {
  for (int i = 1; i <= 3; ++i) {
    AddRows(i, i);
    Sign();
  }
  // The newest checkpoint and the rows it signed, cut off together: what is
  // left is consistent in itself...
  Tamper(
      "DELETE FROM audit_checkpoints WHERE number = 3; DELETE FROM actions "
      "WHERE id = 3; DELETE FROM audit_chain WHERE action_id = 3");
  EXPECT_TRUE(Verify().ok());
  // ...but not with the checkpoints exported outside the database.
  EXPECT_THAT(Verify(/*with_exported=*/true).status().message(),
              HasSubstr("checkpoint 3 (signed "));
  EXPECT_THAT(Verify(/*with_exported=*/true).status().message(),
              HasSubstr("was exported but the database ends at checkpoint 2"));
}

// Deleting the newest checkpoint leaves its events looking like a young
// unsigned tail; only their age gives it away. Waits for a condition (the
// events outgrow a 1 ms bound), never for a window a loaded machine could
// overrun.
TEST_F(AuditCheckpointTest, TheNewestCheckpointDeletedIsCaughtByItsAge) {
  AddRows(1, 2);
  Sign();
  AddRows(3, 3);
  Sign();
  VerifyOptions options;
  options.checkpoint_key = verifier_.get();
  options.max_unsigned_age = absl::Milliseconds(1);
  // Every event is signed: no age applies, however long this took.
  EXPECT_TRUE(store_->Verify(options).ok());
  Tamper("DELETE FROM audit_checkpoints WHERE number = 2");
  // Young, the deleted checkpoint's events pass for a tail not signed yet.
  VerifyOptions lenient = options;
  lenient.max_unsigned_age = absl::Hours(1);
  EXPECT_TRUE(store_->Verify(lenient).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::StatusOr<std::string> verified = store_->Verify(options);
  while (verified.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
    verified = store_->Verify(options);
  }
  EXPECT_THAT(verified.status().message(), HasSubstr("event 5, recorded "));
  EXPECT_THAT(verified.status().message(), HasSubstr("is in no checkpoint"));
}

TEST_F(AuditCheckpointTest, AnUnsignedTailDatedOddlyIsCaught) {
  AddRows(1, 2);
  Sign();
  AddRows(3, 3);
  EXPECT_TRUE(Verify().ok());
  // Dated before the newest checkpoint: back-dated (or its checkpoint was
  // deleted and the rows moved to pass for older ones).
  Tamper(
      "UPDATE actions SET started_at_ms = started_at_ms - 3600000, "
      "finished_at_ms = finished_at_ms - 3600000 WHERE id = 3");
  RecomputeChain();
  EXPECT_THAT(Verify().status().message(),
              HasSubstr("is dated before the newest one"));
  // Dated in the future, to look fresh.
  Tamper(
      "UPDATE actions SET started_at_ms = started_at_ms + 7200000, "
      "finished_at_ms = finished_at_ms + 7200000 WHERE id = 3");
  RecomputeChain();
  EXPECT_THAT(Verify().status().message(), HasSubstr("is dated in the future"));
}

// The attack of our own run: rebuild an index as a partial one without row
// 2 and put the full definition back into sqlite_master, so that every
// query through the index misses the row while table and chain are intact.
TEST_F(AuditCheckpointTest, AnIndexThatHidesRowsIsCaught) {
  AddRows(1, 3);
  Sign();
  Tamper(
      "DROP INDEX actions_by_host; CREATE INDEX actions_by_host ON actions "
      "(host, started_at_ms) WHERE id != 2; PRAGMA writable_schema = ON; "
      "UPDATE sqlite_master SET sql = 'CREATE INDEX actions_by_host ON actions "
      "(host, started_at_ms)' WHERE name = 'actions_by_host'");
  v1::AuditQuery by_host;
  by_host.set_host("xq-1");
  auto hidden = (*AuditStore::Open(path_))->Query(by_host);
  ASSERT_TRUE(hidden.ok());
  EXPECT_EQ(hidden->size(), 2u);  // the attack works on queries...
  // ...and verify says so.
  EXPECT_THAT(Verify().status().message(),
              HasSubstr("the index actions_by_host holds 2 rows where the "
                        "table has 3: rows are hidden from queries"));
}

// The same attack on every index `opsctl audit` reads through, the partial
// ones (incident, run, ticket) included: each is named, and REINDEX puts
// it right.
TEST_F(AuditCheckpointTest, EveryIndexThatHidesRowsIsCaught) {
  for (int i = 1; i <= 3; ++i) {
    v1::AuditIntent intent = Intent(i);
    intent.set_incident("INC-1");
    intent.set_run_id("run-1");
    intent.set_ticket("CHG-1");
    auto id = store_->RecordIntent(intent);
    ASSERT_TRUE(id.ok()) << id.status();
    ASSERT_TRUE(store_
                    ->RecordResult(*id, AuditResultOf(v1::OUTCOME_OK,
                                                      intent.started_at_ms()))
                    .ok());
  }
  Sign();
  ASSERT_TRUE(Verify().ok()) << Verify().status();
  ASSERT_EQ(AuditIndexes().size(), 9u);
  for (const AuditIndex& index : AuditIndexes()) {
    SCOPED_TRACE(index.name);
    std::string sql;
    {
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
      sqlite3_stmt* select = nullptr;
      sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name = ?1",
                         -1, &select, nullptr);
      sqlite3_bind_text(select, 1, index.name, -1, SQLITE_STATIC);
      if (sqlite3_step(select) == SQLITE_ROW)
        sql = reinterpret_cast<const char*>(sqlite3_column_text(select, 0));
      sqlite3_finalize(select);
      sqlite3_close(db);
    }
    ASSERT_FALSE(sql.empty());
    const std::string partial = absl::StrCat(
        sql, absl::StrContains(sql, " WHERE ") ? " AND" : " WHERE", " id != 2");
    Tamper(absl::StrCat("DROP INDEX ", index.name, "; ", partial,
                        "; PRAGMA writable_schema = ON; UPDATE sqlite_master "
                        "SET sql = '",
                        absl::StrReplaceAll(sql, {{"'", "''"}}),
                        "' WHERE name = '", index.name, "'"));
    EXPECT_THAT(Verify().status().message(),
                HasSubstr(absl::StrCat("the index ", index.name,
                                       " holds 2 rows where the table has 3")));
    Tamper("REINDEX");
    EXPECT_TRUE(Verify().ok()) << Verify().status();
  }
}

// opsctld exports a checkpoint before the database commits it: a failed
// export leaves nothing signed, and one exported whose commit then failed
// is taken back only while the chain still ends in its head.
TEST_F(AuditCheckpointTest, ACheckpointIsCommittedOnlyAfterItsExport) {
  AddRows(1, 2);
  Sign();
  AddRows(3, 4);
  std::optional<v1::AuditCheckpoint> exported;
  auto failing_export = [&](const v1::AuditCheckpoint& c) {
    exported = c;
    return absl::UnavailableError("export file full");
  };
  auto refused =
      store_->SignCheckpoint(*signer_, absl::Now(), Last(), failing_export);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("export file full"));
  ASSERT_TRUE(exported.has_value());
  EXPECT_EQ(store_->Checkpoints()->size(), 1u);  // nothing signed

  // As if the export had been written and the commit had failed: the
  // database takes it back, once.
  ASSERT_TRUE(store_->AdoptCheckpoint(*exported).ok());
  ASSERT_EQ(store_->Checkpoints()->size(), 2u);
  EXPECT_TRUE(SameCheckpoint(store_->Checkpoints()->back(), *exported));
  EXPECT_FALSE(store_->AdoptCheckpoint(*exported).ok());
  exported_.push_back(*exported);
  EXPECT_TRUE(Verify().ok()) << Verify().status();

  // One whose events were cut from the database is not taken back.
  AddRows(5, 6);
  exported.reset();
  ASSERT_FALSE(
      store_->SignCheckpoint(*signer_, absl::Now(), Last(), failing_export)
          .ok());
  ASSERT_TRUE(exported.has_value());
  Tamper(absl::StrCat("DELETE FROM audit_chain WHERE seq = ",
                      exported->last_seq()));
  absl::Status cut = store_->AdoptCheckpoint(*exported);
  EXPECT_TRUE(absl::IsDataLoss(cut)) << cut;
  EXPECT_EQ(store_->Checkpoints()->size(), 2u);
}

TEST_F(AuditCheckpointTest, AnOlderCopyOfTheDatabaseIsCaught) {
  AddRows(1, 2);
  Sign();
  const std::string older = TempPath("older.db");
  Tamper(absl::StrCat("VACUUM INTO '", older, "'"));
  AddRows(3, 4);
  Sign();
  EXPECT_TRUE(Verify(/*with_exported=*/true).ok());
  // The older copy is consistent, signatures and all...
  EXPECT_TRUE(Verify(false, older).ok());
  // ...but lacks a checkpoint that was exported.
  EXPECT_THAT(Verify(/*with_exported=*/true, older).status().message(),
              HasSubstr("swapped for an older copy"));
}

TEST_F(AuditCheckpointTest, ForgedOrAlteredCheckpointsAreRefused) {
  AddRows(1, 2);
  Sign();
  // Signed with another key, as an attacker without the controller's key
  // would have to.
  auto other = CheckpointSigner::FromKeyFile(WriteEd25519Key("other.key"));
  ASSERT_TRUE(other.ok());
  Tamper("DELETE FROM audit_checkpoints");
  auto forged = store_->SignCheckpoint(**other, absl::Now(), std::nullopt);
  ASSERT_TRUE(forged.ok() && forged->has_value());
  EXPECT_THAT(Verify().status().message(),
              HasSubstr("names key " + (*other)->key_id()));
  // Passing it off under the real key's id.
  Tamper(absl::StrCat("UPDATE audit_checkpoints SET key_id = '",
                      signer_->key_id(), "'"));
  EXPECT_THAT(Verify().status().message(),
              HasSubstr("checkpoint 1 is not signed by the key given: forged "
                        "or altered"));
  // The real one with one field changed.
  Tamper("DELETE FROM audit_checkpoints");
  const v1::AuditCheckpoint real =
      *store_->SignCheckpoint(*signer_, absl::Now(), std::nullopt).value();
  Tamper("UPDATE audit_checkpoints SET signed_at_ms = signed_at_ms + 1");
  EXPECT_THAT(Verify().status().message(),
              HasSubstr("is not signed by the key given"));
  EXPECT_TRUE(verifier_->Check(real).ok());
}

TEST_F(AuditCheckpointTest, ALogWithCheckpointsIsNotVerifiedWithoutTheKey) {
  AddRows(1, 1);
  Sign();
  absl::StatusOr<std::string> verified = store_->Verify({});
  EXPECT_TRUE(absl::IsFailedPrecondition(verified.status()));
  EXPECT_THAT(verified.status().message(),
              HasSubstr("give the controller's checkpoint key"));
}

TEST_F(AuditCheckpointTest, AnEditedUnsignedRowIsNotSigned) {
  AddRows(1, 2);
  Sign();
  AddRows(3, 3);
  Tamper("UPDATE actions SET host = 'elsewhere' WHERE id = 3");
  auto refused = store_->SignCheckpoint(*signer_, absl::Now(), Last());
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(),
              HasSubstr("refusing to sign audit checkpoint 2: row 3 was "
                        "edited"));
  auto state = store_->GetCheckpointState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->last->number(), 1);  // nothing was signed
  EXPECT_EQ(state->unsigned_events, 2);
}

// The attack of our own run: delete the checkpoints, rewrite the rows,
// recompute the chain, and let the controller sign it all again under the
// numbers it used before.
TEST_F(AuditCheckpointTest, TheSignerDoesNotSignOverDeletedCheckpoints) {
  AddRows(1, 2);
  Sign();
  Tamper(
      "DELETE FROM audit_checkpoints; UPDATE actions SET reason = 'hidden' "
      "WHERE id = 1");
  RecomputeChain();
  AddRows(3, 3);
  auto refused = store_->SignCheckpoint(*signer_, absl::Now(), Last());
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(),
              HasSubstr("refusing to sign: the audit log's newest checkpoint "
                        "is missing, not the one signed last (number 1)"));
  // A replaced one is refused as well.
  Tamper("DELETE FROM audit_checkpoints");
  auto other = CheckpointSigner::FromKeyFile(WriteEd25519Key("other2.key"));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(store_->SignCheckpoint(**other, absl::Now(), std::nullopt).ok());
  EXPECT_FALSE(store_->SignCheckpoint(*signer_, absl::Now(), Last()).ok());
}

TEST_F(AuditCheckpointTest, ExportResumesAtItsCursorWithCheckpointsInPlace) {
  AddRows(1, 2);
  Sign();  // events 1-4
  AddRows(3, 3);
  // Read in pages of 2, as a SIEM following the log would.
  std::vector<std::string> lines;
  AuditCursor cursor;
  auto read_all = [&] {
    for (;;) {
      auto items = store_->Export(cursor, 2);
      ASSERT_TRUE(items.ok()) << items.status();
      for (const v1::ExportAuditItem& item : *items) {
        lines.push_back(
            item.has_checkpoint()
                ? absl::StrCat("checkpoint ", item.checkpoint().number())
                : absl::StrCat(item.seq(), " ", item.event(), " row ",
                               item.entry().id()));
        cursor = *AuditCursor::Parse(item.cursor());
      }
      if (items->size() < 2) return;
    }
  };
  read_all();
  EXPECT_THAT(lines, ::testing::ElementsAre("1 intent row 1", "2 outcome row 1",
                                            "3 intent row 2", "4 outcome row 2",
                                            "checkpoint 1", "5 intent row 3",
                                            "6 outcome row 3"));
  EXPECT_EQ(cursor.ToString(), "6.1");
  // A checkpoint signed after its events were read comes on the next read.
  Sign();
  AddRows(4, 4);
  lines.clear();
  read_all();
  EXPECT_THAT(lines, ::testing::ElementsAre("checkpoint 2", "7 intent row 4",
                                            "8 outcome row 4"));
  // The intent line is the row as its intent recorded it.
  auto intent = store_->Export(AuditCursor::Parse("6.2").value(), 1);
  ASSERT_TRUE(intent.ok());
  EXPECT_EQ((*intent)[0].entry().outcome(), v1::OUTCOME_PENDING);
  EXPECT_FALSE((*intent)[0].entry().has_result());
  EXPECT_FALSE(AuditCursor::Parse("6").ok());
  EXPECT_FALSE(AuditCursor::Parse("-1.0").ok());
  EXPECT_FALSE(AuditCursor::Parse("x.y").ok());
}

TEST_F(AuditCheckpointTest, CheckpointLinesRoundTrip) {
  AddRows(1, 1);
  const v1::AuditCheckpoint checkpoint = Sign();
  const std::string line = CheckpointJson(checkpoint);
  auto parsed = ParseCheckpointLines(
      absl::StrCat(line, "\n\n{\"cursor\":\"2.1\",\"checkpoint\":", line,
                   "}\n{\"cursor\":\"3.1\",\"seq\":3,\"event\":\"intent\","
                   "\"record\":{\"id\":2}}\n"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_TRUE(SameCheckpoint((*parsed)[0], checkpoint));
  EXPECT_TRUE(SameCheckpoint((*parsed)[1], checkpoint));
  EXPECT_THAT(
      ParseCheckpointLines("{\"number\":1}\nnot json\n").status().message(),
      HasSubstr("line 2 is neither"));
}

TEST(CheckpointKeyTest, KeysOthersCouldReadOrThatAreNotEd25519AreRefused) {
  const std::string key = WriteEd25519Key("readable.key");
  chmod(key.c_str(), 0640);
  EXPECT_THAT(CheckpointSigner::FromKeyFile(key).status().message(),
              HasSubstr("readable by it alone"));
  chmod(key.c_str(), 0604);
  EXPECT_THAT(CheckpointSigner::FromKeyFile(key).status().message(),
              HasSubstr("readable by others"));
  chmod(key.c_str(), 0600);
  const std::string link = TempPath("link.key");
  ASSERT_EQ(symlink(key.c_str(), link.c_str()), 0);
  EXPECT_FALSE(CheckpointSigner::FromKeyFile(link).ok());
  const std::string rsa = TempPath("rsa.key");
  EVP_PKEY* pkey = EVP_RSA_gen(2048);
  FILE* file = std::fopen(rsa.c_str(), "w");
  PEM_write_PrivateKey(file, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(file);
  EVP_PKEY_free(pkey);
  chmod(rsa.c_str(), 0600);
  EXPECT_THAT(CheckpointSigner::FromKeyFile(rsa).status().message(),
              HasSubstr("is not a PEM Ed25519 private key"));
  EXPECT_TRUE(CheckpointSigner::FromKeyFile(key).ok());
}

}  // namespace
}  // namespace opsagent
