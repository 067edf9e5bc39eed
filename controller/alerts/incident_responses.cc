// IncidentStore: what people do with incidents (RespondToIncident) and the
// silences they make; the intake's side is incident_store.cc.

#include <sqlite3.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/sqlite_statement.h"
#include "controller/alerts/incident_rows.h"
#include "controller/alerts/incident_store.h"
#include "controller/incident_id.h"
#include "nlohmann/json.hpp"

namespace opsagent {

absl::Status IncidentStore::ReadSilences(int64_t number,
                                         v1::Incident& incident) {
  Statement silences(db_,
                     "SELECT id, created_by, created_at_ms, ends_at_ms, "
                     "expired_at_ms, matchers FROM incident_silences WHERE "
                     "incident = ?1 ORDER BY created_at_ms DESC, id LIMIT ?2");
  if (absl::Status status = silences.status(); !status.ok()) return status;
  silences.Bind(1, number);
  silences.Bind(2, int64_t{kMaxSilencesShown});
  int rc;
  while ((rc = silences.Step()) == SQLITE_ROW) {
    v1::IncidentSilence* silence = incident.add_silences();
    silence->set_id(silences.Text(0));
    silence->set_created_by(silences.Text(1));
    silence->set_created_at_ms(silences.Int(2));
    silence->set_ends_at_ms(silences.Int(3));
    silence->set_expired_at_ms(silences.Int(4));
    silence->set_matchers(silences.Text(5));
  }
  if (rc != SQLITE_DONE) return silences.Error("reading silences");
  return absl::OkStatus();
}

absl::Status IncidentStore::CheckResponse(const v1::Incident& incident,
                                          v1::IncidentResponse::Action action) {
  const bool open = incident.status() == "open";
  switch (action) {
    case v1::IncidentResponse::ACTION_ACKNOWLEDGE:
    case v1::IncidentResponse::ACTION_RESOLVE:
    case v1::IncidentResponse::ACTION_SILENCE:
      if (!open)
        return absl::FailedPreconditionError(
            absl::StrCat(incident.id(),
                         " is resolved; reopen it first (opsctl incident "
                         "reopen ",
                         incident.id(), " --reason ...)"));
      return absl::OkStatus();
    case v1::IncidentResponse::ACTION_REOPEN:
      if (open)
        return absl::FailedPreconditionError(
            absl::StrCat(incident.id(), " is open"));
      return absl::OkStatus();
    case v1::IncidentResponse::ACTION_NOTE:
    case v1::IncidentResponse::ACTION_UNSILENCE:
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(
          "the action must be acknowledge, note, resolve, reopen, silence or "
          "unsilence");
  }
}

absl::StatusOr<v1::Incident> IncidentStore::FindForResponse(
    int64_t number, const std::string& id,
    v1::IncidentResponse::Action action) {
  absl::StatusOr<std::vector<v1::Incident>> found =
      Select("WHERE id = ?1", number, 1);
  if (!found.ok()) return found.status();
  if (found->empty())
    return absl::NotFoundError(absl::StrCat("no incident ", id));
  if (absl::Status allowed = CheckResponse(found->front(), action);
      !allowed.ok())
    return allowed;
  return found->front();
}

absl::StatusOr<v1::Incident> IncidentStore::RecordHumanAction(
    int64_t number, absl::string_view set, const std::string& by,
    int64_t at_ms) {
  Statement write(
      db_, absl::StrCat("UPDATE incidents SET ", set, set.empty() ? "" : ", ",
                        "last_human_action_ms = ?3, "
                        "last_human_action_by = ?2 WHERE id = ?1"));
  if (absl::Status status = write.status(); !status.ok()) return status;
  write.Bind(1, number);
  write.Bind(2, by);
  write.Bind(3, at_ms);
  if (write.Step() != SQLITE_DONE) return write.Error("updating an incident");
  absl::StatusOr<std::vector<v1::Incident>> found =
      Select("WHERE id = ?1", number, 1);
  if (!found.ok()) return found.status();
  v1::Incident now = found->front();
  if (absl::Status silences = ReadSilences(number, now); !silences.ok())
    return silences;
  return now;
}

absl::StatusOr<v1::Incident> IncidentStore::Respond(
    const std::string& id, v1::IncidentResponse::Action action,
    const std::string& by, int64_t at_ms) {
  absl::StatusOr<int64_t> number = ParseId(id);
  if (!number.ok()) return number.status();
  absl::MutexLock lock(&mutex_);
  return InWriteTransaction(
      db_, "incidents", [&]() -> absl::StatusOr<v1::Incident> {
        absl::StatusOr<v1::Incident> incident =
            FindForResponse(*number, id, action);
        if (!incident.ok()) return incident.status();
        std::string update;
        switch (action) {
          case v1::IncidentResponse::ACTION_ACKNOWLEDGE:
            update = "owner = ?2, acknowledged_at_ms = ?3";
            break;
          case v1::IncidentResponse::ACTION_RESOLVE:
            update =
                "status = 'resolved', resolved_at_ms = ?3, resolved_by = ?2";
            break;
          case v1::IncidentResponse::ACTION_REOPEN: {
            // One open incident per host and entry: alerts join it.
            Statement other(
                db_,
                "SELECT id FROM incidents WHERE status = 'open' AND "
                "entry = ?2 AND ((?3 = 1 AND host = ?1) OR "
                "(?3 = 0 AND host_known = 0)) LIMIT 1");
            if (absl::Status status = other.status(); !status.ok())
              return status;
            other.Bind(1, incident->host());
            other.Bind(2, incident->entry());
            other.Bind(3, int64_t{incident->host_known()});
            const int rc = other.Step();
            if (rc == SQLITE_ROW)
              return absl::FailedPreconditionError(absl::StrCat(
                  FormatIncidentId(other.Int(0)),
                  " is open for the same host and runbook entry; its alerts go "
                  "there, so work on it instead"));
            if (rc != SQLITE_DONE) return other.Error("finding open incidents");
            update = "status = 'open', resolved_at_ms = 0, resolved_by = ''";
            break;
          }
          default:
            break;
        }
        return RecordHumanAction(*number, update, by, at_ms);
      });
}

absl::StatusOr<IncidentStore::SilencePlan> IncidentStore::SilenceMatchers(
    const std::string& id) {
  absl::StatusOr<int64_t> number = ParseId(id);
  if (!number.ok()) return number.status();
  absl::MutexLock lock(&mutex_);
  Statement firing(db_,
                   "SELECT DISTINCT labels_json FROM incident_alerts WHERE "
                   "incident = ?1 AND status = 'firing' AND folded = 0");
  if (absl::Status status = firing.status(); !status.ok()) return status;
  firing.Bind(1, *number);
  SilencePlan plan;
  int rc;
  while ((rc = firing.Step()) == SQLITE_ROW) {
    nlohmann::json labels =
        nlohmann::json::parse(firing.Text(0), nullptr, false);
    const auto label = [&labels](const char* name) -> std::string {
      if (!labels.is_object() || !labels.contains(name) ||
          !labels[name].is_string())
        return "";
      return labels[name].get<std::string>();
    };
    const std::string alertname = label("alertname");
    const std::string instance = label("instance");
    if (alertname.empty() || instance.empty()) {
      const std::string name = alertname.empty() ? "(no name)" : alertname;
      if (std::find(plan.unsilenceable.begin(), plan.unsilenceable.end(),
                    name) == plan.unsilenceable.end())
        plan.unsilenceable.push_back(name);
      continue;
    }
    Matchers matchers = {{"alertname", alertname}, {"instance", instance}};
    if (std::find(plan.silences.begin(), plan.silences.end(), matchers) ==
        plan.silences.end())
      plan.silences.push_back(std::move(matchers));
    if (plan.silences.size() > kMaxSilencesPerResponse)
      return absl::FailedPreconditionError(absl::StrCat(
          id, " has alerts firing on more than ", kMaxSilencesPerResponse,
          " hosts or names; silence them in Alertmanager by hand"));
  }
  if (rc != SQLITE_DONE) return firing.Error("reading firing alerts");
  if (plan.silences.empty() && !plan.unsilenceable.empty())
    return absl::FailedPreconditionError(absl::StrCat(
        "an alert of ", id, " (", plan.unsilenceable.front(),
        ") has no instance label: a silence of its name alone would silence "
        "it on every host, so silence it in Alertmanager by hand"));
  if (plan.silences.empty())
    return absl::FailedPreconditionError(
        absl::StrCat("no alert of ", id, " is firing: nothing to silence"));
  return plan;
}

absl::StatusOr<v1::Incident> IncidentStore::AddSilences(
    const std::string& id, const std::vector<v1::IncidentSilence>& silences,
    const std::string& by, int64_t at_ms) {
  absl::StatusOr<int64_t> number = ParseId(id);
  if (!number.ok()) return number.status();
  absl::MutexLock lock(&mutex_);
  return InWriteTransaction(
      db_, "incidents", [&]() -> absl::StatusOr<v1::Incident> {
        // It may have been resolved while Alertmanager was asked.
        if (absl::StatusOr<v1::Incident> open = FindForResponse(
                *number, id, v1::IncidentResponse::ACTION_SILENCE);
            !open.ok())
          return open.status();
        Statement add(
            db_,
            "INSERT INTO incident_silences (id, incident, created_by, "
            "created_at_ms, ends_at_ms, matchers) VALUES (?1, ?2, ?3, "
            "?4, ?5, ?6)");
        if (absl::Status status = add.status(); !status.ok()) return status;
        for (const v1::IncidentSilence& silence : silences) {
          add.Reset();
          add.Bind(1, silence.id());
          add.Bind(2, *number);
          add.Bind(3, silence.created_by());
          add.Bind(4, silence.created_at_ms());
          add.Bind(5, silence.ends_at_ms());
          add.Bind(6, silence.matchers());
          if (add.Step() != SQLITE_DONE)
            return add.Error("recording a silence");
        }
        return RecordHumanAction(*number, "", by, at_ms);
      });
}

absl::Status IncidentStore::ExpireSilence(const std::string& silence_id,
                                          int64_t at_ms) {
  absl::MutexLock lock(&mutex_);
  Statement expire(db_,
                   "UPDATE incident_silences SET expired_at_ms = ?2 WHERE id "
                   "= ?1 AND expired_at_ms = 0");
  if (absl::Status status = expire.status(); !status.ok()) return status;
  expire.Bind(1, silence_id);
  expire.Bind(2, at_ms);
  if (expire.Step() != SQLITE_DONE) return expire.Error("expiring a silence");
  return absl::OkStatus();
}

}  // namespace opsagent
