#ifndef OPSAGENT_AGENT_SERVER_ACTION_JOURNAL_H_
#define OPSAGENT_AGENT_SERVER_ACTION_JOURNAL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/append_only_file.h"
#include "opsagent/v1/agent.pb.h"
#include "opsagent/v1/journal.pb.h"

namespace opsagent {

// The agent's own append-only record of the changes it was asked to make:
// one JSON line per JournalRecord, appended with O_APPEND (and for changes
// synced to disk) before Append returns; an append that fails (a full
// filesystem) leaves the file as it was (common/append_only_file.h). Opened
// once at start-up, when a last line torn by a crash is cut off (and
// logged) and the records already in the file are read back.
//
// The journal usually lives on the filesystem the alerts are about, so it
// keeps `reserve_bytes` allocated past its end (AppendOnlyFile::KeepReserve):
// at 100% full, changes are still recorded before they act, from the
// reserve; reads and refusals stop being recorded once half of it is used.
class ActionJournal {
 public:
  // A filesystem that cannot give the reserve now (full, or too small) does
  // not stop the agent: it is logged, and asked again as records are added.
  static absl::StatusOr<std::unique_ptr<ActionJournal>> Open(
      const std::string& path, uint64_t reserve_bytes);
  ~ActionJournal();

  // kSynced: on disk before Append returns (a change's records). kWritten:
  // in the file, which outlives the agent's process but not a power loss
  // (records of reads and refusals: a signed request is dead a minute after
  // it was issued, less than a host takes to boot).
  enum class Durability { kSynced, kWritten };

  // How much of the reserve a record may use once the filesystem is full:
  // kAll for the start of a change that acts and for the end of a call whose
  // start is journaled (so no journaled call is left without its end);
  // kHalf for the start of anything else (reads, dry runs, the automation
  // identity's calls) and for refusals, which others can make as fast as
  // they like.
  enum class ReserveUse { kHalf, kAll };

  // Stamps `record` with the current time and appends it. A kHalf record is
  // not appended (ResourceExhausted) when the filesystem is full and it
  // would use the half of the reserve kept for the others.
  absl::Status Append(v1::JournalRecord record, Durability durability,
                      ReserveUse reserve_use);

  // The records that were in the file when it was opened, oldest first.
  const std::vector<v1::JournalRecord>& history() const { return history_; }

  // One page of the records in the file now from `since` on, oldest first,
  // without their replies, starting at `cursor` (0: the file's start; else
  // a next_cursor this returned): at most `max_records` records and
  // `max_bytes` of their lines (at least one record, however long). Sets
  // the page's more and next_cursor when records follow it. Reads the file
  // from the cursor on, a line at a time (what it holds is the page).
  absl::Status ReadSince(absl::Time since, uint64_t cursor, size_t max_records,
                         size_t max_bytes, v1::JournalReply* page) const;

 private:
  ActionJournal(std::string path, std::unique_ptr<AppendOnlyFile> file,
                std::vector<v1::JournalRecord> history, uint64_t reserve_bytes)
      : path_(std::move(path)),
        reserve_bytes_(reserve_bytes),
        file_(std::move(file)),
        history_(std::move(history)) {}

  const std::string path_;
  const uint64_t reserve_bytes_;
  absl::Mutex mutex_;
  const std::unique_ptr<AppendOnlyFile> file_;
  std::vector<v1::JournalRecord> history_;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_ACTION_JOURNAL_H_
