#include "controller/alerts/incident_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/sha256.h"
#include "common/sqlite_statement.h"
#include "common/utf8.h"
#include "controller/alerts/incident_rows.h"
#include "controller/alerts/incident_schema.h"
#include "controller/incident_id.h"

namespace opsagent {
namespace {

constexpr int kBusyTimeoutMs = 30000;
// A row's numbers, keys and index entries.
constexpr uint64_t kRowBytes = 256;

}  // namespace

absl::StatusOr<std::unique_ptr<IncidentStore>> IncidentStore::Open(
    const std::string& path) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
                      nullptr);
  std::unique_ptr<IncidentStore> store(new IncidentStore(db));
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(
        absl::StrCat("incidents: cannot open ", path, ": ",
                     db ? sqlite3_errmsg(db) : "out of memory"));
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  absl::MutexLock lock(&store->mutex_);
  if (absl::Status schema = CreateOrUpgradeIncidentSchema(db); !schema.ok())
    return schema;
  return store;
}

IncidentStore::~IncidentStore() { sqlite3_close_v2(db_); }

absl::StatusOr<int64_t> IncidentStore::ParseId(absl::string_view id) {
  return ParseIncidentId(id, "incident id");
}

absl::StatusOr<IntakeResult> IncidentStore::Record(
    const std::vector<TriagedAlert>& alerts, const std::string& sender,
    int64_t received_at_ms) {
  absl::MutexLock lock(&mutex_);
  IntakeResult result;
  return InWriteTransaction(
      db_, "incidents", [&]() -> absl::StatusOr<IntakeResult> {
        Statement seen(db_,
                       "SELECT rowid, incident, status, source, labels_sha256 "
                       "FROM incident_alerts WHERE sender = ?1 AND "
                       "fingerprint = ?2 AND starts_at_ms = ?3");
        Statement set_status(db_,
                             "UPDATE incident_alerts SET status = ?2, "
                             "ends_at_ms = ?3 WHERE rowid = ?1");
        Statement firing(db_,
                         "SELECT count(*) FROM incident_alerts "
                         "WHERE incident = ?1 AND status = 'firing'");
        Statement last_end(db_,
                           "SELECT max(ends_at_ms) FROM incident_alerts "
                           "WHERE incident = ?1");
        Statement close(
            db_,
            "UPDATE incidents SET status = 'resolved', "
            "resolved_at_ms = ?2 WHERE id = ?1 AND status = 'open'");
        Statement reopen(
            db_,
            "UPDATE incidents SET status = 'open', resolved_at_ms = "
            "0 WHERE id = ?1 AND status = 'resolved'");
        Statement open_for(db_,
                           "SELECT id FROM incidents WHERE status = 'open' AND "
                           "entry = ?2 AND ((?4 = 1 AND host = ?1) OR "
                           "(?4 = 0 AND host_known = 0)) ORDER BY id DESC "
                           "LIMIT 1");
        Statement open_new(
            db_,
            "INSERT INTO incidents (alertname, host, host_known, "
            "entry, nearest, status, opened_at_ms, summary, "
            "mountpoint, device, environment, diagnosis_state) "
            "VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6, ?7, ?8, ?9, "
            "?10, ?11)");
        Statement add(
            db_,
            "INSERT INTO incident_alerts (sender, fingerprint, "
            "starts_at_ms, incident, status, ends_at_ms, "
            "received_at_ms, source, labels_sha256, labels_json, "
            "annotations_json, generator_url, text_cut, external_url, "
            "dashboard_url, panel_url, silence_url, link_refused) "
            "VALUES (?1, ?2, ?3, ?4, 'firing', 0, ?5, ?6, ?7, ?8, ?9, "
            "?10, ?11, ?12, ?13, ?14, ?15, ?16)");
        // Keeps the first alert and the newest kMaxAlertsShown in full.
        Statement fold(
            db_,
            absl::StrCat(
                "UPDATE incident_alerts SET folded = 1, labels_json = '{}', "
                "annotations_json = '{}', generator_url = '', external_url "
                "= '', dashboard_url = '', panel_url = '', silence_url = '' "
                "WHERE rowid IN "
                "(SELECT rowid FROM incident_alerts WHERE incident = ?1 AND "
                "folded = 0 ORDER BY rowid LIMIT -1 OFFSET 1) AND rowid NOT "
                "IN (SELECT rowid FROM incident_alerts WHERE incident = ?1 "
                "AND folded = 0 ORDER BY rowid DESC LIMIT ",
                kMaxAlertsShown, ")"));
        for (const Statement* statement :
             {&seen, &set_status, &firing, &last_end, &close, &reopen,
              &open_for, &open_new, &add, &fold}) {
          if (absl::Status status = statement->status(); !status.ok())
            return status;
        }
        // Opens `incident` again if it was resolved (in this notification, or
        // before).
        const auto reopen_incident = [&](int64_t incident) -> absl::Status {
          reopen.Reset();
          reopen.Bind(1, incident);
          if (reopen.Step() != SQLITE_DONE) return reopen.Error("reopening");
          if (sqlite3_changes(db_) == 0) return absl::OkStatus();
          result.bytes_recorded += kRowBytes;
          const std::string id = FormatIncidentId(incident);
          auto closed =
              std::find(result.closed.begin(), result.closed.end(), id);
          if (closed != result.closed.end()) {
            result.closed.erase(closed);
          } else if (std::find(result.reopened.begin(), result.reopened.end(),
                               id) == result.reopened.end()) {
            result.reopened.push_back(id);
          }
          return absl::OkStatus();
        };
        // The incident each host and entry opened in this notification: one
        // notification opens at most one per host and entry, however its
        // alerts fire and resolve.
        std::map<std::pair<std::string, std::string>, int64_t> opened_here;
        for (const TriagedAlert& triaged : alerts) {
          const ReceivedAlert& alert = triaged.alert;
          const std::string labels_sha256 = Sha256Hex(MapJson(alert.labels));
          seen.Reset();
          seen.Bind(1, sender);
          seen.Bind(2, alert.fingerprint);
          seen.Bind(3, alert.starts_at_ms);
          const int found = seen.Step();
          if (found != SQLITE_ROW && found != SQLITE_DONE)
            return seen.Error("reading an alert");
          if (found == SQLITE_ROW) {
            const int64_t rowid = seen.Int(0);
            const int64_t incident = seen.Int(1);
            if (seen.Text(3) != triaged.source ||
                seen.Text(4) != labels_sha256) {
              ++result.refused;
              continue;
            }
            if (alert.status == seen.Text(2)) {
              ++result.repeated;
              continue;
            }
            set_status.Reset();
            set_status.Bind(1, rowid);
            set_status.Bind(2, alert.status);
            if (alert.status == "firing") {
              set_status.Bind(3, int64_t{0});
              if (set_status.Step() != SQLITE_DONE)
                return set_status.Error("reopening an alert");
              ++result.joined;
              if (absl::Status status = reopen_incident(incident); !status.ok())
                return status;
              continue;
            }
            set_status.Bind(
                3, alert.ends_at_ms > 0 ? alert.ends_at_ms : received_at_ms);
            if (set_status.Step() != SQLITE_DONE)
              return set_status.Error("resolving");
            ++result.resolved;
            result.bytes_recorded +=
                kRowBytes;  // the row rewritten, its WAL page
            firing.Reset();
            firing.Bind(1, incident);
            if (firing.Step() != SQLITE_ROW) return firing.Error("counting");
            if (firing.Int(0) > 0) continue;
            last_end.Reset();
            last_end.Bind(1, incident);
            if (last_end.Step() != SQLITE_ROW) return last_end.Error("reading");
            close.Reset();
            close.Bind(1, incident);
            close.Bind(2, last_end.Int(0));
            if (close.Step() != SQLITE_DONE) return close.Error("closing");
            if (sqlite3_changes(db_) > 0) {
              result.closed.push_back(FormatIncidentId(incident));
              result.bytes_recorded += kRowBytes;
            }
            continue;
          }
          if (alert.status == "resolved") {
            ++result.ignored;
            continue;
          }
          const std::pair<std::string, std::string> key = {
              triaged.host_known ? triaged.host : std::string(), triaged.entry};
          int64_t incident = 0;
          if (auto here = opened_here.find(key); here != opened_here.end()) {
            incident = here->second;
            ++result.joined;
            if (absl::Status status = reopen_incident(incident); !status.ok())
              return status;
          } else {
            open_for.Reset();
            open_for.Bind(1, triaged.host);
            open_for.Bind(2, triaged.entry);
            open_for.Bind(4, int64_t{triaged.host_known});
            const int open = open_for.Step();
            if (open == SQLITE_ROW) {
              incident = open_for.Int(0);
              ++result.joined;
            } else if (open != SQLITE_DONE) {
              return open_for.Error("finding the open incident");
            } else if (result.opened.size() >= kMaxOpenedPerNotification) {
              ++result.not_opened;
              continue;
            } else {
              const auto label = [&alert](const char* name) {
                auto it = alert.labels.find(name);
                return it == alert.labels.end() ? std::string() : it->second;
              };
              open_new.Reset();
              open_new.Bind(1, alert.labels.at("alertname"));
              open_new.Bind(2, triaged.host);
              open_new.Bind(3, int64_t{triaged.host_known});
              open_new.Bind(4, triaged.entry);
              open_new.Bind(5, absl::StrJoin(triaged.nearest, ","));
              // A start in the future (a sender's clock, or a forged one) would
              // keep the incident at the top of every list.
              open_new.Bind(6,
                            alert.starts_at_ms > 0
                                ? std::min(alert.starts_at_ms, received_at_ms)
                                : received_at_ms);
              open_new.Bind(7, triaged.summary);
              open_new.Bind(8, label("mountpoint"));
              open_new.Bind(9, label("device"));
              open_new.Bind(10, triaged.environment);
              open_new.Bind(11, triaged.diagnosis);
              if (open_new.Step() != SQLITE_DONE)
                return open_new.Error("opening an incident");
              incident = sqlite3_last_insert_rowid(db_);
              result.opened.push_back(FormatIncidentId(incident));
              result.bytes_recorded +=
                  kRowBytes + alert.labels.at("alertname").size() +
                  triaged.host.size() + triaged.entry.size() +
                  absl::StrJoin(triaged.nearest, ",").size() +
                  triaged.summary.size() + label("mountpoint").size() +
                  label("device").size() + triaged.environment.size();
              opened_here[key] = incident;
            }
          }
          bool cut = false;
          const AlertLinks& links = alert.links;  // each checked by SafeLink
          add.Reset();
          add.Bind(1, sender);
          add.Bind(2, alert.fingerprint);
          add.Bind(3, alert.starts_at_ms);
          add.Bind(4, incident);
          add.Bind(5, received_at_ms);
          add.Bind(6, triaged.source);
          add.Bind(7, labels_sha256);
          const std::string labels_json =
              BoundedMapJson(alert.labels, kMaxAlertTextBytes, cut);
          const std::string annotations_json =
              BoundedMapJson(alert.annotations, kMaxAlertTextBytes, cut);
          add.Bind(8, labels_json);
          add.Bind(9, annotations_json);
          add.Bind(10, links.generator);
          add.Bind(11, int64_t{cut});
          add.Bind(12, links.external);
          add.Bind(13, links.dashboard);
          add.Bind(14, links.panel);
          add.Bind(15, links.silence);
          add.Bind(16, int64_t{links.refused});
          if (add.Step() != SQLITE_DONE) return add.Error("recording an alert");
          result.bytes_recorded +=
              kRowBytes + alert.fingerprint.size() + labels_json.size() +
              annotations_json.size() + links.generator.size() +
              links.external.size() + links.dashboard.size() +
              links.panel.size() + links.silence.size();
          fold.Reset();
          fold.Bind(1, incident);
          if (fold.Step() != SQLITE_DONE) return fold.Error("folding alerts");
        }
        return result;
      });
}

