#include "controller/server/run_incident.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "controller/incident_id.h"

namespace opsagent {

absl::Status CheckRunIncident(const v1::RunRequest& run,
                              const OperationInfo& op,
                              IncidentStore* incidents) {
  std::set<std::string> named;
  for (const v1::SignedRequest& signed_request : run.requests()) {
    v1::RequestEnvelope envelope;
    std::unique_ptr<google::protobuf::Message> request = op.NewRequest();
    if (!envelope.ParseFromString(signed_request.envelope()) ||
        !request->ParseFromString(envelope.request()))
      continue;
    const std::string& incident = OperationInfo::Meta(*request).incident();
    if (!incident.empty()) named.insert(incident);
  }
  for (const std::string& incident : named) {
    if (absl::Status known = CheckNamedIncident(incident, incidents);
        !known.ok())
      return known;
  }
  return absl::OkStatus();
}

absl::Status CheckNamedIncident(const std::string& incident,
                                IncidentStore* incidents) {
  if (incident.empty()) return absl::OkStatus();
  absl::StatusOr<int64_t> number = ParseIncidentId(incident, "--incident");
  if (!number.ok()) return number.status();
  if (incidents == nullptr) return absl::OkStatus();
  absl::StatusOr<v1::Incident> found = incidents->Get(incident, "", 4096);
  if (absl::IsNotFound(found.status()))
    return absl::InvalidArgumentError(absl::StrCat(
        "--incident ", incident,
        ": this controller has no such incident (`opsctl incidents --all` "
        "lists them); nothing was run or recorded"));
  return found.status();
}

}  // namespace opsagent
