#ifndef OPSAGENT_CONTROLLER_OUTPUT_SERVICE_LOG_H_
#define OPSAGENT_CONTROLLER_OUTPUT_SERVICE_LOG_H_

#include <string>

#include "google/protobuf/repeated_ptr_field.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {

// A service's log lines as journalctl prints them, one per line:
// "Dec 01 12:27:20 flaky[20]: listening on :8080" (UTC), or "stderr: ..."
// for a supervisord log line, which has no time. Made safe for a terminal.
std::string FormatServiceLog(
    const google::protobuf::RepeatedPtrField<v1::ServiceLogLine>& lines,
    const std::string& indent);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_OUTPUT_SERVICE_LOG_H_
