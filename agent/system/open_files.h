#ifndef OPSAGENT_AGENT_SYSTEM_OPEN_FILES_H_
#define OPSAGENT_AGENT_SYSTEM_OPEN_FILES_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace opsagent {

// A process holding a file open.
struct OpenFileHolder {
  pid_t pid = 0;
  std::string process_name;  // /proc/PID/comm, raw
  // It has the file open for writing without O_APPEND (/proc/PID/fdinfo):
  // its offset stays where it was, so after a truncation its next write
  // makes the file sparse up to the old size.
  bool writes_without_append = false;
};

// A file whose last name was removed while a process still holds it open:
// its space comes back only when the holder closes it (what `lsof +L1` lists).
struct OpenDeletedFile {
  pid_t pid = 0;
  std::string process_name;
  int fd = 0;
  std::string path;  // the name it had
  uint64_t size_bytes = 0;
  uint64_t disk_bytes = 0;
};

// Processes with an open descriptor on the file (dev, ino), from
// /proc/*/fd. Each process is listed once.
std::vector<OpenFileHolder> FindFileHolders(
    dev_t device, ino_t inode, const std::string& proc_root = "/proc");

// Every open descriptor on a deleted regular file. A file open in several
// descriptors or processes is listed for each.
std::vector<OpenDeletedFile> FindOpenDeletedFiles(
    const std::string& proc_root = "/proc");

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_OPEN_FILES_H_
