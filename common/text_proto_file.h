#ifndef OPSAGENT_COMMON_TEXT_PROTO_FILE_H_
#define OPSAGENT_COMMON_TEXT_PROTO_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace opsagent {

// Reads a Protobuf text-format file into `message`. Errors name the file and
// the line and column of the first problem ("agent.textproto:4:3: Message
// type "opsagent.v1.AgentConfig" has no field named "listen").
absl::Status LoadTextProtoFile(const std::string& path,
                               google::protobuf::Message* message);

// Parses Protobuf text format held in memory; `origin` names it in errors.
absl::Status ParseTextProto(const std::string& text, const std::string& origin,
                            google::protobuf::Message* message);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TEXT_PROTO_FILE_H_
