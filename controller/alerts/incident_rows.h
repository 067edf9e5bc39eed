#ifndef OPSAGENT_CONTROLLER_ALERTS_INCIDENT_ROWS_H_
#define OPSAGENT_CONTROLLER_ALERTS_INCIDENT_ROWS_H_

#include <map>
#include <string>

#include "common/sqlite_statement.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// How an incident and its alerts' text are kept in their tables.

// The incidents table's columns, in the order ReadIncident reads them.
extern const char kIncidentColumns[];

// The incident of a row selected with kIncidentColumns.
v1::Incident ReadIncident(const Statement& row);

// `map` as compact JSON (invalid UTF-8 replaced).
std::string MapJson(const std::map<std::string, std::string>& map);

// `map` as JSON of at most `max_bytes`: whole when it fits, else with each
// value cut to 256 bytes and the entries that still do not fit left out.
// `cut` says whether anything was.
std::string BoundedMapJson(const std::map<std::string, std::string>& map,
                           size_t max_bytes, bool& cut);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_INCIDENT_ROWS_H_
