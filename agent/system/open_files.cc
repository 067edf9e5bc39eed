#include "agent/system/open_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/system/proc_file.h"

namespace opsagent {
namespace {

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};

std::string ProcessName(const std::string& proc_root, pid_t pid) {
  absl::StatusOr<std::string> comm =
      ReadProcFile(absl::StrCat(proc_root, "/", pid, "/comm"));
  return comm.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*comm))
                   : "";
}

// Calls `visit` for every open descriptor of every process, with what stat()
// through /proc/PID/fd/N says about the file it refers to. Processes and
// descriptors that vanish meanwhile are skipped.
void ForEachOpenFile(
    const std::string& proc_root,
    const std::function<void(pid_t, int, const std::string& fd_path,
                             const struct stat&)>& visit) {
  std::unique_ptr<DIR, DirCloser> proc(opendir(proc_root.c_str()));
  if (!proc) return;
  while (dirent* process = readdir(proc.get())) {
    pid_t pid;
    if (!absl::SimpleAtoi(process->d_name, &pid)) continue;
    const std::string fd_dir = absl::StrCat(proc_root, "/", pid, "/fd");
    std::unique_ptr<DIR, DirCloser> fds(opendir(fd_dir.c_str()));
    if (!fds) continue;
    while (dirent* entry = readdir(fds.get())) {
      int fd;
      if (!absl::SimpleAtoi(entry->d_name, &fd)) continue;
      const std::string fd_path = absl::StrCat(fd_dir, "/", fd);
      struct stat st;
      if (stat(fd_path.c_str(), &st) != 0) continue;
      visit(pid, fd, fd_path, st);
    }
  }
}

// Whether /proc/PID/fdinfo/FD says the descriptor writes without O_APPEND.
bool WritesWithoutAppend(const std::string& proc_root, pid_t pid, int fd) {
  absl::StatusOr<std::string> info =
      ReadProcFile(absl::StrCat(proc_root, "/", pid, "/fdinfo/", fd));
  if (!info.ok()) return false;
  for (absl::string_view line : absl::StrSplit(*info, '\n')) {
    if (!absl::ConsumePrefix(&line, "flags:")) continue;
    const std::string octal(absl::StripAsciiWhitespace(line));
    char* end = nullptr;
    const unsigned long flags = std::strtoul(octal.c_str(), &end, 8);
    if (octal.empty() || *end != '\0') return false;
    return (flags & O_ACCMODE) != O_RDONLY && (flags & O_APPEND) == 0;
  }
  return false;
}

}  // namespace

std::vector<OpenFileHolder> FindFileHolders(dev_t device, ino_t inode,
                                            const std::string& proc_root) {
  std::vector<OpenFileHolder> holders;
  ForEachOpenFile(proc_root, [&](pid_t pid, int fd, const std::string&,
                                 const struct stat& st) {
    if (st.st_dev != device || st.st_ino != inode) return;
    const bool no_append = WritesWithoutAppend(proc_root, pid, fd);
    if (!holders.empty() && holders.back().pid == pid) {
      holders.back().writes_without_append |= no_append;
      return;
    }
    holders.push_back({pid, ProcessName(proc_root, pid), no_append});
  });
  return holders;
}

std::vector<OpenDeletedFile> FindOpenDeletedFiles(
    const std::string& proc_root) {
  std::vector<OpenDeletedFile> files;
  ForEachOpenFile(proc_root, [&](pid_t pid, int fd, const std::string& fd_path,
                                 const struct stat& st) {
    if (!S_ISREG(st.st_mode) || st.st_nlink != 0) return;
    char target[4096];
    ssize_t n = readlink(fd_path.c_str(), target, sizeof(target) - 1);
    if (n < 0) return;
    absl::string_view path(target, n);
    absl::ConsumeSuffix(&path, " (deleted)");
    // memfd and anonymous shared memory are not space on a filesystem.
    if (absl::StartsWith(path, "/memfd:") ||
        absl::StartsWith(path, "/dev/shm/") ||
        absl::StartsWith(path, "/SYSV")) {
      return;
    }
    files.push_back({pid, ProcessName(proc_root, pid), fd, std::string(path),
                     static_cast<uint64_t>(st.st_size),
                     static_cast<uint64_t>(st.st_blocks) * 512});
  });
  return files;
}

}  // namespace opsagent
