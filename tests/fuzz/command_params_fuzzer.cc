// Fuzzes the vetted-command parameter validators with the shapes the
// runbook's commands use (enum, RE2 pattern, integer range, course id). The
// first input byte picks the parameter, the rest is its value. A value is
// either refused or lands verbatim in its argv slot, and then it never
// starts with "-" and holds no control character.

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "agent/ops/command_template.h"
#include "common/text_proto_file.h"

namespace {

constexpr char kCommand[] = R"pb(
  name: "fuzzed"
  argv: [
    "/usr/bin/env",
    "{state}",
    "{minion}",
    "{count}",
    "--course={course}"
  ]
  params {
    name: "state"
    type: ENUM
    values: [ "reddit.config", "pgbouncer" ]
  }
  params { name: "minion" type: REGEX pattern: "[a-z0-9*-]{1,40}" }
  params { name: "count" type: INTEGER min: -5 max: 100 }
  params { name: "course" type: COURSE_ID }
)pb";

const char* const kNames[] = {"state", "minion", "count", "course"};
const std::map<std::string, std::string> kValid = {
    {"state", "pgbouncer"},
    {"minion", "reddit-production-1"},
    {"count", "3"},
    {"course", "course-v1:MITx+6.00x+2T2024"}};

std::unique_ptr<opsagent::CommandTemplate> Compile() {
  opsagent::v1::VettedCommand command;
  if (!opsagent::ParseTextProto(kCommand, "fuzz", &command).ok()) abort();
  auto compiled = opsagent::CommandTemplate::Compile(command);
  if (!compiled.ok()) abort();
  return std::move(*compiled);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<opsagent::CommandTemplate> compiled = Compile();
  if (size == 0) return 0;
  const int which = data[0] % 4;
  const std::string value(reinterpret_cast<const char*>(data + 1), size - 1);
  std::map<std::string, std::string> values = kValid;
  values[kNames[which]] = value;
  auto argv = compiled->Expand(values);
  if (!argv.ok()) return 0;
  const std::string expected = which == 3 ? "--course=" + value : value;
  if ((*argv)[which + 1] != expected) abort();
  if (value.empty() || value[0] == '-') abort();
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) abort();
  }
  return 0;
}
