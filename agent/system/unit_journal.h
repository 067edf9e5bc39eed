#ifndef OPSAGENT_AGENT_SYSTEM_UNIT_JOURNAL_H_
#define OPSAGENT_AGENT_SYSTEM_UNIT_JOURNAL_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/system/service_controller.h"

namespace opsagent {

// The last `lines` journal entries about a systemd unit, oldest first, the
// ones `journalctl -u UNIT -n LINES` shows: what the unit's processes logged
// (_SYSTEMD_UNIT, which journald sets and no process can forge) and what
// systemd itself logged about the unit (UNIT= from PID 1, OBJECT_SYSTEMD_UNIT=
// from root). A UNIT= field any other process writes is ignored. Reads the
// local system journal through libsystemd's sd-journal; each message is cut
// at kMaxServiceLogLineBytes and escaped.
absl::StatusOr<std::vector<ServiceLogLine>> ReadUnitJournal(
    absl::string_view unit, size_t lines);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_UNIT_JOURNAL_H_
