#ifndef OPSAGENT_CONTROLLER_COMMANDS_FLEET_H_
#define OPSAGENT_CONTROLLER_COMMANDS_FLEET_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/audit/audit_reader.h"
#include "controller/auditing_caller.h"
#include "controller/fan_out.h"
#include "controller/invocation.h"
#include "controller/runbook/runbook_library.h"
#include "google/protobuf/message.h"
#include "opsagent/v1/runbook.pb.h"

namespace opsagent {

// Where an opsctl command's hosts, calls, runbooks and records go: through
// the team's controller (its live inventory, its relay, its audit log), or,
// break-glass with --direct, to the agents themselves with the operator's
// own audit log. Commands ask this; which of the two it is they need not
// know.
// What a run reports as it goes: the names of the hosts it selected,
// first; then each host's events and outcome, by index into them. Each
// does nothing unless set.
struct RunObserver {
  std::function<void(const std::vector<std::string>& hosts)> on_hosts =
      [](const std::vector<std::string>&) {};
  std::function<void(size_t host, const google::protobuf::Message& event)>
      on_event = [](size_t, const google::protobuf::Message&) {};
  std::function<void(size_t host, AuditedResult& result)> on_result =
      [](size_t, AuditedResult&) {};
};

class Fleet {
 public:
  virtual ~Fleet() = default;

  // The hosts `target` selects, by name. NOT_FOUND when it selects none.
  // For asking a person about a change by the hosts' names and then acting
  // on exactly those.
  virtual absl::StatusOr<std::vector<std::string>> SelectHostNames(
      const std::string& target) = 0;

  // Runs `call` on the hosts `target` selects, audited, reporting to
  // `observer`. Returns kExitOk, or the exit code of an error it printed
  // (nothing ran).
  virtual int Run(const std::string& target, const OperationCall& call,
                  const RunObserver& observer, FanOutSummary* summary) = 0;

  // Records a guided step's confirmation (or its refusal) in the log the
  // run's actions go to.
  virtual absl::Status RecordGuidedStep(const v1::RunbookEntry& entry,
                                        const char* phase,
                                        const v1::RunbookStep& step,
                                        bool confirmed) = 0;

  // The runbooks commands work with.
  virtual absl::StatusOr<RunbookLibrary> Runbooks() = 0;
  // The rows of the log the fleet's actions go to that `query` matches,
  // oldest first; `without_results` leaves each row's result_json out
  // (much less to carry for many rows).
  virtual absl::StatusOr<std::vector<v1::AuditEntry>> QueryAudit(
      const v1::AuditQuery& query, bool without_results) = 0;
  // That log's export lines after `after`, at most `limit`.
  virtual absl::StatusOr<std::vector<v1::ExportAuditItem>> ExportAudit(
      const AuditCursor& after, int limit) = 0;
};

// Through the team's controller.
std::unique_ptr<Fleet> ControllerFleet(Invocation& invocation);
// The agents directly, audited in the operator's own log.
std::unique_ptr<Fleet> DirectFleet(Invocation& invocation);

// The one `invocation` works with: the controller's, unless none is
// configured or --direct was given.
inline std::unique_ptr<Fleet> FleetOf(Invocation& invocation) {
  return invocation.via_controller() ? ControllerFleet(invocation)
                                     : DirectFleet(invocation);
}

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_FLEET_H_
