#include "agent/system/log_allow_list.h"

#include <fnmatch.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace opsagent {

absl::StatusOr<LogAllowList> LogAllowList::Parse(
    const std::vector<std::string>& patterns) {
  LogAllowList list;
  for (size_t i = 0; i < patterns.size(); ++i) {
    const std::string& pattern = patterns[i];
    const std::string field = absl::StrCat("truncatable_logs[", i, "]");
    const size_t slash = pattern.rfind('/');
    if (pattern.empty() || pattern.front() != '/' ||
        slash == std::string::npos || slash + 1 == pattern.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": \"", pattern, "\" is not an absolute DIR/GLOB pattern"));
    }
    const std::string dir = slash == 0 ? "/" : pattern.substr(0, slash);
    if (dir.find_first_of("*?[") != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": \"", pattern,
                       "\": wildcards are allowed in the file name only"));
    }
    absl::StatusOr<AllowedDirectory> directory = AllowedDirectory::Pin(dir);
    if (!directory.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": directory ", directory.status().message()));
    }
    list.patterns_.push_back(pattern);
    list.parsed_.push_back({*std::move(directory), pattern.substr(slash + 1)});
  }
  return list;
}

absl::StatusOr<ConfinedPath> LogAllowList::Match(absl::string_view path) const {
  for (const Pattern& pattern : parsed_) {
    absl::StatusOr<ConfinedPath> confined =
        ConfinePath(path, {pattern.directory});
    if (!confined.ok()) {
      // Malformed text is reported as such, whatever the patterns.
      if (absl::IsInvalidArgument(confined.status())) return confined.status();
      continue;
    }
    if (confined->relative.empty() ||
        confined->relative.find('/') != std::string::npos)
      continue;
    if (fnmatch(pattern.name_glob.c_str(), confined->relative.c_str(),
                FNM_PERIOD) == 0)
      return confined;
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "path ", path, " is not an allow-listed log (truncatable_logs: [",
      absl::StrJoin(patterns_, ", "), "])"));
}

bool LogAllowList::Covers(const std::string& path) const {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return false;
  const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  const std::string name = path.substr(slash + 1);
  for (const Pattern& pattern : parsed_) {
    if (pattern.directory.path() == dir &&
        fnmatch(pattern.name_glob.c_str(), name.c_str(), FNM_PERIOD) == 0)
      return true;
  }
  return false;
}

}  // namespace opsagent
