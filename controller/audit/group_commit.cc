#include "controller/audit/group_commit.h"

namespace opsagent {

struct GroupCommit::Writer {
  Writer(const std::vector<v1::AuditIntent>* intents, const Results* results)
      : intents(intents), results(results) {}

  const std::vector<v1::AuditIntent>* const intents;
  const Results* const results;
  bool done = false;
  absl::StatusOr<std::vector<int64_t>> ids;
  absl::CondVar ready;

  size_t rows() const { return intents->size() + results->size(); }
};

absl::StatusOr<std::vector<int64_t>> GroupCommit::Commit(
    const std::vector<v1::AuditIntent>& intents, const Results& results) {
  Writer self(&intents, &results);
  absl::MutexLock lock(&mutex_);
  queue_.push_back(&self);
  while (!self.done && queue_.front() != &self) self.ready.Wait(&mutex_);
  if (self.done) return std::move(self.ids);
  // At the front: take the line behind as far as a transaction holds.
  std::vector<Writer*> group = {&self};
  size_t rows = self.rows();
  for (auto it = queue_.begin() + 1; it != queue_.end(); ++it) {
    if (rows + (*it)->rows() > kMaxRows) break;
    rows += (*it)->rows();
    group.push_back(*it);
  }
  mutex_.Unlock();
  CommitMerged(group);
  mutex_.Lock();
  for (Writer* writer : group) {
    queue_.pop_front();
    writer->done = true;
    if (writer != &self) writer->ready.Signal();
  }
  if (!queue_.empty()) queue_.front()->ready.Signal();
  return std::move(self.ids);
}

void GroupCommit::CommitMerged(const std::vector<Writer*>& writers) {
  const auto commit = [&](const std::vector<Writer*>& some) {
    std::vector<const v1::AuditIntent*> intents;
    std::vector<const std::pair<int64_t, v1::AuditResult>*> results;
    for (Writer* writer : some) {
      for (const auto& result : *writer->results) results.push_back(&result);
      for (const auto& intent : *writer->intents) intents.push_back(&intent);
    }
    return transaction_(intents, results);
  };
  absl::StatusOr<std::vector<int64_t>> ids = commit(writers);
  if (!ids.ok() && writers.size() > 1) {
    for (Writer* writer : writers) writer->ids = commit({writer});
    return;
  }
  size_t next = 0;
  for (Writer* writer : writers) {
    if (!ids.ok()) {
      writer->ids = ids.status();
      continue;
    }
    writer->ids = std::vector<int64_t>(
        ids->begin() + next, ids->begin() + next + writer->intents->size());
    next += writer->intents->size();
  }
}

}  // namespace opsagent
