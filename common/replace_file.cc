#include "common/replace_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace opsagent {
namespace {

std::string Staged(const std::string& path) { return path + ".new"; }

// Writes PATH.new whole and synced, or removes it.
absl::Status Stage(const FileContent& file) {
  const std::string staged = Staged(file.path);
  unlink(staged.c_str());  // one a crash left
  const int fd =
      open(staged.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
           file.mode);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", staged, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < file.content.size()) {
    const ssize_t n =
        write(fd, file.content.data() + done, file.content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const int error = errno;
  // The umask may have taken bits off `mode`; the owner's are what count.
  const bool whole = done == file.content.size() &&
                     fchmod(fd, file.mode) == 0 && fsync(fd) == 0;
  const int sync_error = errno;
  close(fd);
  if (!whole) {
    unlink(staged.c_str());
    return absl::UnavailableError(absl::StrCat(
        "cannot write ", file.path, ": ",
        std::strerror(done == file.content.size() ? sync_error : error)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReplaceFile(const std::string& path, absl::string_view content,
                         mode_t mode) {
  return ReplaceFiles({{path, std::string(content), mode}});
}

absl::Status ReplaceFiles(const std::vector<FileContent>& files) {
  for (size_t i = 0; i < files.size(); ++i) {
    if (absl::Status staged = Stage(files[i]); !staged.ok()) {
      for (size_t j = 0; j < i; ++j) unlink(Staged(files[j].path).c_str());
      return staged;
    }
  }
  for (const FileContent& file : files) {
    if (rename(Staged(file.path).c_str(), file.path.c_str()) != 0) {
      const std::string why = std::strerror(errno);
      for (const FileContent& other : files) unlink(Staged(other.path).c_str());
      return absl::UnavailableError(
          absl::StrCat("cannot write ", file.path, ": ", why));
    }
  }
  return absl::OkStatus();
}

}  // namespace opsagent
