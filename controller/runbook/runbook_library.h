#ifndef OPSAGENT_CONTROLLER_RUNBOOK_RUNBOOK_LIBRARY_H_
#define OPSAGENT_CONTROLLER_RUNBOOK_RUNBOOK_LIBRARY_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opsagent/v1/runbook.pb.h"

namespace opsagent {

// Checks an opsctl step (its arguments after "opsctl"): the command exists
// and its flags and arguments parse, and an `automatic` one only reads.
using StepValidator = std::function<absl::Status(
    const std::vector<std::string>& opsctl_args, bool automatic)>;

// The team's runbook procedures, loaded from Protobuf text files and
// validated at load time: unique ids, an alert per entry, `alert_names` and
// `roles` single words, each step either
// an opsctl invocation that parses or instructions for a person, and
// `automatic` only on diagnosis steps that run opsctl.
class RunbookLibrary {
 public:
  // Every *.textproto in `directory`, in file-name order.
  static absl::StatusOr<RunbookLibrary> Load(const std::string& directory,
                                             const StepValidator& validate);
  static absl::StatusOr<RunbookLibrary> FromProto(
      const v1::Runbook& runbook, const std::string& origin,
      const StepValidator& validate);

  const v1::RunbookEntry* Find(absl::string_view id) const;
  const std::vector<v1::RunbookEntry>& entries() const { return entries_; }

 private:
  explicit RunbookLibrary(std::vector<v1::RunbookEntry> entries)
      : entries_(std::move(entries)) {}
  std::vector<v1::RunbookEntry> entries_;
};

// An entry's steps by phase, in the order they run: diagnosis, mitigation,
// verification.
struct RunbookPhase {
  const char* name;
  const google::protobuf::RepeatedPtrField<v1::RunbookStep>* steps;
};
std::vector<RunbookPhase> RunbookPhases(const v1::RunbookEntry& entry);

// Values for a run's placeholders: {target}, {host}, {environment} and any
// --var NAME=VALUE.
using RunbookVars = std::map<std::string, std::string>;

// A step's opsctl arguments with every "{name}" in `vars` filled.
std::vector<std::string> ExpandStep(const v1::RunbookStep& step,
                                    const RunbookVars& vars);

// A guided step's text with the document's own placeholders filled from
// the run's values ("edxapp-web-mitx-<ENVIRONMENT>" with {environment}
// "qa"); a placeholder without a value stays as written, for the person to
// fill.
std::string FillText(absl::string_view text, const RunbookVars& vars);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_RUNBOOK_RUNBOOK_LIBRARY_H_
