#ifndef OPSAGENT_CONTROLLER_ALERTS_INCIDENT_SCHEMA_H_
#define OPSAGENT_CONTROLLER_ALERTS_INCIDENT_SCHEMA_H_

#include "absl/status/status.h"

struct sqlite3;

namespace opsagent {

// The incidents' tables, beside the audit log's in its database: creates
// them, or brings those of an older opsctld up to date (alerts received
// before senders were recorded become sender "default"s, bound to the
// digest of their labels). The caller serializes it with its other writes.
absl::Status CreateOrUpgradeIncidentSchema(sqlite3* db);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_INCIDENT_SCHEMA_H_
