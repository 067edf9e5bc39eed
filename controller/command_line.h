#ifndef OPSAGENT_CONTROLLER_COMMAND_LINE_H_
#define OPSAGENT_CONTROLLER_COMMAND_LINE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace opsagent {

// A --flag a command accepts. Flags without a value_name are booleans.
struct FlagSpec {
  std::string name;        // without dashes: "output"
  std::string value_name;  // "FORMAT", or empty for a boolean flag
  std::string help;
};

// Arguments after the subcommand: flags by name, and the positional rest.
class ParsedArgs {
 public:
  bool Has(const std::string& flag) const { return values_.count(flag) > 0; }
  // The last value given for `flag`.
  std::string Get(const std::string& flag,
                  const std::string& fallback = "") const;
  // Every value given for a repeatable flag, in order.
  std::vector<std::string> GetAll(const std::string& flag) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>&,
                                              const std::vector<FlagSpec>&);
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// Parses "--name=value", "--name value", "--bool", "-h" and positionals; "--"
// ends flags. Unknown flags and missing values are errors that name the flag.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& flags);

// "  --name VALUE   help" lines for --help output.
std::string FlagHelp(const std::vector<FlagSpec>& flags);

// A count flag (`--top N`): a number from 1 to 1000, 10 when not given.
absl::StatusOr<uint32_t> CountFlag(const ParsedArgs& args,
                                   const std::string& flag);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMAND_LINE_H_
