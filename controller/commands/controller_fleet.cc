// The fleet through the team's controller: its live inventory selects the
// hosts, it relays the signed requests and keeps the one audit log.

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "controller/audit/audit_entry.h"
#include "controller/commands/command.h"
#include "controller/commands/fleet.h"
#include "controller/controller_runner.h"
#include "controller/exit_codes.h"
#include "controller/runbook/runbook_cache.h"

namespace opsagent {
namespace {

// What the controller sent of the team log, each item checked as received
// (audit_entry.h): one that fails is an error, never shown.
template <typename Item>
absl::StatusOr<std::vector<Item>> Received(
    const google::protobuf::RepeatedPtrField<Item>& items) {
  for (const Item& item : items) {
    if (absl::Status received = CheckReceived(item); !received.ok())
      return received;
  }
  return std::vector<Item>(items.begin(), items.end());
}

class ThroughController : public Fleet {
 public:
  explicit ThroughController(Invocation& invocation)
      : invocation_(invocation) {}

  absl::StatusOr<std::vector<std::string>> SelectHostNames(
      const std::string& target) override {
    v1::SelectHostsRequest request;
    request.set_target(target);
    absl::StatusOr<v1::SelectHostsReply> selected =
        invocation_.AskController(&ControllerStub::SelectHosts, request);
    if (!selected.ok()) return selected.status();
    if (selected->hosts().empty())
      return absl::NotFoundError(absl::StrCat("no host matches ", target));
    return std::vector<std::string>(selected->hosts().begin(),
                                    selected->hosts().end());
  }

  int Run(const std::string& target, const OperationCall& call,
          const RunObserver& observer, FanOutSummary* summary) override {
    // Local problems (unreadable certificate files) are the same for every
    // host: said once, before anything is sent.
    if (absl::Status local = invocation_.credentials().status(); !local.ok())
      return CommandFailed(invocation_, kExitUsage, local.message());
    absl::StatusOr<ControllerClient*> client = invocation_.controller();
    if (!client.ok())
      return CommandFailed(invocation_, kExitUsage, client.status().message());
    // The hosts come from the controller's live inventory, with the run's
    // first message.
    ControllerRunner runner(invocation_, **client);
    absl::StatusOr<FanOutSummary> ran = runner.Run(
        target, call, observer.on_hosts, observer.on_event, observer.on_result);
    if (!ran.ok()) {
      const absl::Status& status = ran.status();
      // Not sent because the team's log cannot record it, or takes no
      // more from this operator for now (its write budget): exit 5.
      const int code = absl::IsFailedPrecondition(status) ||
                               absl::IsResourceExhausted(status)
                           ? kExitAuditUnavailable
                           : ExitCodeForControllerError(status);
      return CommandFailed(invocation_, code, status.message());
    }
    *summary = *ran;
    return kExitOk;
  }

  absl::Status RecordGuidedStep(const v1::RunbookEntry& entry,
                                const char* phase, const v1::RunbookStep& step,
                                bool confirmed) override {
    v1::GuidedStepRecord record;
    record.set_entry(entry.id());
    record.set_phase(phase);
    record.set_step(step.title());
    record.set_confirmed(confirmed);
    record.set_run_id(invocation_.EnsureRunId());
    record.set_incident(invocation_.context().incident);
    record.set_ticket(invocation_.context().ticket);
    record.set_reason(invocation_.context().reason);
    const OperatorIdentity who = invocation_.who();
    record.mutable_claims()->set_os_user(who.os_user);
    record.mutable_claims()->set_os_uid(who.os_uid);
    record.mutable_claims()->set_sudo_user(who.sudo_user);
    return invocation_.AskController(&ControllerStub::RecordGuidedStep, record)
        .status();
  }

  // The one copy the controller keeps (saved in the operator's cache for
  // the night it is down), or the operator's `runbooks` directory when it
  // keeps none.
  absl::StatusOr<RunbookLibrary> Runbooks() override {
    absl::StatusOr<const v1::OperatorConfig*> config = invocation_.config();
    if (!config.ok()) return config.status();
    absl::StatusOr<v1::Runbook> served = invocation_.AskController(
        &ControllerStub::GetRunbooks, v1::GetRunbooksRequest());
    if (served.ok()) {
      // Kept for --direct, which opsctld's diagnosis does not have.
      if (absl::Status saved =
              invocation_.inside_daemon()
                  ? absl::OkStatus()
                  : SaveRunbookCache((*config)->runbook_cache(), *served);
          !saved.ok()) {
        std::fprintf(invocation_.err(),
                     "warning: runbooks not kept for --direct: %s\n",
                     std::string(saved.message()).c_str());
      }
      return RunbookLibrary::FromProto(*served, "the controller's runbooks",
                                       ValidateRunbookStep);
    }
    // A controller that keeps none, or keeps them from this operator.
    if (!absl::IsNotFound(served.status()) &&
        !absl::IsPermissionDenied(served.status()))
      return served.status();
    return LoadRunbooks((*config)->runbooks());
  }

  absl::StatusOr<std::vector<v1::AuditEntry>> QueryAudit(
      const v1::AuditQuery& query, bool without_results) override {
    v1::AuditQuery asked = query;
    asked.set_omit_result_json(without_results);
    absl::StatusOr<v1::AuditQueryReply> reply = invocation_.AskController(
        &ControllerStub::QueryAudit, asked, absl::Minutes(1));
    if (!reply.ok()) return reply.status();
    return Received(reply->entries());
  }

  absl::StatusOr<std::vector<v1::ExportAuditItem>> ExportAudit(
      const AuditCursor& after, int limit) override {
    v1::ExportAuditRequest request;
    request.set_after(after.ToString());
    request.set_limit(limit);
    absl::StatusOr<v1::ExportAuditReply> reply = invocation_.AskController(
        &ControllerStub::ExportAudit, request, absl::Minutes(1));
    if (!reply.ok()) return reply.status();
    return Received(reply->items());
  }

 private:
  Invocation& invocation_;
};

}  // namespace

std::unique_ptr<Fleet> ControllerFleet(Invocation& invocation) {
  return std::make_unique<ThroughController>(invocation);
}

}  // namespace opsagent