absl::Status IncidentStore::SetDiagnosis(
    const std::string& id, const v1::IncidentDiagnosis& diagnosis) {
  absl::StatusOr<int64_t> number = ParseId(id);
  if (!number.ok()) return number.status();
  absl::MutexLock lock(&mutex_);
  Statement update(db_,
                   "UPDATE incidents SET diagnosis_state = ?2, "
                   "diagnosis_started_ms = ?3, diagnosis_finished_ms = ?4, "
                   "diagnosis_exit = ?5, diagnosis_output = ?6, "
                   "diagnosis_run = ?7 WHERE id = ?1");
  if (absl::Status status = update.status(); !status.ok()) return status;
  update.Bind(1, *number);
  update.Bind(2, diagnosis.state());
  update.Bind(3, diagnosis.started_at_ms());
  update.Bind(4, diagnosis.finished_at_ms());
  update.Bind(5, int64_t{diagnosis.exit_code()});
  update.Bind(6, diagnosis.output());
  update.Bind(7, diagnosis.run_id());
  if (update.Step() != SQLITE_DONE) return update.Error("storing a diagnosis");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Incident>> IncidentStore::Select(
    const std::string& where, int64_t bind, int limit) {
  Statement select(
      db_, absl::StrCat("SELECT ", kIncidentColumns, " FROM incidents ", where,
                        " LIMIT ", limit));
  if (absl::Status status = select.status(); !status.ok()) return status;
  if (where.find("?1") != std::string::npos) select.Bind(1, bind);
  std::vector<v1::Incident> incidents;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW)
    incidents.push_back(ReadIncident(select));
  if (rc != SQLITE_DONE) return select.Error("reading incidents");
  return incidents;
}

