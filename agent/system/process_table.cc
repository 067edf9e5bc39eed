#include "agent/system/process_table.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/system/proc_file.h"

namespace opsagent {
namespace {

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};

}  // namespace

absl::StatusOr<std::vector<ProcessRss>> LargestProcessesByRss(
    size_t limit, const std::string& proc_root) {
  std::unique_ptr<DIR, DirCloser> dir(opendir(proc_root.c_str()));
  if (!dir) {
    return absl::UnavailableError(
        absl::StrCat("cannot list ", proc_root, ": ", std::strerror(errno)));
  }
  const uint64_t page_size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  // Every process's RSS first (one small read each); names and owners only
  // for the few that make the list.
  std::vector<ProcessRss> processes;
  while (dirent* entry = readdir(dir.get())) {
    int pid;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    absl::StatusOr<std::string> statm =
        ReadProcFile(absl::StrCat(proc_root, "/", entry->d_name, "/statm"));
    if (!statm.ok()) continue;  // exited meanwhile
    std::vector<absl::string_view> fields =
        absl::StrSplit(*statm, ' ', absl::SkipEmpty());
    uint64_t resident_pages;
    if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &resident_pages))
      continue;
    ProcessRss process;
    process.pid = pid;
    process.rss_bytes = resident_pages * page_size;
    processes.push_back(std::move(process));
  }
  auto larger = [](const ProcessRss& a, const ProcessRss& b) {
    return a.rss_bytes != b.rss_bytes ? a.rss_bytes > b.rss_bytes
                                      : a.pid < b.pid;
  };
  const size_t keep = std::min(limit, processes.size());
  std::partial_sort(processes.begin(), processes.begin() + keep,
                    processes.end(), larger);
  processes.resize(keep);
  for (ProcessRss& process : processes) {
    const std::string base = absl::StrCat(proc_root, "/", process.pid);
    absl::StatusOr<std::string> comm = ReadProcFile(base + "/comm");
    process.name = comm.ok()
                       ? std::string(absl::StripTrailingAsciiWhitespace(*comm))
                       : "?";
    struct stat st;
    if (stat(base.c_str(), &st) == 0) process.uid = st.st_uid;
  }
  return processes;
}

}  // namespace opsagent
