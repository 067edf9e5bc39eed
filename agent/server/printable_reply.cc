#include "agent/server/printable_reply.h"

#include <string>

#include "common/host_text.h"
#include "common/proto_strings.h"

namespace opsagent {
namespace {

bool Repair(std::string* text) {
  if (IsPrintableText(*text, LineBreaks::kKeep)) return false;
  *text = EscapeHostBytes(*text, LineBreaks::kKeep);
  return true;
}

}  // namespace

int MakeStringsPrintable(google::protobuf::Message* message) {
  return RepairStringFields(message, &Repair);
}

absl::Status MakePrintable(const absl::Status& status) {
  std::string text(status.message());
  if (!Repair(&text)) return status;
  return absl::Status(status.code(), text);
}

}  // namespace opsagent
