#include "controller/alerts/incident_rows.h"

#include "absl/strings/str_split.h"
#include "common/utf8.h"
#include "controller/incident_id.h"
#include "nlohmann/json.hpp"

namespace opsagent {

const char kIncidentColumns[] =
    "id, alertname, host, host_known, entry, nearest, status, opened_at_ms, "
    "resolved_at_ms, summary, mountpoint, device, environment, "
    "diagnosis_state, diagnosis_started_ms, diagnosis_finished_ms, "
    "diagnosis_exit, diagnosis_output, diagnosis_run, owner, "
    "acknowledged_at_ms, last_human_action_ms, last_human_action_by, "
    "resolved_by";

std::string MapJson(const std::map<std::string, std::string>& map) {
  return nlohmann::json(map).dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace);
}

std::string BoundedMapJson(const std::map<std::string, std::string>& map,
                           size_t max_bytes, bool& cut) {
  std::string whole = MapJson(map);
  if (whole.size() <= max_bytes) return whole;
  cut = true;
  constexpr size_t kCutValueBytes = 256;
  nlohmann::json bounded = nlohmann::json::object();
  size_t used = 2;  // {}
  for (const auto& [name, value] : map) {
    std::string kept(Utf8Prefix(value, kCutValueBytes));
    if (kept.size() < value.size()) kept += "...";
    const size_t cost = MapJson({{name, kept}}).size() - 1;  // "n":"v",
    if (used + cost > max_bytes) break;
    used += cost;
    bounded[name] = std::move(kept);
  }
  return bounded.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

v1::Incident ReadIncident(const Statement& row) {
  v1::Incident incident;
  incident.set_id(FormatIncidentId(row.Int(0)));
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
  incident.set_owner(row.Text(19));
  incident.set_acknowledged_at_ms(row.Int(20));
  incident.set_last_human_action_ms(row.Int(21));
  incident.set_last_human_action_by(row.Text(22));
  incident.set_resolved_by(row.Text(23));
  return incident;
}

}  // namespace opsagent
