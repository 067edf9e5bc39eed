#include "controller/alerts/incident_schema.h"

#include <sqlite3.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/sqlite_statement.h"

namespace opsagent {
namespace {

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
)sql";

// An alert is its sender's; `labels_sha256` and `source` are what it was
// first received with. A folded alert keeps its identity and state, not its
// text.
constexpr char kAlertsTable[] = R"sql(
CREATE TABLE IF NOT EXISTS incident_alerts (
  sender           TEXT    NOT NULL,
  fingerprint      TEXT    NOT NULL,
  starts_at_ms     INTEGER NOT NULL,
  incident         INTEGER NOT NULL REFERENCES incidents (id),
  status           TEXT    NOT NULL,
  ends_at_ms       INTEGER NOT NULL,
  received_at_ms   INTEGER NOT NULL,
  source           TEXT    NOT NULL,
  labels_sha256    TEXT    NOT NULL,
  labels_json      TEXT    NOT NULL,
  annotations_json TEXT    NOT NULL,
  generator_url    TEXT    NOT NULL,
  text_cut         INTEGER NOT NULL DEFAULT 0,
  folded           INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (sender, fingerprint, starts_at_ms)
);
)sql";

constexpr char kAlertsIndex[] = R"sql(
CREATE INDEX IF NOT EXISTS incident_alerts_incident
  ON incident_alerts (incident, folded);
)sql";

// Moves alerts of a database from before senders were recorded to the
// current table (their sender "default").
absl::Status MoveAlertsToSenders(sqlite3* db) {
  {
    Statement columns(db,
                      "SELECT count(*), sum(name = 'sender') FROM "
                      "pragma_table_info('incident_alerts')");
    if (absl::Status status = columns.status(); !status.ok()) return status;
    if (columns.Step() != SQLITE_ROW)
      return columns.Error("reading the alerts table's columns");
    if (columns.Int(0) == 0 || columns.Int(1) > 0) return absl::OkStatus();
  }
  // Alerts from before senders were recorded came with the one token there
  // was; their labels_json was the whole labels' JSON, whose digest binds
  // them.
  struct Digest {
    std::string fingerprint;
    int64_t starts_at_ms;
    std::string labels_sha256;
  };
  std::vector<Digest> digests;
  {
    Statement labels(db,
                     "SELECT fingerprint, starts_at_ms, labels_json FROM "
                     "incident_alerts");
    if (absl::Status status = labels.status(); !status.ok()) return status;
    int rc;
    while ((rc = labels.Step()) == SQLITE_ROW)
      digests.push_back(
          {labels.Text(0), labels.Int(1), Sha256Hex(labels.Text(2))});
    if (rc != SQLITE_DONE) return labels.Error("reading alerts to migrate");
  }
  const std::string move = absl::StrCat(
      "BEGIN IMMEDIATE;"
      "ALTER TABLE incident_alerts RENAME TO incident_alerts_v1;"
      "DROP INDEX IF EXISTS incident_alerts_incident;",
      kAlertsTable,
      "INSERT INTO incident_alerts (sender, fingerprint, starts_at_ms, "
      "incident, status, ends_at_ms, received_at_ms, source, labels_sha256, "
      "labels_json, annotations_json, generator_url) SELECT 'default', "
      "fingerprint, starts_at_ms, incident, status, ends_at_ms, "
      "received_at_ms, source, '', labels_json, "
      "annotations_json, generator_url FROM incident_alerts_v1 ORDER BY "
      "rowid;");
  if (absl::Status status = ExecSql(db, move.c_str(), "incidents");
      !status.ok()) {
    ExecSql(db, "ROLLBACK", "incidents").IgnoreError();
    return status;
  }
  absl::Status failed = [&]() -> absl::Status {
    Statement update(db,
                     "UPDATE incident_alerts SET labels_sha256 = ?3 WHERE "
                     "sender = 'default' AND fingerprint = ?1 AND "
                     "starts_at_ms = ?2");
    if (absl::Status status = update.status(); !status.ok()) return status;
    for (const Digest& digest : digests) {
      update.Reset();
      update.Bind(1, digest.fingerprint);
      update.Bind(2, digest.starts_at_ms);
      update.Bind(3, digest.labels_sha256);
      if (update.Step() != SQLITE_DONE) return update.Error("migrating alerts");
    }
    return ExecSql(db, "DROP TABLE incident_alerts_v1; COMMIT;", "incidents");
  }();
  if (!failed.ok()) ExecSql(db, "ROLLBACK", "incidents").IgnoreError();
  return failed;
}

