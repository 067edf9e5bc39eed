#include "common/regular_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/trusted_path.h"

namespace opsagent {

absl::StatusOr<std::string> ReadRegularFile(
    const std::string& path, size_t max_bytes, int extra_open_flags,
    const std::function<absl::Status(const struct stat&)>& check) {
  const int fd =
      open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | extra_open_flags);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  struct stat st;
  absl::Status status;
  std::string content;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file"));
  } else if (static_cast<size_t>(st.st_size) > max_bytes) {
    status = absl::FailedPreconditionError(
        absl::StrCat(path, " is larger than ", max_bytes, " bytes"));
  } else if (check) {
    status = check(st);
  }
  if (status.ok()) {
    content.resize(st.st_size);
    size_t done = 0;
    ssize_t got;
    while (done < content.size() && ((got = read(fd, content.data() + done,
                                                 content.size() - done)) > 0 ||
                                     (got < 0 && errno == EINTR)))
      if (got > 0) done += got;
    content.resize(done);
  }
  close(fd);
  if (!status.ok()) return status;
  return content;
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path,
                                           size_t max_bytes) {
  if (absl::Status trusted = CheckTrustedPath(path, TrustedKind::kSecretFile);
      !trusted.ok())
    return trusted;
  return ReadRegularFile(
      path, max_bytes, O_NOFOLLOW, [&](const struct stat& st) {
        // Nobody but this process may read it: a secret others can read serves
        // them too.
        if (st.st_uid == geteuid() && (st.st_mode & 077) == 0)
          return absl::OkStatus();
        return absl::FailedPreconditionError(absl::StrCat(
            path,
            " must be owned by this program's user and readable by it alone "
            "(chown; chmod 600 ",
            path, ")"));
      });
}

}  // namespace opsagent
