#ifndef OPSAGENT_CONTROLLER_INCIDENT_ID_H_
#define OPSAGENT_CONTROLLER_INCIDENT_ID_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace opsagent {

// The one written form of an incident id, "INC-<n>": n a positive decimal
// without leading zeros ("INC-7", never "inc-7", "INC-07", "7" or
// "INC-+7"), so that an action recorded with an id and the incident's
// timeline that looks it up agree byte for byte. Returns n, or
// INVALID_ARGUMENT naming `field` ("--incident") and the expected form.
absl::StatusOr<int64_t> ParseIncidentId(absl::string_view id,
                                        absl::string_view field = "incident");

// "INC-<n>", the form ParseIncidentId reads.
std::string FormatIncidentId(int64_t number);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_INCIDENT_ID_H_
