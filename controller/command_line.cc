#include "controller/command_line.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace opsagent {

std::string ParsedArgs::Get(const std::string& flag,
                            const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> ParsedArgs::GetAll(const std::string& flag) const {
  auto it = values_.find(flag);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& flags) {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      parsed.positional_.insert(parsed.positional_.end(), args.begin() + i + 1,
                                args.end());
      break;
    }
    if (arg == "-h") {
      parsed.values_["help"].push_back("true");
      continue;
    }
    // Short forms of the flags typed most: -o json, -y.
    if (arg == "-o" || arg == "-y") {
      const std::string name = arg == "-o" ? "output" : "yes";
      const bool known =
          std::any_of(flags.begin(), flags.end(),
                      [&name](const FlagSpec& f) { return f.name == name; });
      if (!known)
        return absl::InvalidArgumentError(
            absl::StrCat("unknown flag ", arg, " (see --help)"));
      if (name == "yes") {
        parsed.values_[name].push_back("true");
        continue;
      }
      if (i + 1 >= args.size())
        return absl::InvalidArgumentError("-o needs a value (FORMAT)");
      parsed.values_[name].push_back(args[++i]);
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      parsed.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    auto spec =
        std::find_if(flags.begin(), flags.end(),
                     [&name](const FlagSpec& f) { return f.name == name; });
    if (spec == flags.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (spec->value_name.empty()) {
      if (has_value)
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value"));
      value = "true";
    } else if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--", name, " needs a value (", spec->value_name, ")"));
      }
      value = args[++i];
    }
    parsed.values_[name].push_back(value);
  }
  return parsed;
}

std::string FlagHelp(const std::vector<FlagSpec>& flags) {
  std::string out;
  for (const FlagSpec& flag : flags) {
    std::string left = absl::StrCat(
        "--", flag.name, flag.value_name.empty() ? "" : " ", flag.value_name);
    absl::StrAppendFormat(&out, "  %-24s %s\n", left, flag.help);
  }
  return out;
}

absl::StatusOr<uint32_t> CountFlag(const ParsedArgs& args,
                                   const std::string& flag) {
  uint32_t n = 10;
  if (args.Has(flag) &&
      (!absl::SimpleAtoi(args.Get(flag), &n) || n == 0 || n > 1000)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " takes a number from 1 to 1000"));
  }
  return n;
}

}  // namespace opsagent
