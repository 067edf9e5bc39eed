#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "agent/system/meminfo.h"
#include "agent/system/process_table.h"
#include "common/host_text.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

absl::Status RunMemory(const OperationContext& context,
                       const v1::MemoryRequest& request,
                       v1::MemoryReply* reply) {
  const uint32_t max_top = context.agent.config.limits().max_top_n();
  if (request.top_processes() > max_top) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_processes ", request.top_processes(),
                     " is above this agent's limit of ", max_top));
  }
  absl::StatusOr<MemoryUsage> usage = ReadMeminfo();
  if (!usage.ok()) return usage.status();
  reply->set_total_bytes(usage->total);
  reply->set_used_bytes(usage->used);
  reply->set_free_bytes(usage->free);
  reply->set_shared_bytes(usage->shared);
  reply->set_buff_cache_bytes(usage->buff_cache);
  reply->set_available_bytes(usage->available);
  reply->set_swap_total_bytes(usage->swap_total);
  reply->set_swap_used_bytes(usage->swap_used);
  reply->set_swap_free_bytes(usage->swap_free);
  const size_t top =
      request.top_processes() == 0 ? 10 : request.top_processes();
  absl::StatusOr<std::vector<ProcessRss>> processes =
      LargestProcessesByRss(top);
  if (!processes.ok()) return processes.status();
  for (const ProcessRss& process : *processes) {
    v1::ProcessMemory* out = reply->add_top_processes();
    out->set_pid(process.pid);
    out->set_name(EscapeHostBytes(process.name));
    out->set_rss_bytes(process.rss_bytes);
    out->set_uid(process.uid);
  }
  return absl::OkStatus();
}

}  // namespace

OPSAGENT_OPERATION(GetMemory, RunMemory);

}  // namespace opsagent
