#include <sys/statvfs.h>

#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "agent/system/mountinfo.h"
#include "agent/system/proc_file.h"
#include "common/host_text.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

absl::Status RunFilesystems(const OperationContext& /*context*/,
                            const v1::FilesystemsRequest& request,
                            v1::FilesystemsReply* reply) {
  absl::StatusOr<std::string> text = ReadProcFile("/proc/self/mountinfo");
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<MountEntry>> mounts = ParseMountinfo(*text);
  if (!mounts.ok()) return mounts.status();
  for (const MountEntry& mount : *mounts) {
    if (!request.include_all() && IsNoiseMount(mount)) continue;
    struct statvfs vfs;
    // A mount that cannot be queried (stale NFS, no permission) is left out, as
    // df does.
    if (statvfs(mount.mount_point.c_str(), &vfs) != 0) continue;
    // Pseudo filesystems report no blocks; df hides them too.
    if (vfs.f_blocks == 0 && !request.include_all()) continue;
    const uint64_t unit = vfs.f_frsize;
    v1::Filesystem* fs = reply->add_filesystems();
    fs->set_source(EscapeHostBytes(mount.source));
    fs->set_mount_point(EscapeHostBytes(mount.mount_point));
    fs->set_fs_type(EscapeHostBytes(mount.fs_type));
    fs->set_size_bytes(vfs.f_blocks * unit);
    fs->set_used_bytes((vfs.f_blocks - vfs.f_bfree) * unit);
    fs->set_available_bytes(vfs.f_bavail * unit);
    fs->set_inodes_total(vfs.f_files);
    fs->set_inodes_free(vfs.f_ffree);
    fs->set_inodes_used(vfs.f_files - vfs.f_ffree);
    fs->set_read_only(mount.read_only || (vfs.f_flag & ST_RDONLY));
  }
  return absl::OkStatus();
}

}  // namespace

OPSAGENT_OPERATION(ListFilesystems, RunFilesystems);

}  // namespace opsagent