absl::StatusOr<v1::ListIncidentsReply> IncidentStore::List(
    const v1::ListIncidentsRequest& request) {
  int64_t before = 0;  // 0: from the newest
  if (!request.after().empty()) {
    absl::StatusOr<int64_t> cursor = ParseId(request.after());
    if (!cursor.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("after: ", cursor.status().message(),
                       "; pass a reply's next_cursor"));
    before = *cursor;
  }
  const int64_t limit =
      request.limit() == 0 ? 100 : std::min<int64_t>(request.limit(), 1000);
  const char* const where =
      "WHERE (?2 = 1 OR status = 'open') AND (?1 = 0 OR id < ?1)";
  absl::MutexLock lock(&mutex_);
  Statement select(
      db_, absl::StrCat("SELECT ", kIncidentColumns, " FROM incidents ", where,
                        " ORDER BY id DESC LIMIT ?3"));
  if (absl::Status status = select.status(); !status.ok()) return status;
  select.Bind(1, before);
  select.Bind(2, int64_t{request.include_resolved()});
  select.Bind(3, limit + 1);
  v1::ListIncidentsReply reply;
  size_t bytes = 0;
  int64_t last = 0;
  bool more = false;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW) {
    v1::Incident incident = ReadIncident(select);
    // A list shows whether diagnosis is ready, not its output.
    incident.mutable_diagnosis()->clear_output();
    const size_t size = incident.ByteSizeLong() + 8;
    if (reply.incidents_size() == limit ||
        (reply.incidents_size() > 0 && bytes + size > kMaxReplyBytes)) {
      more = true;
      break;
    }
    bytes += size;
    last = select.Int(0);
    *reply.add_incidents() = std::move(incident);
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return select.Error("reading incidents");
  if (!more) return reply;
  Statement count(db_, absl::StrCat("SELECT count(*) FROM incidents ", where));
  if (absl::Status status = count.status(); !status.ok()) return status;
  count.Bind(1, last);
  count.Bind(2, int64_t{request.include_resolved()});
  if (count.Step() != SQLITE_ROW) return count.Error("counting incidents");
  reply.set_next_cursor(FormatIncidentId(last));
  reply.set_remaining(static_cast<uint64_t>(count.Int(0)));
  return reply;
}

