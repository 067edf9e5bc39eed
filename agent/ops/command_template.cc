#include "agent/ops/command_template.h"

#include <unistd.h>

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/utf8.h"
#include "re2/re2.h"

namespace opsagent {
namespace {

constexpr size_t kMaxValueBytes = 256;
// course-v1:ORG+COURSE+RUN, as Open edX course keys are written.
constexpr char kCourseIdPattern[] =
    R"(course-v1:[A-Za-z0-9_.\-]+\+[A-Za-z0-9_.\-]+\+[A-Za-z0-9_.\-]+)";

// "{name}" placeholders in an argv element.
std::set<std::string> Placeholders(const std::string& element) {
  std::set<std::string> names;
  for (size_t open = element.find('{'); open != std::string::npos;
       open = element.find('{', open + 1)) {
    size_t close = element.find('}', open);
    if (close == std::string::npos) break;
    names.insert(element.substr(open + 1, close - open - 1));
  }
  return names;
}

}  // namespace

CommandTemplate::~CommandTemplate() = default;

absl::StatusOr<std::unique_ptr<CommandTemplate>> CommandTemplate::Compile(
    const v1::VettedCommand& command) {
  const std::string where = absl::StrCat("command ", command.name());
  if (command.name().empty())
    return absl::InvalidArgumentError("a command has no name");
  if (command.argv().empty() || command.argv(0).empty() ||
      command.argv(0).front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": argv[0] must be an absolute path"));
  }
  if (!Placeholders(command.argv(0)).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": the program itself cannot be a parameter"));
  }
  if (access(command.argv(0).c_str(), X_OK) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", command.argv(0), " is not an executable file"));
  }
  std::unique_ptr<CommandTemplate> compiled(new CommandTemplate(command));
  std::set<std::string> declared;
  for (const v1::CommandParameter& param : command.params()) {
    const std::string what = absl::StrCat(where, ": parameter ", param.name());
    if (param.name().empty() || !declared.insert(param.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": parameter names must be unique and not empty"));
    }
    switch (param.type()) {
      case v1::CommandParameter::ENUM:
        if (param.values().empty())
          return absl::InvalidArgumentError(
              absl::StrCat(what, ": ENUM needs values"));
        break;
      case v1::CommandParameter::REGEX:
      case v1::CommandParameter::COURSE_ID: {
        const std::string pattern = param.type() == v1::CommandParameter::REGEX
                                        ? param.pattern()
                                        : kCourseIdPattern;
        auto re = std::make_unique<re2::RE2>(pattern, re2::RE2::Quiet);
        if (!re->ok())
          return absl::InvalidArgumentError(
              absl::StrCat(what, ": bad pattern: ", re->error()));
        compiled->patterns_[param.name()] = std::move(re);
        break;
      }
      case v1::CommandParameter::INTEGER:
        if (param.min() > param.max())
          return absl::InvalidArgumentError(absl::StrCat(what, ": min > max"));
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            what, ": type is required (ENUM, REGEX, INTEGER, COURSE_ID)"));
    }
  }
  std::set<std::string> used;
  for (const std::string& element : command.argv()) {
    for (const std::string& name : Placeholders(element)) {
      if (!declared.count(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": argv uses {", name, "}, which is not a parameter"));
      }
      used.insert(name);
    }
  }
  for (const std::string& name : declared) {
    if (!used.count(name))
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": parameter ", name, " is never used"));
  }
  return compiled;
}

absl::Status CommandTemplate::Check(const v1::CommandParameter& param,
                                    const std::string& value) const {
  auto refuse = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter ", param.name(), ": ", why));
  };
  if (value.empty()) return refuse("is empty");
  if (value.size() > kMaxValueBytes)
    return refuse(absl::StrCat("is longer than ", kMaxValueBytes, " bytes"));
  if (!IsValidUtf8(value)) return refuse("is not valid UTF-8");
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return refuse("contains a control character");
  }
  if (value.front() == '-') return refuse("may not start with \"-\"");
  switch (param.type()) {
    case v1::CommandParameter::ENUM:
      for (const std::string& allowed : param.values()) {
        if (value == allowed) return absl::OkStatus();
      }
      return refuse(absl::StrCat("\"", value, "\" is not one of [",
                                 absl::StrJoin(param.values(), ", "), "]"));
    case v1::CommandParameter::REGEX:
    case v1::CommandParameter::COURSE_ID:
      if (re2::RE2::FullMatch(value, *patterns_.at(param.name())))
        return absl::OkStatus();
      return refuse(
          param.type() == v1::CommandParameter::COURSE_ID
              ? absl::StrCat("\"", value,
                             "\" is not a course id (course-v1:ORG+COURSE+RUN)")
              : absl::StrCat("\"", value, "\" does not match ",
                             param.pattern()));
    case v1::CommandParameter::INTEGER: {
      int64_t number;
      if (!absl::SimpleAtoi(value, &number) || number < param.min() ||
          number > param.max()) {
        return refuse(absl::StrCat("\"", value, "\" is not an integer from ",
                                   param.min(), " to ", param.max()));
      }
      return absl::OkStatus();
    }
    default:
      return refuse("has no type");
  }
}

absl::StatusOr<std::vector<std::string>> CommandTemplate::Expand(
    const std::map<std::string, std::string>& values) const {
  std::vector<std::pair<std::string, std::string>> replacements;
  for (const v1::CommandParameter& param : command_.params()) {
    auto it = values.find(param.name());
    if (it == values.end())
      return absl::InvalidArgumentError(
          absl::StrCat("parameter ", param.name(), " is required"));
    if (absl::Status status = Check(param, it->second); !status.ok())
      return status;
    replacements.emplace_back(absl::StrCat("{", param.name(), "}"), it->second);
  }
  for (const auto& [name, value] : values) {
    bool known = false;
    for (const v1::CommandParameter& param : command_.params())
      known |= param.name() == name;
    if (!known)
      return absl::InvalidArgumentError(absl::StrCat(
          "command ", command_.name(), " has no parameter ", name));
  }
  std::vector<std::string> argv;
  for (const std::string& element : command_.argv())
    argv.push_back(absl::StrReplaceAll(element, replacements));
  return argv;
}

}  // namespace opsagent
