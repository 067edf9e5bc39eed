#include "agent/system/process_table.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/system/unique_fd.h"

namespace opsagent {
namespace {

// Directory entries read per getdents64 call. /proc lists about 60 names
// besides one per process; 16 KiB holds about 500 entries, so a host with a
// few hundred processes is listed in one or two calls.
constexpr size_t kDirentBufferBytes = 16 * 1024;
// statm is seven decimal numbers; comm at most 64 bytes (a workqueue
// worker's "kworker/0:1-events" included).
constexpr size_t kSmallFileBytes = 256;

// "1234" as a pid; false for anything else (".", "self", "sys", ...).
bool ParsePid(const char* name, pid_t* pid) {
  if (*name == '\0') return false;
  uint64_t value = 0;
  for (const char* c = name; *c != '\0'; ++c) {
    if (*c < '0' || *c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(*c - '0');
    if (value > 0x7fffffff) return false;
  }
  *pid = static_cast<pid_t>(value);
  return true;
}

// Reads the small file `name` (relative to `dir`) into `buffer`; its length,
// or -1 when it cannot be opened or read (the process exited meanwhile).
ssize_t ReadSmallFileAt(int dir, const char* name, char* buffer,
                        size_t capacity) {
  const int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return -1;
  size_t length = 0;
  while (length < capacity) {
    const ssize_t n = read(fd, buffer + length, capacity - length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return -1;
    }
    if (n == 0) break;
    length += static_cast<size_t>(n);
  }
  close(fd);
  return static_cast<ssize_t>(length);
}

// The second field of statm (resident pages), or false when it has none.
bool ResidentPages(absl::string_view statm, uint64_t* pages) {
  size_t i = 0;
  auto skip_spaces = [&] {
    while (i < statm.size() && statm[i] == ' ') ++i;
  };
  skip_spaces();
  while (i < statm.size() && statm[i] != ' ') ++i;  // size
  skip_spaces();
  const size_t start = i;
  uint64_t value = 0;
  while (i < statm.size() && statm[i] >= '0' && statm[i] <= '9') {
    value = value * 10 + static_cast<uint64_t>(statm[i] - '0');
    ++i;
  }
  if (i == start) return false;
  if (i < statm.size() && statm[i] != ' ' && statm[i] != '\n') return false;
  *pages = value;
  return true;
}

// "PID/leaf" into `path` (at least 64 bytes).
void PathOf(pid_t pid, const char* leaf, char* path, size_t capacity) {
  char digits[16];
  int n = 0;
  uint32_t value = static_cast<uint32_t>(pid);
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  size_t length = 0;
  while (n > 0 && length + 1 < capacity) path[length++] = digits[--n];
  for (const char* c = leaf; *c != '\0' && length + 1 < capacity; ++c)
    path[length++] = *c;
  path[length] = '\0';
}

struct Candidate {
  uint64_t rss_bytes;
  pid_t pid;
};

// Largest RSS first; equal RSS by pid, so the order is total and the same
// whatever order /proc lists the processes in.
bool RanksBefore(const Candidate& a, const Candidate& b) {
  return a.rss_bytes != b.rss_bytes ? a.rss_bytes > b.rss_bytes : a.pid < b.pid;
}

}  // namespace

absl::StatusOr<std::vector<ProcessRss>> LargestProcessesByRss(
    size_t limit, const std::string& proc_root) {
  UniqueFd proc(
      open(proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY));
  if (!proc.valid()) {
    return absl::UnavailableError(
        absl::StrCat("cannot list ", proc_root, ": ", std::strerror(errno)));
  }
  const uint64_t page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  // The `limit` largest so far, as a heap whose top ranks last: one statm
  // read per process, no allocation per process.
  std::vector<Candidate> top;
  top.reserve(std::min<size_t>(limit, 1024));
  alignas(struct dirent64) char entries[kDirentBufferBytes];
  char statm[kSmallFileBytes];
  char path[64];
  for (;;) {
    const ssize_t listed = getdents64(proc.get(), entries, sizeof(entries));
    if (listed < 0 && errno == EINTR) continue;
    if (listed < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot list ", proc_root, ": ", std::strerror(errno)));
    }
    if (listed == 0) break;
    for (ssize_t offset = 0; offset < listed;) {
      const auto* entry =
          reinterpret_cast<const struct dirent64*>(entries + offset);
      offset += entry->d_reclen;
      pid_t pid;
      if (!ParsePid(entry->d_name, &pid)) continue;
      PathOf(pid, "/statm", path, sizeof(path));
      const ssize_t length =
          ReadSmallFileAt(proc.get(), path, statm, sizeof(statm));
      uint64_t resident_pages;
      if (length < 0 ||
          !ResidentPages(absl::string_view(statm, length), &resident_pages))
        continue;  // exited meanwhile
      const Candidate candidate{resident_pages * page_size, pid};
      if (top.size() < limit) {
        top.push_back(candidate);
        std::push_heap(top.begin(), top.end(), RanksBefore);
      } else if (limit > 0 && RanksBefore(candidate, top.front())) {
        std::pop_heap(top.begin(), top.end(), RanksBefore);
        top.back() = candidate;
        std::push_heap(top.begin(), top.end(), RanksBefore);
      }
    }
  }
  std::sort(top.begin(), top.end(), RanksBefore);
  // Names and owners only for the few that made the list.
  std::vector<ProcessRss> processes(top.size());
  for (size_t i = 0; i < top.size(); ++i) {
    ProcessRss& process = processes[i];
    process.pid = top[i].pid;
    process.rss_bytes = top[i].rss_bytes;
    PathOf(process.pid, "/comm", path, sizeof(path));
    const ssize_t length =
        ReadSmallFileAt(proc.get(), path, statm, sizeof(statm));
    process.name = length >= 0 ? std::string(absl::StripTrailingAsciiWhitespace(
                                     absl::string_view(statm, length)))
                               : "?";
    PathOf(process.pid, "", path, sizeof(path));
    struct stat st;
    if (fstatat(proc.get(), path, &st, 0) == 0) process.uid = st.st_uid;
  }
  return processes;
}

}  // namespace opsagent
