#include "agent/ops/registry.h"

#include "agent/ops/disk_usage.h"
#include "agent/ops/filesystems.h"
#include "agent/ops/info.h"
#include "agent/ops/memory.h"
#include "agent/ops/open_deleted.h"
#include "agent/ops/restart_service.h"
#include "agent/ops/run_command.h"
#include "agent/ops/truncate_log.h"

namespace opsagent {

absl::Span<const OperationSpec* const> AllOperations() {
  static const OperationSpec* const kOperations[] = {
      &kInfoOperation,           &kMemoryOperation,      &kFilesystemsOperation,
      &kDiskUsageOperation,      &kOpenDeletedOperation, &kTruncateLogOperation,
      &kRestartServiceOperation, &kRunCommandOperation,
  };
  return kOperations;
}

const OperationSpec* FindOperation(absl::string_view name) {
  for (const OperationSpec* op : AllOperations()) {
    if (op->name == name) return op;
  }
  return nullptr;
}

}  // namespace opsagent
