#include "agent/ops/truncate_log.h"

#include <fnmatch.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/server/target_locks.h"
#include "agent/system/log_truncator.h"
#include "agent/system/open_files.h"
#include "common/human_size.h"

namespace opsagent {
namespace {

std::string HoldersText(const v1::TruncateLogReply& reply) {
  if (reply.holders().empty()) return "held open by no process";
  std::vector<std::string> names;
  for (const v1::FileHolder& h : reply.holders())
    names.push_back(absl::StrCat(h.process_name(), " (pid ", h.pid(), ")"));
  return absl::StrCat("held open by ", absl::StrJoin(names, ", "));
}

}  // namespace

const OperationSpec kTruncateLogOperation = {
    "truncate_log", OperationKind::kMutating, false,
    "truncate an allow-listed log file in place (keeps the inode)"};

absl::StatusOr<ConfinedPath> MatchTruncatableLog(
    const std::string& path, const std::vector<std::string>& patterns) {
  absl::Status last = absl::OkStatus();
  for (const std::string& pattern : patterns) {
    const size_t slash = pattern.rfind('/');
    const std::string dir = slash == 0 ? "/" : pattern.substr(0, slash);
    const std::string name_glob = pattern.substr(slash + 1);
    absl::StatusOr<ConfinedPath> confined = ConfinePath(path, {dir});
    if (!confined.ok()) {
      // Malformed text is reported as such, whatever the patterns.
      if (confined.status().code() == absl::StatusCode::kInvalidArgument)
        return confined.status();
      continue;
    }
    if (confined->relative.empty() ||
        confined->relative.find('/') != std::string::npos)
      continue;
    if (fnmatch(name_glob.c_str(), confined->relative.c_str(), FNM_PERIOD) == 0)
      return confined;
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "path ", path, " is not an allow-listed log (truncatable_logs: [",
      absl::StrJoin(patterns, ", "), "])"));
}

absl::Status RunTruncateLog(const OperationContext& context,
                            const v1::TruncateLogRequest& request,
                            v1::TruncateLogReply* reply) {
  if (request.keep_tail_bytes() > kMaxKeepTailBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "keep_tail_bytes may be at most ", FormatHumanSize(kMaxKeepTailBytes)));
  }
  const auto& patterns = context.agent.config.truncatable_logs();
  absl::StatusOr<ConfinedPath> path = MatchTruncatableLog(
      request.path(),
      std::vector<std::string>(patterns.begin(), patterns.end()));
  if (!path.ok()) return path.status();
  absl::StatusOr<std::unique_ptr<TargetLocks::Lease>> lease =
      context.locks->Acquire(absl::StrCat("file:", path->full),
                             context.caller.ToString(), "truncate_log");
  if (!lease.ok()) return lease.status();
  absl::StatusOr<CheckedLog> log = OpenLogForTruncation(*path);
  if (!log.ok()) return log.status();

  reply->set_path(path->full);
  reply->set_dry_run(context.dry_run);
  for (const OpenFileHolder& holder :
       FindFileHolders(log->st.st_dev, log->st.st_ino)) {
    if (holder.pid == getpid()) continue;  // the agent's own descriptor
    v1::FileHolder* out = reply->add_holders();
    out->set_pid(holder.pid);
    out->set_process_name(holder.process_name);
  }
  const uint64_t size = log->st.st_size;
  const uint64_t keep = std::min<uint64_t>(request.keep_tail_bytes(), size);
  reply->set_size_before_bytes(size);
  if (context.dry_run) {
    const uint64_t allocated = static_cast<uint64_t>(log->st.st_blocks) * 512;
    reply->set_size_after_bytes(keep);
    reply->set_file_freed_bytes(allocated > keep ? allocated - keep : 0);
    reply->set_summary(absl::StrCat(
        "would truncate ", path->full, " from ", FormatHumanSize(size), " to ",
        FormatHumanSize(keep), ", freeing about ",
        FormatHumanSize(reply->file_freed_bytes()), "; ", HoldersText(*reply)));
    return absl::OkStatus();
  }
  absl::StatusOr<TruncationResult> result = TruncateCheckedLog(*log, keep);
  if (!result.ok()) return result.status();
  reply->set_size_after_bytes(result->size_after);
  reply->set_file_freed_bytes(result->file_freed_bytes);
  reply->set_filesystem_freed_bytes(result->filesystem_freed_bytes);
  reply->set_summary(absl::StrCat(
      "truncated ", path->full, " from ", FormatHumanSize(result->size_before),
      " to ", FormatHumanSize(result->size_after), "; the file gave back ",
      FormatHumanSize(result->file_freed_bytes), "; ", HoldersText(*reply)));
  return absl::OkStatus();
}

}  // namespace opsagent
