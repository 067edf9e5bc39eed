#ifndef OPSAGENT_AGENT_SERVER_ACTION_JOURNAL_H_
#define OPSAGENT_AGENT_SERVER_ACTION_JOURNAL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "opsagent/v1/journal.pb.h"

namespace opsagent {

// The agent's own append-only record of the changes it was asked to make:
// one JSON line per JournalRecord, appended with O_APPEND (and for changes
// synced to disk) before Append returns. Opened once at start-up, when the
// records already in the file are read back (a line torn by a crash is skipped
// and logged).
class ActionJournal {
 public:
  static absl::StatusOr<std::unique_ptr<ActionJournal>> Open(
      const std::string& path);
  ~ActionJournal();

  // kSynced: on disk before Append returns (a change's records). kWritten:
  // in the file, which outlives the agent's process but not a power loss
  // (records of reads and refusals: a signed request is dead a minute after
  // it was issued, less than a host takes to boot).
  enum class Durability { kSynced, kWritten };

  // Stamps `record` with the current time and appends it.
  absl::Status Append(v1::JournalRecord record,
                      Durability durability = Durability::kSynced);

  // The records that were in the file when it was opened, oldest first.
  const std::vector<v1::JournalRecord>& history() const { return history_; }

  // The records in the file now from `since` on, oldest first, without
  // their replies; at most the newest `limit` (`truncated`
  // says whether older ones were left out). Reads the file again.
  std::vector<v1::JournalRecord> ReadSince(absl::Time since, size_t limit,
                                           bool* truncated) const;

 private:
  ActionJournal(std::string path, int fd,
                std::vector<v1::JournalRecord> history)
      : path_(std::move(path)), fd_(fd), history_(std::move(history)) {}

  const std::string path_;
  absl::Mutex mutex_;
  const int fd_;
  std::vector<v1::JournalRecord> history_;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_ACTION_JOURNAL_H_
