#ifndef OPSAGENT_CONTROLLER_AUDIT_WRITE_BUDGET_H_
#define OPSAGENT_CONTROLLER_AUDIT_WRITE_BUDGET_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// How much of the team's audit log one operator may fill: a bucket of bytes
// per certificate identity, full at `burst_bytes` and refilled at
// `bytes_per_second`, so that one operator's loop (a viewer reading in a
// script) cannot fill the log's filesystem, after which nobody's change
// could be recorded and so none could run. A call is admitted while its
// operator's bucket is not empty, and what its rows took is charged once
// written: a bucket goes into debt by at most one call, which a later call
// waits out (a run holds what its hosts' rows may take while it runs, so
// calls made at once count against each other). A refused call is sent
// nowhere and writes no row (refusals
// are counted, and logged once per time a bucket runs dry). Reads are also
// refused while the log's filesystem is down to the reserve kept for
// changes, whoever asks: no operator's reads can leave the team unable to
// record the truncation that frees the disk. Identities are
// certificate names the access rules admitted; at most kMaxTracked are
// kept, those whose bucket is full again forgotten first. Thread-safe.
class WriteBudget {
 public:
  static constexpr size_t kMaxTracked = 4096;
  // 0 in `config` means 32 MiB and 16 KiB/s (about 56 MiB an hour).
  WriteBudget(const v1::AuditWriteBudget& config, MetricRegistry& metrics);

  // OK when `identity`'s bucket holds `hold` (or is full, for a hold
  // larger than the burst), taking it at once (what the call's rows may
  // take, given back by Release when it ends); RESOURCE_EXHAUSTED, saying
  // when it will, otherwise.
  absl::Status Admit(const std::string& identity, uint64_t hold = 0);
  void Release(const std::string& identity, uint64_t hold);
  // Takes what `identity`'s call wrote into the log.
  void Charge(const std::string& identity, uint64_t bytes);

  // OK unless the filesystem holding `database` has less free than the
  // reserve kept for changes: RESOURCE_EXHAUSTED for a read then. A log on
  // a database server (`database` empty) has no filesystem here to watch:
  // always OK (the per-writer budget still bounds what each writes).
  absl::Status AdmitRead(const std::string& database) const;

 private:
  struct Bucket {
    double bytes;
    absl::Time refilled;
    bool dry_logged = false;
  };
  Bucket& BucketOf(const std::string& identity, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const double burst_bytes_;
  const double bytes_per_second_;
  const uint64_t change_reserve_bytes_;  // 0: the default
  Counter& refusals_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_WRITE_BUDGET_H_
