#include "controller/alerts/incident_store.h"

#include <sqlite3.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "controller/audit/sqlite_statement.h"
#include "nlohmann/json.hpp"

namespace opsagent {
namespace {

constexpr int kBusyTimeoutMs = 30000;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS incidents (
  id                    INTEGER PRIMARY KEY AUTOINCREMENT,
  alertname             TEXT    NOT NULL,
  host                  TEXT    NOT NULL,
  host_known            INTEGER NOT NULL,
  entry                 TEXT    NOT NULL,
  nearest               TEXT    NOT NULL,
  status                TEXT    NOT NULL,
  opened_at_ms          INTEGER NOT NULL,
  resolved_at_ms        INTEGER NOT NULL DEFAULT 0,
  summary               TEXT    NOT NULL,
  mountpoint            TEXT    NOT NULL,
  device                TEXT    NOT NULL,
  environment           TEXT    NOT NULL,
  diagnosis_state       TEXT    NOT NULL,
  diagnosis_started_ms  INTEGER NOT NULL DEFAULT 0,
  diagnosis_finished_ms INTEGER NOT NULL DEFAULT 0,
  diagnosis_exit        INTEGER NOT NULL DEFAULT 0,
  diagnosis_output      TEXT    NOT NULL DEFAULT '',
  diagnosis_run         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (status, host, entry);
CREATE TABLE IF NOT EXISTS incident_alerts (
  fingerprint      TEXT    NOT NULL,
  starts_at_ms     INTEGER NOT NULL,
  incident         INTEGER NOT NULL REFERENCES incidents (id),
  status           TEXT    NOT NULL,
  ends_at_ms       INTEGER NOT NULL,
  received_at_ms   INTEGER NOT NULL,
  source           TEXT    NOT NULL,
  labels_json      TEXT    NOT NULL,
  annotations_json TEXT    NOT NULL,
  generator_url    TEXT    NOT NULL,
  PRIMARY KEY (fingerprint, starts_at_ms)
);
CREATE INDEX IF NOT EXISTS incident_alerts_incident ON incident_alerts (incident);
)sql";

constexpr char kIncidentColumns[] =
    "id, alertname, host, host_known, entry, nearest, status, opened_at_ms, "
    "resolved_at_ms, summary, mountpoint, device, environment, "
    "diagnosis_state, diagnosis_started_ms, diagnosis_finished_ms, "
    "diagnosis_exit, diagnosis_output, diagnosis_run";

std::string IncidentId(int64_t number) { return absl::StrCat("INC-", number); }

std::string MapJson(const std::map<std::string, std::string>& map) {
  return nlohmann::json(map).dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace);
}

v1::Incident ReadIncident(const Statement& row) {
  v1::Incident incident;
  incident.set_id(IncidentId(row.Int(0)));
  incident.set_alertname(row.Text(1));
  incident.set_host(row.Text(2));
  incident.set_host_known(row.Int(3) != 0);
  incident.set_entry(row.Text(4));
  for (absl::string_view name :
       absl::StrSplit(row.Text(5), ',', absl::SkipEmpty()))
    incident.add_nearest_entries(std::string(name));
  incident.set_status(row.Text(6));
  incident.set_opened_at_ms(row.Int(7));
  incident.set_resolved_at_ms(row.Int(8));
  incident.set_summary(row.Text(9));
  incident.set_mountpoint(row.Text(10));
  incident.set_device(row.Text(11));
  incident.set_environment(row.Text(12));
  v1::IncidentDiagnosis* diagnosis = incident.mutable_diagnosis();
  diagnosis->set_state(row.Text(13));
  diagnosis->set_started_at_ms(row.Int(14));
  diagnosis->set_finished_at_ms(row.Int(15));
  diagnosis->set_exit_code(static_cast<int32_t>(row.Int(16)));
  diagnosis->set_output(row.Text(17));
  diagnosis->set_run_id(row.Text(18));
  return incident;
}

// Runs `sql` (no results).
absl::Status Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) == SQLITE_OK)
    return absl::OkStatus();
  absl::Status status = absl::UnavailableError(
      absl::StrCat("incidents: ", error ? error : "unknown error"));
  sqlite3_free(error);
  return status;
}

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
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                          "PRAGMA foreign_keys=ON", kSchema}) {
    if (absl::Status status = Exec(db, sql); !status.ok()) return status;
  }
  return store;
}

