#include "agent/server/retry_cache.h"

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace opsagent {

std::string RetryCache::Digest(const google::protobuf::Message& request) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  return Sha256Hex(bytes);
}

std::optional<absl::StatusOr<RetryCache::Outcome>> RetryCache::Claim(
    const std::string& request_id, const std::string& operation,
    const std::string& caller, const std::string& digest) {
  absl::MutexLock lock(&mutex_);
  auto it = entries_.find(request_id);
  if (it == entries_.end()) {
    entries_[request_id] = Entry{operation, caller, digest, std::nullopt};
    order_.push_back(request_id);
    // Forget the oldest finished requests beyond capacity; running ones stay.
    for (size_t scanned = 0;
         entries_.size() > capacity_ && scanned < order_.size(); ++scanned) {
      const std::string oldest = order_.front();
      order_.pop_front();
      auto old = entries_.find(oldest);
      if (old != entries_.end() && old->second.outcome.has_value()) {
        entries_.erase(old);
      } else {
        order_.push_back(oldest);
      }
    }
    return std::nullopt;
  }
  const Entry& entry = it->second;
  if (entry.caller != caller || entry.operation != operation) {
    return absl::StatusOr<Outcome>(absl::AlreadyExistsError(
        absl::StrCat("request id ", request_id,
                     " was already used for another call; use a new id")));
  }
  if (!entry.digest.empty() && entry.digest != digest) {
    return absl::StatusOr<Outcome>(absl::AlreadyExistsError(absl::StrCat(
        "request id ", request_id,
        " was already used for a different request (other parameters); a "
        "retry must repeat the request exactly, a new request needs a new "
        "id")));
  }
  if (!entry.outcome) {
    return absl::StatusOr<Outcome>(absl::AbortedError(absl::StrCat(
        "request ", request_id,
        " is still running; its outcome will be returned to a later retry")));
  }
  return absl::StatusOr<Outcome>(*entry.outcome);
}

void RetryCache::Finish(const std::string& request_id, Outcome outcome) {
  absl::MutexLock lock(&mutex_);
  auto it = entries_.find(request_id);
  if (it != entries_.end()) it->second.outcome = std::move(outcome);
}

void RetryCache::Restore(const std::vector<v1::JournalRecord>& history) {
  absl::MutexLock lock(&mutex_);
  absl::flat_hash_map<std::string, std::string> started_at;
  for (const v1::JournalRecord& record : history) {
    if (record.event() == v1::JournalRecord::STARTED) {
      if (!entries_.contains(record.request_id()))
        order_.push_back(record.request_id());
      entries_[record.request_id()] =
          Entry{record.operation(), record.caller(), record.request_digest(),
                std::nullopt};
      started_at[record.request_id()] = record.time();
    } else if (record.event() == v1::JournalRecord::FINISHED) {
      auto it = entries_.find(record.request_id());
      if (it == entries_.end()) continue;
      it->second.outcome = Outcome{
          absl::Status(static_cast<absl::StatusCode>(record.status_code()),
                       record.status_message()),
          record.reply()};
    }
  }
  for (auto& [request_id, entry] : entries_) {
    if (entry.outcome.has_value()) continue;
    entry.outcome = Outcome{
        absl::UnknownError(absl::StrCat(
            entry.operation, " request ", request_id, " started at ",
            started_at[request_id],
            " but the agent stopped before it finished; it was not run "
            "again. Check the host before acting again with a new request.")),
        ""};
  }
  while (entries_.size() > capacity_ && !order_.empty()) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace opsagent
