#include "controller/target_set.h"

#include <fnmatch.h>

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace opsagent {
namespace {

template <typename Container>
bool Contains(const Container& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

absl::StatusOr<std::vector<v1::Host>> SelectHosts(
    const Inventory& inventory, absl::string_view expression) {
  std::vector<std::string> names, roles, environments;
  for (absl::string_view term :
       absl::StrSplit(expression, ',', absl::SkipWhitespace())) {
    term = absl::StripAsciiWhitespace(term);
    if (absl::ConsumePrefix(&term, "role:")) {
      roles.emplace_back(term);
    } else if (absl::ConsumePrefix(&term, "env:")) {
      environments.emplace_back(term);
    } else if (term.find(':') != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("target term \"", term,
                       "\": use a host name or glob, role:NAME or env:NAME"));
    } else {
      names.emplace_back(term);
    }
  }
  if (names.empty() && roles.empty() && environments.empty()) {
    return absl::InvalidArgumentError(
        "empty target: give a host name, a glob, role:NAME or env:NAME");
  }
  std::vector<v1::Host> selected;
  for (const v1::Host& host : inventory.hosts()) {
    const bool name_ok =
        names.empty() ||
        std::any_of(names.begin(), names.end(), [&](const std::string& glob) {
          return fnmatch(glob.c_str(), host.name().c_str(), 0) == 0;
        });
    const bool role_ok =
        roles.empty() ||
        std::any_of(roles.begin(), roles.end(), [&](const std::string& role) {
          return Contains(host.roles(), role);
        });
    const bool env_ok =
        environments.empty() || Contains(environments, host.environment());
    if (name_ok && role_ok && env_ok) selected.push_back(host);
  }
  if (selected.empty()) {
    // A plain name that matches nothing gets the inventory's "did you mean".
    if (names.size() == 1 && roles.empty() && environments.empty() &&
        names[0].find_first_of("*?[") == std::string::npos) {
      return inventory.Find(names[0]).status();
    }
    return absl::NotFoundError(
        absl::StrCat("no host in the inventory matches \"", expression,
                     "\" (see `opsctl hosts`)"));
  }
  return selected;
}

}  // namespace opsagent
