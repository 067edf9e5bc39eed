#ifndef OPSAGENT_CONTROLLER_AUDIT_POSTGRES_AUDIT_STORE_H_
#define OPSAGENT_CONTROLLER_AUDIT_POSTGRES_AUDIT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/postgres/pg_connection.h"
#include "controller/audit/audit_store.h"
#include "controller/audit/group_commit.h"

namespace opsagent {

// The audit log in PostgreSQL, one log for several controllers. Its rows,
// chain and checkpoints have the SQLite log's columns (audit_rows.h reads
// both); what makes the chain one total order across controllers is the
// table `audit_head`, a single row holding the chain's head, the last seq
// and the last row id, locked (SELECT ... FOR UPDATE) by every append and
// every signature: appends from every controller take turns on it, each
// takes its ids and seqs from it (no gaps, none reused), and each extends
// the head the one before it left. Each row also names the controller that
// wrote it, so that a controller settles only its own interrupted rows.
// Checkpoints are signed by one controller at a time: the holder of a
// PostgreSQL advisory lock on a connection of its own, which the server
// releases when that controller dies (HoldsSigningLease).
//
// A transaction cut off by the server's restart or a lost connection fails
// (UNAVAILABLE): an intent not committed is an action not sent. The next
// call reconnects. Deadlocks and serialization failures are retried.
class PostgresAuditStore final : public AuditStore {
 public:
  // Connects with `conninfo` (a libpq connection string) and creates the
  // tables if the database has none. `controller` names this controller in
  // the rows it writes; FAILED_PRECONDITION while another store holds the
  // name (the reading connection holds it for the store's life, so a
  // killed controller's name is free again once its sessions end).
  static absl::StatusOr<std::unique_ptr<PostgresAuditStore>> Open(
      const std::string& conninfo, const std::string& controller);

  absl::StatusOr<std::vector<int64_t>> Commit(
      const std::vector<v1::AuditIntent>& intents,
      const std::vector<std::pair<int64_t, v1::AuditResult>>& results) override;
  absl::StatusOr<std::string> Verify(const VerifyOptions& options) override;
  bool shared_by_controllers() const override { return true; }
  absl::StatusOr<bool> HoldsSigningLease() override;
  absl::StatusOr<std::optional<v1::AuditCheckpoint>> SignCheckpoint(
      const CheckpointSigner& signer, absl::Time now,
      const std::optional<v1::AuditCheckpoint>& signed_last,
      const std::function<absl::Status(const v1::AuditCheckpoint&)>&
          before_commit) override;
  absl::Status AdoptCheckpoint(const v1::AuditCheckpoint& checkpoint) override;
  absl::StatusOr<CheckpointState> GetCheckpointState() override;
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> Checkpoints(
      int64_t after) override;
  absl::StatusOr<std::vector<v1::ExportAuditItem>> Export(
      const AuditCursor& after, int limit) override;
  absl::StatusOr<std::vector<v1::AuditEntry>> Query(
      const v1::AuditQuery& filter) override;
  const std::string& path() const override { return no_path_; }
  std::string Describe() const override { return description_; }

 protected:
  absl::StatusOr<std::vector<v1::AuditEntry>> OwnPending(int limit) override;

 private:
  PostgresAuditStore(std::string conninfo, std::string controller,
                     std::unique_ptr<PgConnection> writer,
                     std::unique_ptr<PgConnection> reader);

  // The chain's head row: its last event and the last row id.
  struct ChainHead {
    int64_t seq;
    int64_t action_id;
    std::string hash;
  };
  // Runs `body` in one transaction on the writer connection, the chain's
  // head row locked (and read) first; retried when the server reports a
  // deadlock or a serialization failure.
  absl::Status InWriteTransaction(
      const std::function<absl::Status(PgConnection&, const ChainHead&)>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_);
  // Runs `read` on the reader connection; once more on a new connection
  // when the server's restart broke the old one (reads may be repeated).
  template <typename Read>
  auto WithReader(const Read& read)
      -> decltype(read(std::declval<PgConnection&>()));
  // The head as the BEGIN script read it, checked: the head row is the
  // chain's last event and names the table's last row, and the event this
  // controller wrote last is still there. DATA_LOSS otherwise: the log was
  // changed outside opsctld, and nothing is appended to it.
  absl::StatusOr<ChainHead> CheckHead(const PgResult& head) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mutex_);
  absl::StatusOr<std::vector<int64_t>> CommitTransaction(
      const std::vector<const v1::AuditIntent*>& intents,
      const std::vector<const std::pair<int64_t, v1::AuditResult>*>& results);

  const std::string conninfo_;
  const std::string controller_;
  const std::string no_path_;
  std::string description_;
  absl::Mutex write_mutex_;
  std::unique_ptr<PgConnection> writer_ ABSL_GUARDED_BY(write_mutex_);
  // The last event this controller appended (seq 0: none yet): a tail cut
  // below it is caught at the next append, whoever moved the head.
  ChainHead last_written_ ABSL_GUARDED_BY(write_mutex_) = {0, 0, ""};
  // Set once another controller took this one's name (its session was cut
  // off): every write fails with it.
  absl::Status name_lost_ ABSL_GUARDED_BY(write_mutex_);
  absl::Mutex read_mutex_;
  std::unique_ptr<PgConnection> reader_ ABSL_GUARDED_BY(read_mutex_);
  absl::Mutex lease_mutex_;
  // The session holding the signing lease (null until first asked).
  std::unique_ptr<PgConnection> lease_ ABSL_GUARDED_BY(lease_mutex_);
  bool lease_held_ ABSL_GUARDED_BY(lease_mutex_) = false;
  GroupCommit group_commit_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_POSTGRES_AUDIT_STORE_H_