absl::StatusOr<int64_t> IncidentStore::CountOpen() {
  absl::MutexLock lock(&mutex_);
  Statement count(db_, "SELECT count(*) FROM incidents WHERE status = 'open'");
  if (absl::Status status = count.status(); !status.ok()) return status;
  if (count.Step() != SQLITE_ROW) return count.Error("counting incidents");
  return count.Int(0);
}

absl::StatusOr<std::vector<v1::Incident>> IncidentStore::UnfinishedDiagnoses() {
  absl::MutexLock lock(&mutex_);
  return Select(
      "WHERE status = 'open' AND diagnosis_state IN ('pending', 'running') "
      "ORDER BY id",
      0, 1000);
}

absl::StatusOr<v1::Incident> IncidentStore::Get(const std::string& id,
                                                const std::string& alerts_after,
                                                size_t max_bytes) {
  absl::StatusOr<int64_t> number = ParseId(id);
  if (!number.ok()) return number.status();
  int64_t after = 0;
  if (!alerts_after.empty() &&
      (!absl::SimpleAtoi(alerts_after, &after) || after <= 0))
    return absl::InvalidArgumentError(
        absl::StrCat("alerts_after: \"", alerts_after,
                     "\" is not a cursor; pass a reply's alerts_next_cursor"));
  absl::MutexLock lock(&mutex_);
  absl::StatusOr<std::vector<v1::Incident>> found =
      Select("WHERE id = ?1", *number, 1);
  if (!found.ok()) return found.status();
  if (found->empty())
    return absl::NotFoundError(absl::StrCat("no incident ", id));
  v1::Incident incident = found->front();
  Statement folded(db_,
                   "SELECT count(*) FROM incident_alerts WHERE incident = ?1 "
                   "AND folded = 1");
  if (absl::Status status = folded.status(); !status.ok()) return status;
  folded.Bind(1, *number);
  if (folded.Step() != SQLITE_ROW) return folded.Error("counting alerts");
  incident.set_alerts_folded(static_cast<uint64_t>(folded.Int(0)));
  Statement alerts(db_,
                   "SELECT rowid, fingerprint, status, starts_at_ms, "
                   "ends_at_ms, received_at_ms, source, labels_json, "
                   "annotations_json, generator_url, sender, text_cut, "
                   "external_url, dashboard_url, panel_url, silence_url, "
                   "link_refused FROM incident_alerts WHERE incident = ?1 AND "
                   "folded = 0 AND rowid > ?2 ORDER BY rowid");
  if (absl::Status status = alerts.status(); !status.ok()) return status;
  alerts.Bind(1, *number);
  alerts.Bind(2, after);
  size_t bytes = incident.ByteSizeLong();
  int64_t last = 0;
  int rc;
  while ((rc = alerts.Step()) == SQLITE_ROW) {
    v1::IncidentAlert alert;
    alert.set_fingerprint(alerts.Text(1));
    alert.set_status(alerts.Text(2));
    alert.set_starts_at_ms(alerts.Int(3));
    alert.set_ends_at_ms(alerts.Int(4));
    alert.set_received_at_ms(alerts.Int(5));
    alert.set_source(alerts.Text(6));
    alert.set_labels_json(alerts.Text(7));
    alert.set_annotations_json(alerts.Text(8));
    alert.set_generator_url(alerts.Text(9));
    alert.set_sender(alerts.Text(10));
    alert.set_text_cut(alerts.Int(11) != 0);
    alert.set_external_url(alerts.Text(12));
    alert.set_dashboard_url(alerts.Text(13));
    alert.set_panel_url(alerts.Text(14));
    alert.set_silence_url(alerts.Text(15));
    alert.set_link_refused(alerts.Int(16) != 0);
    const size_t size = alert.ByteSizeLong() + 8;
    if (incident.alerts_size() > 0 && bytes + size > max_bytes) {
      incident.set_alerts_next_cursor(absl::StrCat(last));
      break;
    }
    bytes += size;
    last = alerts.Int(0);
    *incident.add_alerts() = std::move(alert);
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return alerts.Error("reading an incident's alerts");
  if (absl::Status silences = ReadSilences(*number, incident); !silences.ok())
    return silences;
  return incident;
}

}  // namespace opsagent
