#ifndef OPSAGENT_AGENT_OPS_COMMAND_TEMPLATE_H_
#define OPSAGENT_AGENT_OPS_COMMAND_TEMPLATE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "opsagent/v1/agent_config.pb.h"
#include "re2/re2.h"

namespace opsagent {

// A vetted command from the agent configuration, checked once at load time:
// an absolute program, placeholders that all name declared parameters,
// parameters that are all used, patterns that compile. Turns untrusted
// parameter values into an argv, or says which value failed which rule.
class CommandTemplate {
 public:
  static absl::StatusOr<std::unique_ptr<CommandTemplate>> Compile(
      const v1::VettedCommand& command);
  ~CommandTemplate();

  // The argv for `values`: every declared parameter given, no other, each
  // passing its validator. Errors name the parameter and the rule.
  absl::StatusOr<std::vector<std::string>> Expand(
      const std::map<std::string, std::string>& values) const;

  const v1::VettedCommand& command() const { return command_; }

 private:
  explicit CommandTemplate(v1::VettedCommand command)
      : command_(std::move(command)) {}

  absl::Status Check(const v1::CommandParameter& param,
                     const std::string& value) const;

  v1::VettedCommand command_;
  std::map<std::string, std::unique_ptr<re2::RE2>> patterns_;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_COMMAND_TEMPLATE_H_
