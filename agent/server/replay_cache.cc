#include "agent/server/replay_cache.h"

#include <algorithm>

#include "common/signing/signed_request.h"

namespace opsagent {
namespace {

constexpr absl::Duration kSweepInterval = absl::Seconds(10);

}  // namespace

void ReplayCache::Restore(const std::vector<v1::JournalRecord>& history,
                          absl::Time now) {
  // No signed request lives longer than this from now; a record claiming
  // more is not believed beyond it.
  const absl::Time latest = now + kMaxSignedRequestLifetime + kMaxClockSkew;
  absl::MutexLock lock(&mutex_);
  for (const v1::JournalRecord& record : history) {
    if (record.nonce().empty()) continue;
    const absl::Time expires =
        std::min(latest, absl::FromUnixMillis(record.expires_at_unix_ms()));
    if (expires <= now) continue;
    // A nonce journaled twice keeps its longest life: no record can
    // shorten another's.
    auto [kept, inserted] = expiry_.emplace(record.nonce(), expires);
    if (!inserted) kept->second = std::max(kept->second, expires);
  }
}

bool ReplayCache::Claim(const std::string& nonce, absl::Time expires,
                        absl::Time now) {
  absl::MutexLock lock(&mutex_);
  if (now >= next_sweep_) {
    ForgetExpired(now);
    next_sweep_ = now + kSweepInterval;
  }
  return expiry_.emplace(nonce, expires).second;
}

void ReplayCache::ForgetExpired(absl::Time now) {
  absl::erase_if(expiry_,
                 [now](const auto& entry) { return entry.second <= now; });
}

}  // namespace opsagent
