// The fleet with --direct (break-glass, the controller down): the
// operator's inventory selects the hosts, opsctl calls each agent itself
// and audits into the operator's own log.

#include <cstdio>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/request_meta.h"
#include "controller/commands/command.h"
#include "controller/commands/fleet.h"
#include "controller/direct_runner.h"
#include "controller/exit_codes.h"
#include "controller/runbook/guided_step_record.h"
#include "controller/runbook/runbook_cache.h"
#include "controller/target_set.h"

namespace opsagent {
namespace {

class Direct : public Fleet {
 public:
  explicit Direct(Invocation& invocation) : invocation_(invocation) {}

  absl::StatusOr<std::vector<std::string>> SelectHostNames(
      const std::string& target) override {
    absl::StatusOr<std::vector<v1::Host>> hosts = Select(target);
    if (!hosts.ok()) return hosts.status();
    std::vector<std::string> names;
    for (const v1::Host& host : *hosts) names.push_back(host.name());
    if (names.empty())
      return absl::NotFoundError(absl::StrCat("no host matches ", target));
    return names;
  }

  int Run(const std::string& target, const OperationCall& call,
          const RunObserver& observer, FanOutSummary* summary) override {
    absl::StatusOr<std::vector<v1::Host>> hosts = Select(target);
    if (!hosts.ok())
      return CommandFailed(invocation_, kExitUsage, hosts.status().message());
    std::vector<std::string> names;
    for (const v1::Host& host : *hosts) names.push_back(host.name());
    // Local problems (unreadable certificate files) are the same for every
    // host: said once, before anything is sent.
    if (absl::Status local = invocation_.credentials().status(); !local.ok())
      return CommandFailed(invocation_, kExitUsage, local.message());
    if (names.size() > 1 || names.front() != target) invocation_.EnsureRunId();
    absl::StatusOr<AuditingCaller> caller = invocation_.Caller();
    if (!caller.ok())
      return CommandFailed(invocation_, kExitAuditUnavailable,
                           caller.status().message());
    observer.on_hosts(names);
    DirectRunner runner(invocation_, *caller);
    *summary = runner.Run(*hosts, call, observer.on_event, observer.on_result);
    return kExitOk;
  }

  absl::Status RecordGuidedStep(const v1::RunbookEntry& entry,
                                const char* phase, const v1::RunbookStep& step,
                                bool confirmed) override {
    absl::StatusOr<AuditingCaller> caller = invocation_.Caller();
    if (!caller.ok()) return caller.status();
    absl::StatusOr<AuditStore*> audit = invocation_.audit();
    if (!audit.ok()) return audit.status();
    v1::AuditIntent intent = GuidedStepIntent(entry.id(), phase, step.title());
    intent.set_request_id(NewRequestId());
    intent.set_run_id(invocation_.EnsureRunId());
    intent.set_started_at_ms(absl::ToUnixMillis(absl::Now()));
    intent.set_os_user(caller->who().os_user);
    if (caller->who().os_uid >= 0) intent.set_os_uid(caller->who().os_uid);
    intent.set_sudo_user(caller->who().sudo_user);
    intent.set_cert_identity(caller->who().cert_identity);
    intent.set_reason(invocation_.context().reason);
    intent.set_incident(invocation_.context().incident);
    intent.set_ticket(invocation_.context().ticket);
    absl::StatusOr<int64_t> row = (*audit)->RecordIntent(intent);
    if (!row.ok()) return row.status();
    return (*audit)->RecordResult(*row, GuidedStepResult(confirmed));
  }

  // The operator's `runbooks` directory if it is there, else the cache of
  // the controller's copy.
  absl::StatusOr<RunbookLibrary> Runbooks() override {
    absl::StatusOr<const v1::OperatorConfig*> config = invocation_.config();
    if (!config.ok()) return config.status();
    absl::StatusOr<RunbookLibrary> local = LoadRunbooks((*config)->runbooks());
    if (local.ok() || !absl::IsNotFound(local.status())) return local;
    const std::string& cache = (*config)->runbook_cache();
    absl::StatusOr<v1::Runbook> cached = ReadRunbookCache(cache);
    if (!cached.ok()) {
      if (absl::IsNotFound(cached.status())) return local.status();
      return cached.status();
    }
    std::fprintf(invocation_.err(),
                 "runbooks: the controller's, as last served (%s); no local "
                 "directory at %s\n",
                 cache.c_str(), (*config)->runbooks().c_str());
    return RunbookLibrary::FromProto(*cached, cache, ValidateRunbookStep);
  }

  absl::StatusOr<std::vector<v1::AuditEntry>> QueryAudit(
      const v1::AuditQuery& query, bool /*without_results*/) override {
    absl::StatusOr<AuditStore*> store = invocation_.audit();
    if (!store.ok()) return store.status();
    return (*store)->Query(query);
  }

  absl::StatusOr<std::vector<v1::ExportAuditItem>> ExportAudit(
      const AuditCursor& after, int limit) override {
    absl::StatusOr<AuditStore*> store = invocation_.audit();
    if (!store.ok()) return store.status();
    return (*store)->Export(after, limit);
  }

 private:
  absl::StatusOr<std::vector<v1::Host>> Select(const std::string& target) {
    absl::StatusOr<const Inventory*> inventory = invocation_.inventory();
    if (!inventory.ok()) return inventory.status();
    return SelectHosts(**inventory, target);
  }

  Invocation& invocation_;
};

}  // namespace

std::unique_ptr<Fleet> DirectFleet(Invocation& invocation) {
  return std::make_unique<Direct>(invocation);
}

}  // namespace opsagent
