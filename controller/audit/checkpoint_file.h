#ifndef OPSAGENT_CONTROLLER_AUDIT_CHECKPOINT_FILE_H_
#define OPSAGENT_CONTROLLER_AUDIT_CHECKPOINT_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/audit/audit_checkpoint.h"

namespace opsagent {

// Checkpoints outside the database, as JSON lines: opsctld's export file,
// syslog, `opsctl audit export`.

// One line, without the newline: {"type":"audit_checkpoint","number":...}.
std::string CheckpointJson(const v1::AuditCheckpoint& checkpoint);

// The checkpoints in JSON lines: opsctld's export file, or the output of
// `opsctl audit export` (whose event lines are skipped). A line that is
// neither is an error naming it.
absl::StatusOr<std::vector<v1::AuditCheckpoint>> ParseCheckpointLines(
    absl::string_view text);

// ParseCheckpointLines of a file's whole lines. opsctld ends every line it
// writes with a newline, so bytes after the last one are a line cut off
// mid-write (a crash): never read as a checkpoint, nor refused.
absl::StatusOr<std::vector<v1::AuditCheckpoint>> ReadCheckpointFile(
    const std::string& path);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_CHECKPOINT_FILE_H_