// Columns added since the tables were first created: added to a database
// without them, so that one that older releases wrote opens as it was.
struct AddedColumn {
  const char* table;
  const char* name;
  const char* declaration;
};
constexpr AddedColumn kAddedColumns[] = {
    {"incident_alerts", "external_url", "TEXT NOT NULL DEFAULT ''"},
    {"incident_alerts", "dashboard_url", "TEXT NOT NULL DEFAULT ''"},
    {"incident_alerts", "panel_url", "TEXT NOT NULL DEFAULT ''"},
    {"incident_alerts", "silence_url", "TEXT NOT NULL DEFAULT ''"},
    {"incident_alerts", "link_refused", "INTEGER NOT NULL DEFAULT 0"},
    {"incidents", "owner", "TEXT NOT NULL DEFAULT ''"},
    {"incidents", "acknowledged_at_ms", "INTEGER NOT NULL DEFAULT 0"},
    {"incidents", "last_human_action_ms", "INTEGER NOT NULL DEFAULT 0"},
    {"incidents", "last_human_action_by", "TEXT NOT NULL DEFAULT ''"},
    {"incidents", "resolved_by", "TEXT NOT NULL DEFAULT ''"},
};

// The silences on-call created for incidents (IncidentStore::AddSilences).
constexpr char kSilencesTable[] = R"sql(
CREATE TABLE IF NOT EXISTS incident_silences (
  id            TEXT    PRIMARY KEY,
  incident      INTEGER NOT NULL REFERENCES incidents (id),
  created_by    TEXT    NOT NULL,
  created_at_ms INTEGER NOT NULL,
  ends_at_ms    INTEGER NOT NULL,
  expired_at_ms INTEGER NOT NULL DEFAULT 0,
  matchers      TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_silences_incident
  ON incident_silences (incident);
)sql";

absl::Status AddMissingColumns(sqlite3* db) {
  for (const AddedColumn& column : kAddedColumns) {
    Statement present(db,
                      absl::StrCat("SELECT count(*) FROM pragma_table_info('",
                                   column.table, "') WHERE name = ?1"));
    if (absl::Status status = present.status(); !status.ok()) return status;
    present.Bind(1, std::string(column.name));
    if (present.Step() != SQLITE_ROW)
      return present.Error("reading the incident tables' columns");
    if (present.Int(0) > 0) continue;
    const std::string add =
        absl::StrCat("ALTER TABLE ", column.table, " ADD COLUMN ", column.name,
                     " ", column.declaration);
    if (absl::Status status = ExecSql(db, add.c_str(), "incidents");
        !status.ok())
      return status;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CreateOrUpgradeIncidentSchema(sqlite3* db) {
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                          "PRAGMA foreign_keys=ON", kSchema}) {
    if (absl::Status status = ExecSql(db, sql, "incidents"); !status.ok())
      return status;
  }
  if (absl::Status moved = MoveAlertsToSenders(db); !moved.ok()) return moved;
  for (const char* sql : {kAlertsTable, kAlertsIndex, kSilencesTable}) {
    if (absl::Status status = ExecSql(db, sql, "incidents"); !status.ok())
      return status;
  }
  return AddMissingColumns(db);
}

}  // namespace opsagent
