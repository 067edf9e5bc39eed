#ifndef OPSAGENT_AGENT_SERVER_PRINTABLE_REPLY_H_
#define OPSAGENT_AGENT_SERVER_PRINTABLE_REPLY_H_

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace opsagent {

// The call gate's guarantee about text it sends: every string field of
// `message` (recursively, maps included) becomes printable text
// (IsPrintableText; newlines and tabs allowed), escaped with EscapeHostBytes
// where it was not. Operations escape host text where they read it; this
// catches whatever one missed, so that a reply never fails to serialize
// (protobuf refuses a string field that is not UTF-8: one badly named file
// used to fail `du` for the whole host) and never carries raw control
// characters. Returns how many fields it had to escape (a bug to log).
int MakeStringsPrintable(google::protobuf::Message* message);

// The same for a status message.
absl::Status MakePrintable(const absl::Status& status);

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SERVER_PRINTABLE_REPLY_H_
