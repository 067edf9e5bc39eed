#ifndef OPSAGENT_CONTROLLER_ALERTS_INCIDENT_STORE_H_
#define OPSAGENT_CONTROLLER_ALERTS_INCIDENT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "controller/alerts/alert_notification.h"
#include "opsagent/v1/controller.pb.h"

struct sqlite3;

namespace opsagent {

// An alert with what triage found for it.
struct TriagedAlert {
  ReceivedAlert alert;
  std::string source;  // "alertmanager" or "grafana"
  std::string host;    // "" when neither labels nor text name one
  bool host_known = false;
  std::string entry;  // runbook entry id, "" when none matched
  std::vector<std::string> nearest;
  std::string environment;
  std::string summary;
  // The diagnosis a new incident starts with: "pending" (to run), "none"
  // (no entry or no automatic step), "disabled" (no automation).
  std::string diagnosis;
};

// What one notification changed.
struct IntakeResult {
  std::vector<std::string> opened;  // new incidents, ids
  int joined = 0;                   // new alerts added to an open incident
  int repeated = 0;  // already received (fingerprint and startsAt)
  int resolved = 0;  // alerts marked resolved
  std::vector<std::string> closed;  // incidents resolved by them
  int ignored = 0;                  // resolved alerts never received firing
};

// The team's incidents, in the audit log's SQLite database (their own
// tables, beside the chained audit rows). An incident is one host's trouble
// with one runbook entry: alerts that fire for the same host and entry
// while it is open join it, so a DiskUsageCritical joins its
// DiskUsageWarning and the 4-hourly repeats of a notification change
// nothing. A host's alerts that no entry answers share one incident, and
// alerts for hosts the inventory does not know share one per entry (one in
// all when none matched): what a sender can open is bounded by the
// inventory and the runbooks, not by how many names it makes up. It is
// resolved when every alert in it is.
// Ids are "INC-<n>". Thread-safe.
class IncidentStore {
 public:
  // Opens the audit database at `path` (opsctld has checked and opened it
  // as the audit log first) and creates the tables.
  static absl::StatusOr<std::unique_ptr<IncidentStore>> Open(
      const std::string& path);
  ~IncidentStore();

  // Records a notification's alerts in one transaction: all or nothing, so
  // an error (answered 5xx, and retried by the sender) loses nothing and a
  // retry is not counted twice.
  absl::StatusOr<IntakeResult> Record(const std::vector<TriagedAlert>& alerts,
                                      int64_t received_at_ms);

  // Stores an incident's automatic diagnosis (its state, later its output).
  absl::Status SetDiagnosis(const std::string& id,
                            const v1::IncidentDiagnosis& diagnosis);

  // Open incidents (with `include_resolved`, all), newest first.
  absl::StatusOr<std::vector<v1::Incident>> List(bool include_resolved,
                                                 int limit);
  // One incident with its alerts; NOT_FOUND if there is none.
  absl::StatusOr<v1::Incident> Get(const std::string& id);
  // Open incidents whose diagnosis was pending or running when the
  // controller stopped, oldest first.
  absl::StatusOr<std::vector<v1::Incident>> UnfinishedDiagnoses();

  // "INC-7" or "7" -> 7.
  static absl::StatusOr<int64_t> ParseId(absl::string_view id);

 private:
  explicit IncidentStore(sqlite3* db) : db_(db) {}
  absl::StatusOr<std::vector<v1::Incident>> Select(const std::string& where,
                                                   int64_t bind, int limit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  absl::Mutex mutex_;
  sqlite3* const db_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_INCIDENT_STORE_H_
