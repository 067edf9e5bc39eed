#include "controller/runbook/runbook_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/text_proto_file.h"
#include "common/trusted_path.h"
#include "google/protobuf/text_format.h"

namespace opsagent {

absl::Status SaveRunbookCache(const std::string& path,
                              const v1::Runbook& runbook) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(runbook, &text))
    return absl::InternalError("cannot print the runbooks");
  text = absl::StrCat(
      "# The runbooks the controller served, kept by opsctl for --direct.\n"
      "# Written over at each use through the controller: do not edit.\n",
      text);
  // One writer at a time in this process (opsctld runs diagnoses at once);
  // the file is staged beside the cache and renamed over it.
  static absl::Mutex* const writing = new absl::Mutex();
  absl::MutexLock lock(writing);
  const std::string staged = path + ".new";
  unlink(staged.c_str());  // one a crash left
  const int fd =
      open(staged.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
           0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", staged, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const int error = errno;
  const bool whole = done == text.size() && fsync(fd) == 0;
  close(fd);
  if (!whole || rename(staged.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(whole ? errno : error);
    unlink(staged.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot write ", path, ": ", why));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Runbook> ReadRunbookCache(const std::string& path) {
  if (absl::Status trusted = CheckTrustedPath(path, TrustedKind::kFile);
      !trusted.ok())
    return trusted;
  v1::Runbook runbook;
  if (absl::Status loaded = LoadTextProtoFile(path, &runbook); !loaded.ok())
    return loaded;
  return runbook;
}

}  // namespace opsagent
