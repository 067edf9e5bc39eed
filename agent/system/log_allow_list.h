#ifndef OPSAGENT_AGENT_SYSTEM_LOG_ALLOW_LIST_H_
#define OPSAGENT_AGENT_SYSTEM_LOG_ALLOW_LIST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/system/allowed_directory.h"
#include "agent/system/confined_path.h"

namespace opsagent {

// The agent's truncatable_logs, parsed once at load: each pattern is a
// literal directory, pinned (AllowedDirectory), and a glob for the file name
// ("/edx/var/log/xqwatcher/*.log"). A path may be truncated only if it names
// a file directly in one of those directories whose name matches the glob
// (fnmatch, a leading "." only matched by a literal one).
class LogAllowList {
 public:
  LogAllowList() = default;

  // Errors name the pattern's index: "truncatable_logs[2]: ...".
  static absl::StatusOr<LogAllowList> Parse(
      const std::vector<std::string>& patterns);

  // The confined path `path` (operator text, see ConfinePath) names, if a
  // pattern allows it; PERMISSION_DENIED listing the patterns otherwise, and
  // INVALID_ARGUMENT for malformed text whatever the patterns.
  absl::StatusOr<ConfinedPath> Match(absl::string_view path) const;

  // Whether a file at `path` (absolute, normalized, raw) would be
  // truncatable: for refusing configurations that expose the agent's own
  // files.
  bool Covers(const std::string& path) const;

  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  struct Pattern {
    AllowedDirectory directory;
    std::string name_glob;
  };
  std::vector<std::string> patterns_;
  std::vector<Pattern> parsed_;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_SYSTEM_LOG_ALLOW_LIST_H_
