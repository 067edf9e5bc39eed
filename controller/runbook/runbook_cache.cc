#include "controller/runbook/runbook_cache.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/replace_file.h"
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
  return ReplaceFile(path, text, 0600);
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
