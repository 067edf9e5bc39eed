#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "agent/system/open_files.h"
#include "common/host_text.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

absl::Status RunOpenDeleted(const OperationContext& context,
                            const v1::OpenDeletedRequest& request,
                            v1::OpenDeletedReply* reply) {
  const uint32_t limit = context.agent.config.limits().max_top_n();
  const size_t listed = request.top() == 0 ? 10 : request.top();
  if (listed > limit)
    return absl::InvalidArgumentError(absl::StrCat(
        "top ", listed, " is above this agent's limit of ", limit));
  std::vector<OpenDeletedFile> files = FindOpenDeletedFiles();
  std::sort(files.begin(), files.end(),
            [](const OpenDeletedFile& a, const OpenDeletedFile& b) {
              return a.disk_bytes > b.disk_bytes;
            });
  uint64_t total = 0;
  for (const OpenDeletedFile& file : files) {
    total += file.disk_bytes;
    if (static_cast<size_t>(reply->files_size()) == listed) {
      reply->set_files_not_listed(reply->files_not_listed() + 1);
      reply->set_disk_bytes_not_listed(reply->disk_bytes_not_listed() +
                                       file.disk_bytes);
      continue;
    }
    v1::OpenDeletedFile* out = reply->add_files();
    out->set_pid(file.pid);
    out->set_process_name(EscapeHostBytes(file.process_name));
    out->set_fd(file.fd);
    out->set_path(EscapeHostBytes(file.path));
    out->set_size_bytes(file.size_bytes);
    out->set_disk_bytes(file.disk_bytes);
  }
  reply->set_total_disk_bytes(total);
  return absl::OkStatus();
}

}  // namespace

OPSAGENT_OPERATION(ListOpenDeletedFiles, RunOpenDeleted);

}  // namespace opsagent
