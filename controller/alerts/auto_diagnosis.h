#ifndef OPSAGENT_CONTROLLER_ALERTS_AUTO_DIAGNOSIS_H_
#define OPSAGENT_CONTROLLER_ALERTS_AUTO_DIAGNOSIS_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "controller/alerts/incident_events.h"
#include "controller/alerts/incident_store.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// Runs an incident's automatic diagnosis as soon as the alert is in: the
// runbook entry's `automatic` steps, by running `opsctl runbook run ENTRY
// --automatic --incident ID` (a fixed argv) inside this process, through a
// DiagnosisRunner, as the controller's automation identity, so the steps go
// through this controller, are signed, authorized by each agent for the
// read-only `automation` role and audited like any operator's, and join the
// incident's timeline. Its output is stored with the incident. At most one
// diagnosis per host and entry per `min_interval_seconds` (later ones are
// marked "rate_limited"), at most `max_concurrent` at once and one at a time
// on each host (two alerts of one host do not contend for its agent's heavy
// calls: the second waits, holding no worker), and only for hosts
// that hold a link: a diagnosis whose host is not linked is parked, holding no
// worker, and queued when the host links (an agent reconnecting after the
// controller restarted, or a host coming back), or given up after kParkFor and
// recorded "host_down". Parked and queued diagnoses are started oldest
// first. Destruction waits for the diagnoses running (each at most
// `timeout_seconds`); those parked or queued stay "pending", and a
// controller killed mid-way leaves one "running": Resume runs both again
// at the next start. Thread-safe.
class AutoDiagnosis {
 public:
  // Runs opsctl's arguments `args` (without the program's name) for at most
  // `timeout`: the exit code, output and run id of a diagnosis.
  using Runner = std::function<v1::IncidentDiagnosis(
      const std::vector<std::string>& args, absl::Duration timeout)>;

  // How long a diagnosis waits for its host to link.
  static constexpr absl::Duration kParkFor = absl::Minutes(5);
  // How often a state the incident store could not record (its disk full)
  // is tried again.
  static constexpr absl::Duration kRecordRetry = absl::Seconds(5);

  // `connected` says whether a host's agent holds a link now; it is called
  // without this class's lock held, often (every 200 ms per parked host).
  // `events` (may be null) is told of each diagnosis that ends.
  AutoDiagnosis(const v1::AutomationConfig& config, IncidentStore* incidents,
                IncidentEvents* events,
                std::function<bool(const std::string& host)> connected,
                Runner run, MetricRegistry& metrics);
  ~AutoDiagnosis();

  // Queues the diagnosis of an incident whose state is "pending".
  void Enqueue(const v1::Incident& incident);
  // Queues those a stopped controller left pending or running.
  absl::Status Resume();

 private:
  // A diagnosis waiting for its host to link.
  struct Parked {
    v1::Incident incident;
    absl::Time give_up;
  };

  void Work();
  // The oldest queued diagnosis whose host no worker is diagnosing.
  std::deque<v1::Incident>::iterator NextReady()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Moves parked diagnoses whose host linked to the queue, and gives up on
  // those whose host did not within kParkFor; until destruction.
  void WatchParked();
  void GiveUp(const v1::Incident& incident);
  // Records again what could not be recorded, and queues again what could
  // not be marked running.
  void RetryUnrecorded();
  void Diagnose(const v1::Incident& incident);
  void Store(const std::string& id, const v1::IncidentDiagnosis& diagnosis);

  const v1::AutomationConfig config_;
  IncidentStore* const incidents_;
  IncidentEvents* const events_;
  const std::function<bool(const std::string&)> connected_;
  const Runner run_;
  Counter& diagnoses_;
  Histogram& alert_to_diagnosis_;
  absl::Mutex mutex_;
  // Whose host is linked: what workers take.
  std::deque<v1::Incident> queue_ ABSL_GUARDED_BY(mutex_);
  std::deque<Parked> parked_ ABSL_GUARDED_BY(mutex_);
  // States the store refused (a full disk), newest by incident, and
  // diagnoses not started because "running" could not be recorded: without
  // them an incident stayed "running" or "pending" until the next start.
  absl::flat_hash_map<std::string, v1::IncidentDiagnosis> unrecorded_
      ABSL_GUARDED_BY(mutex_);
  std::vector<v1::Incident> not_started_ ABSL_GUARDED_BY(mutex_);
  // The hosts being diagnosed now.
  absl::flat_hash_set<std::string> diagnosing_ ABSL_GUARDED_BY(mutex_);
  // By "HOST ENTRY".
  absl::flat_hash_map<std::string, absl::Time> last_by_host_
      ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> workers_;
  std::thread watcher_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_AUTO_DIAGNOSIS_H_
