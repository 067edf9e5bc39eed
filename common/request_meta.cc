#include "common/request_meta.h"

#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/host_text.h"
#include "common/utf8.h"

namespace opsagent {
namespace {

constexpr size_t kMaxReasonBytes = 1024;

}  // namespace

absl::Status CheckCallerText(absl::string_view field, absl::string_view value,
                             size_t max_bytes) {
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", max_bytes, " bytes"));
  }
  if (!IsValidUtf8(value))
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is not valid UTF-8"));
  // What the agent would escape in its replies (C0, DEL, C1, bidirectional
  // controls), which would then differ from the team log's copy, and
  // characters that show as nothing: "CHG-1\u200b" looks like CHG-1 and is
  // not found by it.
  if (!IsPrintableText(value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field,
        " contains a control or invisible character (C0, C1, a bidirectional "
        "control, zero-width, BOM or a line separator)"));
  }
  return absl::OkStatus();
}

absl::Status CheckRequestMeta(const v1::RequestMeta& meta) {
  for (auto [field, value, max] :
       {std::tuple{"request_id", &meta.request_id(), kMaxRequestIdBytes},
        {"reason", &meta.reason(), kMaxReasonBytes},
        {"incident", &meta.incident(), kMaxRequestIdBytes},
        {"run_id", &meta.run_id(), kMaxRequestIdBytes},
        {"ticket", &meta.ticket(), kMaxRequestIdBytes}}) {
    if (absl::Status status = CheckCallerText(field, *value, max); !status.ok())
      return status;
  }
  return absl::OkStatus();
}

}  // namespace opsagent