IncidentStore::~IncidentStore() { sqlite3_close_v2(db_); }

absl::StatusOr<int64_t> IncidentStore::ParseId(absl::string_view id) {
  int64_t number = 0;
  absl::string_view digits = id;
  if (!absl::ConsumePrefix(&digits, "INC-"))
    absl::ConsumePrefix(&digits, "inc-");
  if (!absl::SimpleAtoi(digits, &number) || number <= 0)
    return absl::InvalidArgumentError(
        absl::StrCat("\"", id, "\" is not an incident id (INC-7)"));
  return number;
}

absl::StatusOr<IntakeResult> IncidentStore::Record(
    const std::vector<TriagedAlert>& alerts, int64_t received_at_ms) {
  absl::MutexLock lock(&mutex_);
  if (absl::Status begun = Exec(db_, "BEGIN IMMEDIATE"); !begun.ok())
    return begun;
  IntakeResult result;
  absl::Status failed = [&]() -> absl::Status {
    Statement seen(db_,
                   "SELECT incident, status FROM incident_alerts "
                   "WHERE fingerprint = ?1 AND starts_at_ms = ?2");
    Statement resolve(db_,
                      "UPDATE incident_alerts SET status = 'resolved', "
                      "ends_at_ms = ?3 WHERE fingerprint = ?1 AND "
                      "starts_at_ms = ?2");
    Statement firing(db_,
                     "SELECT count(*), max(ends_at_ms) FROM incident_alerts "
                     "WHERE incident = ?1 AND status = 'firing'");
    Statement last_end(db_,
                       "SELECT max(ends_at_ms) FROM incident_alerts "
                       "WHERE incident = ?1");
    Statement close(db_,
                    "UPDATE incidents SET status = 'resolved', "
                    "resolved_at_ms = ?2 WHERE id = ?1 AND status = 'open'");
    Statement open_for(db_,
                       "SELECT id FROM incidents WHERE status = 'open' AND "
                       "entry = ?2 AND ((?4 = 1 AND host = ?1) OR "
                       "(?4 = 0 AND host_known = 0)) ORDER BY id DESC "
                       "LIMIT 1");
    Statement open_new(db_,
                       "INSERT INTO incidents (alertname, host, host_known, "
                       "entry, nearest, status, opened_at_ms, summary, "
                       "mountpoint, device, environment, diagnosis_state) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6, ?7, ?8, ?9, "
                       "?10, ?11)");
    Statement add(db_,
                  "INSERT INTO incident_alerts (fingerprint, starts_at_ms, "
                  "incident, status, ends_at_ms, received_at_ms, source, "
                  "labels_json, annotations_json, generator_url) VALUES (?1, "
                  "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    for (const Statement* statement : {&seen, &resolve, &firing, &last_end,
                                       &close, &open_for, &open_new, &add}) {
      if (absl::Status status = statement->status(); !status.ok())
        return status;
    }
    for (const TriagedAlert& triaged : alerts) {
      const ReceivedAlert& alert = triaged.alert;
      seen.Reset();
      seen.Bind(1, alert.fingerprint);
      seen.Bind(2, alert.starts_at_ms);
      const int found = seen.Step();
      if (found != SQLITE_ROW && found != SQLITE_DONE)
        return seen.Error("reading an alert");
      if (found == SQLITE_ROW) {
        const int64_t incident = seen.Int(0);
        if (alert.status != "resolved" || seen.Text(1) == "resolved") {
          ++result.repeated;
          continue;
        }
        resolve.Reset();
        resolve.Bind(1, alert.fingerprint);
        resolve.Bind(2, alert.starts_at_ms);
        resolve.Bind(3,
                     alert.ends_at_ms > 0 ? alert.ends_at_ms : received_at_ms);
        if (resolve.Step() != SQLITE_DONE) return resolve.Error("resolving");
        ++result.resolved;
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
        result.closed.push_back(IncidentId(incident));
        continue;
      }
      if (alert.status == "resolved") {
        ++result.ignored;
        continue;
      }
      const std::string& alertname = alert.labels.at("alertname");
      open_for.Reset();
      open_for.Bind(1, triaged.host);
      open_for.Bind(2, triaged.entry);
      open_for.Bind(4, int64_t{triaged.host_known});
      const int open = open_for.Step();
      int64_t incident = 0;
      if (open == SQLITE_ROW) {
        incident = open_for.Int(0);
        ++result.joined;
      } else if (open == SQLITE_DONE) {
        const auto label = [&alert](const char* name) {
          auto it = alert.labels.find(name);
          return it == alert.labels.end() ? std::string() : it->second;
        };
        open_new.Reset();
        open_new.Bind(1, alertname);
        open_new.Bind(2, triaged.host);
        open_new.Bind(3, int64_t{triaged.host_known});
        open_new.Bind(4, triaged.entry);
        open_new.Bind(5, absl::StrJoin(triaged.nearest, ","));
        // A start in the future (a sender's clock, or a forged one) would
        // keep the incident at the top of every list.
        open_new.Bind(6, alert.starts_at_ms > 0
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
        result.opened.push_back(IncidentId(incident));
      } else {
        return open_for.Error("finding the open incident");
      }
      add.Reset();
      add.Bind(1, alert.fingerprint);
      add.Bind(2, alert.starts_at_ms);
      add.Bind(3, incident);
      add.Bind(4, std::string("firing"));
      add.Bind(5, int64_t{0});
      add.Bind(6, received_at_ms);
      add.Bind(7, triaged.source);
      add.Bind(8, MapJson(alert.labels));
      add.Bind(9, MapJson(alert.annotations));
      add.Bind(10, alert.generator_url);
      if (add.Step() != SQLITE_DONE) return add.Error("recording an alert");
    }
    return absl::OkStatus();
  }();
  if (!failed.ok()) {
    Exec(db_, "ROLLBACK").IgnoreError();
    return failed;
  }
  if (absl::Status committed = Exec(db_, "COMMIT"); !committed.ok()) {
    Exec(db_, "ROLLBACK").IgnoreError();
    return committed;
  }
  return result;
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

absl::StatusOr<std::vector<v1::Incident>> IncidentStore::List(
    bool include_resolved, int limit) {
  absl::MutexLock lock(&mutex_);
  return Select(include_resolved ? "ORDER BY id DESC"
                                 : "WHERE status = 'open' ORDER BY id DESC",
                0, limit);
}

absl::StatusOr<std::vector<v1::Incident>> IncidentStore::UnfinishedDiagnoses() {
  absl::MutexLock lock(&mutex_);
  return Select(
      "WHERE status = 'open' AND diagnosis_state IN ('pending', 'running') "
      "ORDER BY id",
      0, 1000);
}

absl::StatusOr<v1::Incident> IncidentStore::Get(const std::string& id) {
  absl::StatusOr<int64_t> number = ParseId(id);
  if (!number.ok()) return number.status();
  absl::MutexLock lock(&mutex_);
  absl::StatusOr<std::vector<v1::Incident>> found =
      Select("WHERE id = ?1", *number, 1);
  if (!found.ok()) return found.status();
  if (found->empty())
    return absl::NotFoundError(absl::StrCat("no incident ", id));
  v1::Incident incident = found->front();
  Statement alerts(db_,
                   "SELECT fingerprint, status, starts_at_ms, ends_at_ms, "
                   "received_at_ms, source, labels_json, annotations_json, "
                   "generator_url FROM incident_alerts WHERE incident = ?1 "
                   "ORDER BY starts_at_ms, fingerprint");
  if (absl::Status status = alerts.status(); !status.ok()) return status;
  alerts.Bind(1, *number);
  int rc;
  while ((rc = alerts.Step()) == SQLITE_ROW) {
    v1::IncidentAlert* alert = incident.add_alerts();
    alert->set_fingerprint(alerts.Text(0));
    alert->set_status(alerts.Text(1));
    alert->set_starts_at_ms(alerts.Int(2));
    alert->set_ends_at_ms(alerts.Int(3));
    alert->set_received_at_ms(alerts.Int(4));
    alert->set_source(alerts.Text(5));
    alert->set_labels_json(alerts.Text(6));
    alert->set_annotations_json(alerts.Text(7));
    alert->set_generator_url(alerts.Text(8));
  }
  if (rc != SQLITE_DONE) return alerts.Error("reading an incident's alerts");
  return incident;
}

}  // namespace opsagent
