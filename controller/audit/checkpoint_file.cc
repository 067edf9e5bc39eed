#include "controller/audit/checkpoint_file.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/append_only_file.h"
#include "common/json.h"
#include "common/regular_file.h"
#include "controller/audit/audit_entry.h"
#include "google/protobuf/util/json_util.h"

namespace opsagent {
namespace {

constexpr size_t kMaxFileBytes = 256 << 20;

}  // namespace

std::string CheckpointJson(const v1::AuditCheckpoint& c) {
  return DumpJson(
      {{"type", "audit_checkpoint"},
       {"number", c.number()},
       {"first_seq", c.first_seq()},
       {"last_seq", c.last_seq()},
       {"head_hash", c.head_hash()},
       {"previous_signature", c.previous_signature()},
       {"signed_at", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                                      absl::FromUnixMillis(c.signed_at_ms()),
                                      absl::UTCTimeZone())},
       {"signed_at_ms", c.signed_at_ms()},
       {"key_id", c.key_id()},
       {"signature", c.signature()}});
}

absl::StatusOr<std::vector<v1::AuditCheckpoint>> ParseCheckpointLines(
    absl::string_view text) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  std::vector<v1::AuditCheckpoint> checkpoints;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    // A bare checkpoint, or an export line that holds one.
    v1::ExportAuditItem item;
    v1::AuditCheckpoint bare;
    const bool is_item = google::protobuf::util::JsonStringToMessage(
                             std::string(line), &item, options)
                             .ok();
    if (is_item && item.has_checkpoint()) {
      checkpoints.push_back(item.checkpoint());
      continue;
    }
    if (is_item && !item.event().empty()) continue;  // an event line
    if (google::protobuf::util::JsonStringToMessage(std::string(line), &bare,
                                                    options)
            .ok() &&
        bare.number() > 0) {
      checkpoints.push_back(bare);
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", line_number,
        " is neither an audit checkpoint nor an `opsctl audit export` line"));
  }
  return checkpoints;
}

absl::StatusOr<std::vector<v1::AuditCheckpoint>> ReadCheckpointFile(
    const std::string& path) {
  absl::StatusOr<std::string> content = ReadRegularFile(path, kMaxFileBytes);
  if (!content.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint file: ", content.status().message()));
  }
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> checkpoints =
      ParseCheckpointLines(SplitCompleteLines(*content).lines);
  if (!checkpoints.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", checkpoints.status().message()));
  }
  return checkpoints;
}

}  // namespace opsagent
