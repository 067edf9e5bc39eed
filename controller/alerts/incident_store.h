#ifndef OPSAGENT_CONTROLLER_ALERTS_INCIDENT_STORE_H_
#define OPSAGENT_CONTROLLER_ALERTS_INCIDENT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
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
  // (no entry or no automatic step), "disabled" (no automation),
  // "ambiguous" (several runbook entries fit: `nearest` lists them).
  std::string diagnosis;
};

// What one notification changed.
struct IntakeResult {
  std::vector<std::string> opened;  // new incidents, ids
  int joined = 0;                   // new alerts added to an open incident
  int repeated = 0;  // already received (sender, fingerprint and startsAt)
  int resolved = 0;  // alerts marked resolved
  std::vector<std::string> closed;    // incidents resolved by them
  std::vector<std::string> reopened;  // resolved ones an alert fired again in
  int ignored = 0;                    // resolved alerts never received firing
  // Alerts whose fingerprint and startsAt were first seen with other labels
  // or from another source: nothing was changed for them.
  int refused = 0;
  // Firing alerts that would have opened more than
  // IncidentStore::kMaxOpenedPerNotification incidents: not recorded.
  int not_opened = 0;
  // About what it wrote into the database (alerts' text, new incidents and
  // their columns, each status flip, reopening and closing), for the
  // sender's write budget.
  uint64_t bytes_recorded = 0;
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
//
// An alert is the sender's (the alert_intake sender whose token posted it),
// keyed by its fingerprint and startsAt, and bound to the digest of its
// labels and its source as first received: a resolve or a repeat that
// differs in any is refused and changes nothing, so no sender can resolve
// another's alert, nor one alert another. A firing repeat of a resolved
// alert reopens it and its incident.
//
// What a sender can make the controller hold is bounded: one notification
// opens at most one incident per host and entry and at most
// kMaxOpenedPerNotification in all; an alert keeps at most
// kMaxAlertTextBytes of labels and of annotations (JSON); an incident shows
// its first alert and its newest kMaxAlertsShown, the others are folded (their
// identity and state kept, their text dropped); and every read is paged
// under kMaxReplyBytes.
// Ids are "INC-<n>". Thread-safe.
class IncidentStore {
 public:
  static constexpr int kMaxOpenedPerNotification = 100;
  static constexpr size_t kMaxAlertTextBytes = 4096;
  static constexpr int kMaxAlertsShown = 100;
  // Well under gRPC's 4 MiB default receive limit.
  static constexpr size_t kMaxReplyBytes = 1 << 20;
  static constexpr size_t kMaxSilencesPerResponse = 10;
  static constexpr int kMaxSilencesShown = 100;

  // Opens the audit database at `path` (opsctld has checked and opened it
  // as the audit log first) and creates the tables.
  static absl::StatusOr<std::unique_ptr<IncidentStore>> Open(
      const std::string& path);
  ~IncidentStore();

  // Records a notification's alerts in one transaction: all or nothing, so
  // an error (answered 5xx, and retried by the sender) loses nothing and a
  // retry is not counted twice.
  // `sender` is the name of the sender whose token posted them.
  absl::StatusOr<IntakeResult> Record(const std::vector<TriagedAlert>& alerts,
                                      const std::string& sender,
                                      int64_t received_at_ms);

  // Stores an incident's automatic diagnosis (its state, later its output).
  absl::Status SetDiagnosis(const std::string& id,
                            const v1::IncidentDiagnosis& diagnosis);

