#include <fcntl.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "agent/system/confined_path.h"
#include "agent/system/disk_usage_scanner.h"
#include "common/host_text.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

void CopyPathSizes(const std::vector<PathSize>& from,
                   google::protobuf::RepeatedPtrField<v1::PathUsage>* to) {
  for (const PathSize& entry : from) {
    v1::PathUsage* out = to->Add();
    out->set_path(EscapeHostBytes(entry.path));
    out->set_disk_bytes(entry.disk_bytes);
    out->set_apparent_bytes(entry.apparent_bytes);
  }
}

absl::Status RunDiskUsage(
    const OperationContext& context, const v1::DiskUsageRequest& request,
    const std::function<bool(const v1::DiskUsageEvent&)>& emit) {
  const v1::AgentConfig& config = context.agent.config;
  const v1::Limits& limits = config.limits();
  for (uint32_t n : {request.top_directories(), request.top_files()}) {
    if (n > limits.max_top_n()) {
      return absl::InvalidArgumentError(
          absl::StrCat("a top-N of ", n, " is above this agent's limit of ",
                       limits.max_top_n()));
    }
  }
  absl::StatusOr<ConfinedPath> path =
      ConfinePath(request.path(), context.agent.inspection_roots);
  if (!path.ok()) return path.status();
  absl::StatusOr<UniqueFd> directory =
      OpenConfined(*path, O_RDONLY | O_DIRECTORY);
  if (!directory.ok()) return directory.status();

  DiskUsageScanOptions options;
  options.top_directories =
      request.top_directories() == 0 ? 10 : request.top_directories();
  options.top_files = request.top_files() == 0 ? 10 : request.top_files();
  options.max_entries = request.max_entries() == 0
                            ? limits.max_scan_entries()
                            : std::min<uint64_t>(request.max_entries(),
                                                 limits.max_scan_entries());
  options.deadline = std::min(
      context.deadline, absl::Now() + absl::Seconds(limits.max_scan_seconds()));
  options.cancelled = context.cancelled;
  options.on_progress = [&emit](const DiskUsageProgressUpdate& update) {
    v1::DiskUsageEvent event;
    event.mutable_progress()->set_entries_scanned(update.entries_scanned);
    event.mutable_progress()->set_disk_bytes_scanned(update.disk_bytes_scanned);
    event.mutable_progress()->set_elapsed_ms(
        absl::ToInt64Milliseconds(update.elapsed));
    emit(event);
  };
  absl::StatusOr<DiskUsageSummary> summary =
      ScanDiskUsage(directory->get(), path->full, options);
  if (!summary.ok()) return summary.status();
  if (context.cancelled && context.cancelled()) {
    return absl::CancelledError("the caller went away; scan abandoned");
  }

  v1::DiskUsageEvent event;
  v1::DiskUsageResult* result = event.mutable_result();
  result->set_path(EscapeHostBytes(path->full));
  result->set_disk_bytes(summary->disk_bytes);
  result->set_apparent_bytes(summary->apparent_bytes);
  result->set_files(summary->files);
  result->set_directories(summary->directories);
  CopyPathSizes(summary->largest_directories,
                result->mutable_largest_directories());
  CopyPathSizes(summary->largest_files, result->mutable_largest_files());
  result->set_incomplete(summary->incomplete);
  result->set_incomplete_reason(summary->incomplete_reason);
  result->set_skipped_entries(summary->skipped_entries);
  for (const std::string& error : summary->errors) result->add_errors(error);
  result->set_elapsed_ms(absl::ToInt64Milliseconds(summary->elapsed));
  if (!emit(event))
    return absl::CancelledError(
        "the caller went away before the result was sent");
  return absl::OkStatus();
}

}  // namespace

OPSAGENT_OPERATION(ScanDiskUsage, RunDiskUsage);

}  // namespace opsagent
