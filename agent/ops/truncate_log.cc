#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "agent/ops/target_locks.h"
#include "agent/system/log_truncator.h"
#include "agent/system/open_files.h"
#include "common/host_text.h"
#include "common/human_size.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

std::string HoldersText(const v1::TruncateLogReply& reply) {
  if (reply.holders().empty()) return "held open by no process";
  std::vector<std::string> names;
  for (const v1::FileHolder& h : reply.holders())
    names.push_back(absl::StrCat(h.process_name(), " (pid ", h.pid(), ")"));
  return absl::StrCat("held open by ", absl::StrJoin(names, ", "));
}

// The agent's journal, configuration and keys are never truncatable; the
// configuration check refuses patterns that name them, and this refuses the
// same files reached under another name (a bind mount).
absl::Status RefuseAgentOwnFile(const v1::AgentConfig& config,
                                const struct stat& target,
                                const std::string& shown) {
  for (const std::string* own :
       {&config.journal_path(), &config.tls().certificate(),
        &config.tls().private_key(), &config.tls().ca_certificate()}) {
    struct stat st;
    if (own->empty() || stat(own->c_str(), &st) != 0) continue;
    if (st.st_dev == target.st_dev && st.st_ino == target.st_ino) {
      return absl::PermissionDeniedError(absl::StrCat(
          shown, " is the agent's own ", *own, "; it is never truncated"));
    }
  }
  return absl::OkStatus();
}

void AddHolderWarnings(v1::TruncateLogReply* reply, uint64_t size_before) {
  for (const v1::FileHolder& holder : reply->holders()) {
    if (!holder.writes_without_append()) continue;
    reply->add_warnings(absl::StrCat(
        holder.process_name(), " (pid ", holder.pid(),
        ") writes to it without O_APPEND: at its next write the file grows "
        "back to its old apparent size (",
        FormatHumanSize(size_before),
        ") as a sparse file. The space stays free, but ls -l and "
        "du --apparent-size will show the old size until that process "
        "reopens the log or is restarted"));
  }
}

absl::Status RunTruncateLog(const OperationContext& context,
                            const v1::TruncateLogRequest& request,
                            v1::TruncateLogReply* reply) {
  if (request.keep_tail_bytes() > kMaxKeepTailBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "keep_tail_bytes may be at most ", FormatHumanSize(kMaxKeepTailBytes)));
  }
  absl::StatusOr<ConfinedPath> path =
      context.agent.truncatable_logs.Match(request.path());
  if (!path.ok()) return path.status();
  absl::StatusOr<std::unique_ptr<TargetLocks::Lease>> lease =
      context.locks->Acquire(absl::StrCat("file:", path->full),
                             context.caller.ToString(), "truncate_log");
  if (!lease.ok()) return lease.status();
  absl::StatusOr<CheckedLog> log = OpenLogForTruncation(*path);
  if (!log.ok()) return log.status();
  const std::string shown = EscapeHostBytes(path->full);
  if (absl::Status own =
          RefuseAgentOwnFile(context.agent.config, log->st, shown);
      !own.ok())
    return own;

  reply->set_path(shown);
  reply->set_dry_run(context.dry_run);
  for (const OpenFileHolder& holder :
       FindFileHolders(log->st.st_dev, log->st.st_ino)) {
    if (holder.pid == getpid()) continue;  // the agent's own descriptor
    v1::FileHolder* out = reply->add_holders();
    out->set_pid(holder.pid);
    out->set_process_name(EscapeHostBytes(holder.process_name));
    out->set_writes_without_append(holder.writes_without_append);
  }
  const uint64_t size = log->st.st_size;
  const uint64_t allocated = static_cast<uint64_t>(log->st.st_blocks) * 512;
  const uint64_t keep = std::min<uint64_t>(request.keep_tail_bytes(), size);
  reply->set_size_before_bytes(size);
  AddHolderWarnings(reply, size);
  if (context.dry_run) {
    reply->set_size_after_bytes(keep);
    reply->set_file_freed_bytes(allocated > keep ? allocated - keep : 0);
    reply->set_summary(absl::StrCat(
        "would truncate ", shown, " from ", FormatHumanSize(size), " (",
        FormatHumanSize(allocated), " on disk) to ", FormatHumanSize(keep),
        ", freeing about ", FormatHumanSize(reply->file_freed_bytes()), "; ",
        HoldersText(*reply)));
    return absl::OkStatus();
  }
  absl::StatusOr<TruncationResult> result = TruncateCheckedLog(*log, keep);
  if (!result.ok()) return result.status();
  reply->set_size_after_bytes(result->size_after);
  reply->set_allocated_after_bytes(result->allocated_after);
  reply->set_file_freed_bytes(result->file_freed_bytes);
  reply->set_filesystem_freed_bytes(result->filesystem_freed_bytes);
  if (result->file_freed_bytes == 0 && result->size_before > 0) {
    reply->add_warnings(
        absl::StrCat("the file gave back no space: it held ",
                     FormatHumanSize(result->allocated_before), " on disk for ",
                     FormatHumanSize(result->size_before),
                     " of content (sparse), and what was kept needs ",
                     FormatHumanSize(result->allocated_after)));
  }
  reply->set_summary(absl::StrCat(
      "truncated ", shown, " from ", FormatHumanSize(result->size_before),
      " to ", FormatHumanSize(result->size_after), " (",
      FormatHumanSize(result->allocated_after), " on disk",
      result->tail_method == "collapse"
          ? "; the head was cut out in place, to whole filesystem blocks"
          : "",
      "); the file gave back ", FormatHumanSize(result->file_freed_bytes), "; ",
      HoldersText(*reply)));
  return absl::OkStatus();
}

}  // namespace

OPSAGENT_OPERATION(TruncateLog, RunTruncateLog);

}  // namespace opsagent
