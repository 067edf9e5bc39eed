#ifndef OPSAGENT_COMMON_REPLACE_FILE_H_
#define OPSAGENT_COMMON_REPLACE_FILE_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace opsagent {

// Writes `content` to `path` whole or not at all: staged in PATH.new
// (created afresh with `mode`, never through a symbolic link), synced,
// then renamed over `path`, so a reader sees the old file or the new one,
// and a crash leaves one of them. Not for two writers of one path at once.
// UNAVAILABLE naming the path and why.
absl::Status ReplaceFile(const std::string& path, absl::string_view content,
                         mode_t mode);

// One file of ReplaceFiles.
struct FileContent {
  std::string path;
  std::string content;
  mode_t mode;
};

// ReplaceFile for files that belong together (a key and its certificate):
// every one is staged and synced first, and only when all were written
// whole (a full disk fails the staging) are they renamed over their paths,
// in order. A failure replaces none of them.
absl::Status ReplaceFiles(const std::vector<FileContent>& files);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_REPLACE_FILE_H_
