#include "controller/audit/write_budget.h"

#include <sys/statvfs.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/trusted_path.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

constexpr uint64_t kDefaultBurstBytes = 32ull << 20;
constexpr uint64_t kDefaultBytesPerSecond = 16ull << 10;
constexpr uint64_t kDefaultChangeReserveBytes = 64ull << 20;
// Where identities past kMaxTracked share one bucket.
constexpr char kOtherIdentities[] = "(other writers)";

template <typename T>
T OrDefault(T value, T fallback) {
  return value == 0 ? fallback : value;
}

}  // namespace

WriteBudget::WriteBudget(const v1::AuditWriteBudget& config,
                         MetricRegistry& metrics)
    : burst_bytes_(static_cast<double>(
          OrDefault<uint64_t>(config.burst_bytes(), kDefaultBurstBytes))),
      bytes_per_second_(static_cast<double>(OrDefault<uint64_t>(
          config.bytes_per_second(), kDefaultBytesPerSecond))),
      change_reserve_bytes_(config.change_reserve_bytes()),
      refusals_(metrics.AddCounter(
          "opsagent_controller_write_budget_refusals_total",
          "Calls and notifications refused because their writer (an operator "
          "or an alert sender) had filled the audit log "
          "faster than audit_write_budget allows.")) {}

WriteBudget::Bucket& WriteBudget::BucketOf(const std::string& identity,
                                           absl::Time now) {
  auto found = buckets_.find(identity);
  if (found == buckets_.end() && buckets_.size() >= kMaxTracked) {
    absl::erase_if(buckets_, [&](const auto& entry) {
      const Bucket& bucket = entry.second;
      return bucket.bytes + absl::ToDoubleSeconds(now - bucket.refilled) *
                                bytes_per_second_ >=
             burst_bytes_;
    });
  }
  const std::string& key =
      found != buckets_.end() || buckets_.size() < kMaxTracked
          ? identity
          : std::string(kOtherIdentities);
  Bucket& bucket =
      buckets_.try_emplace(key, Bucket{burst_bytes_, now}).first->second;
  bucket.bytes =
      std::min(burst_bytes_,
               bucket.bytes + absl::ToDoubleSeconds(now - bucket.refilled) *
                                  bytes_per_second_);
  bucket.refilled = now;
  return bucket;
}

absl::Status WriteBudget::Admit(const std::string& identity, uint64_t hold) {
  absl::MutexLock lock(&mutex_);
  Bucket& bucket = BucketOf(identity, absl::Now());
  // What it holds must fit in what is left, so one call cannot run far
  // into debt; a call holding more than the whole burst runs only on a
  // full bucket.
  const double held = static_cast<double>(hold);
  if (bucket.bytes > 0 &&
      (bucket.bytes >= held || bucket.bytes >= burst_bytes_)) {
    bucket.dry_logged = false;
    bucket.bytes -= held;
    return absl::OkStatus();
  }
  refusals_.Increment();
  const absl::Duration wait =
      absl::Ceil(absl::Seconds((std::min(held, burst_bytes_) - bucket.bytes) /
                               bytes_per_second_),
                 absl::Seconds(1));
  if (!bucket.dry_logged) {
    bucket.dry_logged = true;
    spdlog::warn(
        "{} has filled the audit log faster than audit_write_budget allows "
        "({:.0f} bytes a second after {:.0f}); their calls are refused for "
        "{}",
        identity, bytes_per_second_, burst_bytes_, absl::FormatDuration(wait));
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      identity,
      " has written more into the team's audit log than the controller "
      "takes from one writer (audit_write_budget: ",
      static_cast<uint64_t>(bytes_per_second_), " bytes a second after ",
      static_cast<uint64_t>(burst_bytes_),
      "): nothing was sent or recorded; try again in ",
      absl::FormatDuration(wait)));
}

void WriteBudget::Release(const std::string& identity, uint64_t hold) {
  absl::MutexLock lock(&mutex_);
  BucketOf(identity, absl::Now()).bytes += static_cast<double>(hold);
}

absl::Status WriteBudget::AdmitRead(const std::string& database) const {
  if (database.empty()) return absl::OkStatus();
  struct statvfs vfs;
  if (statvfs(DirectoryOf(database).c_str(), &vfs) != 0)
    return absl::OkStatus();
  const uint64_t free_bytes = uint64_t{vfs.f_bavail} * vfs.f_frsize;
  const uint64_t reserve =
      change_reserve_bytes_ != 0
          ? change_reserve_bytes_
          : std::min<uint64_t>(kDefaultChangeReserveBytes,
                               uint64_t{vfs.f_blocks} * vfs.f_frsize / 10);
  if (free_bytes >= reserve) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "the team's audit log has ", free_bytes >> 10,
      " KiB left on its filesystem, under the ", reserve >> 10,
      " KiB kept for recording changes (audit_write_budget."
      "change_reserve_bytes): reads and vetted commands (which may be reads) "
      "are refused until it has more; nothing was sent"));
}

void WriteBudget::Charge(const std::string& identity, uint64_t bytes) {
  absl::MutexLock lock(&mutex_);
  BucketOf(identity, absl::Now()).bytes -= static_cast<double>(bytes);
}

}  // namespace opsagent