  // One page of open incidents (with `include_resolved`, all), newest
  // first, after `request.after`, without their alerts and diagnosis
  // output: at most `request.limit` (0: 100, at most 1,000) and
  // kMaxReplyBytes, with the cursor of the next page and how many remain.
  // INVALID_ARGUMENT for a cursor that is not an incident id.
  absl::StatusOr<v1::ListIncidentsReply> List(
      const v1::ListIncidentsRequest& request);
  // One incident with one page of its alerts, those after `alerts_after`
  // (a previous page's alerts_next_cursor; "" for the first), in the order
  // received, within `max_bytes` in all; NOT_FOUND if there is none.
  absl::StatusOr<v1::Incident> Get(const std::string& id,
                                   const std::string& alerts_after = "",
                                   size_t max_bytes = kMaxReplyBytes);
  // Whether `action` may be done to `incident` as it is: acknowledge,
  // resolve and silence an open one, reopen a resolved one, note and
  // unsilence either; FAILED_PRECONDITION says why not.
  static absl::Status CheckResponse(const v1::Incident& incident,
                                    v1::IncidentResponse::Action action);
  // Does what a person did (RespondToIncident) in one transaction, checked
  // again there (CheckResponse): acknowledging makes `by` the owner,
  // resolving and reopening change its status (a reopening is refused
  // while another incident is open for its host and entry, since alerts
  // join that one), and every action is its last human action. The
  // incident as it is now, without its alerts.
  absl::StatusOr<v1::Incident> Respond(const std::string& id,
                                       v1::IncidentResponse::Action action,
                                       const std::string& by, int64_t at_ms);

  // What one silence of an incident matches: alertname and instance.
  using Matchers = std::vector<std::pair<std::string, std::string>>;
  struct SilencePlan {
    // One per alert name and instance label of its firing alerts, exact.
    std::vector<Matchers> silences;
    // Names of its firing alerts without an instance label: a silence of
    // the name alone would cover every host, so they are not silenced.
    std::vector<std::string> unsilenceable;
  };
  // The silences that cover the incident's firing alerts and nothing else.
  // FAILED_PRECONDITION when none fires, when none has an instance label,
  // or when more than kMaxSilencesPerResponse would be needed.
  absl::StatusOr<SilencePlan> SilenceMatchers(const std::string& id);
  // Records the silences `by` created for `id` (its last human action) in
  // one transaction, if it is still open (it may have been resolved while
  // Alertmanager was asked: FAILED_PRECONDITION); the incident as it is
  // now, without its alerts.
  absl::StatusOr<v1::Incident> AddSilences(
      const std::string& id, const std::vector<v1::IncidentSilence>& silences,
      const std::string& by, int64_t at_ms);
  // Records a silence's expiry.
  absl::Status ExpireSilence(const std::string& silence_id, int64_t at_ms);

  // How many incidents are open now.
  absl::StatusOr<int64_t> CountOpen();

  // Open incidents whose diagnosis was pending or running when the
  // controller stopped, oldest first.
  absl::StatusOr<std::vector<v1::Incident>> UnfinishedDiagnoses();

  // "INC-7" -> 7; any other form is INVALID_ARGUMENT (ParseIncidentId).
  static absl::StatusOr<int64_t> ParseId(absl::string_view id);

 private:
  explicit IncidentStore(sqlite3* db) : db_(db) {}
  absl::StatusOr<std::vector<v1::Incident>> Select(const std::string& where,
                                                   int64_t bind, int limit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The incident `number` (named `id` in errors) if `action` may be done to
  // it now (CheckResponse); NOT_FOUND if there is none.
  absl::StatusOr<v1::Incident> FindForResponse(
      int64_t number, const std::string& id,
      v1::IncidentResponse::Action action)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Sets `set` (more "column = ?" assignments, where ?2 is `by` and ?3 is
  // `at_ms`; may be empty) and the last human action; the incident as it
  // is now, with its silences.
  absl::StatusOr<v1::Incident> RecordHumanAction(int64_t number,
                                                 absl::string_view set,
                                                 const std::string& by,
                                                 int64_t at_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Adds the incident's silences, newest first, to `incident`.
  absl::Status ReadSilences(int64_t number, v1::Incident& incident)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  absl::Mutex mutex_;
  sqlite3* const db_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_INCIDENT_STORE_H_
