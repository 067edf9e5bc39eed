#include <unistd.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "agent/ops/managed_service.h"
#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "agent/ops/target_locks.h"
#include "agent/system/meminfo.h"
#include "common/human_size.h"
#include "common/status_macros.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

// Log lines a failed restart carries.
constexpr size_t kFailureLogLines = 20;

std::string StateText(const v1::ServiceState& s) {
  std::string text = s.active_state() == s.sub_state()
                         ? s.active_state()
                         : absl::StrCat(s.active_state(), "/", s.sub_state());
  if (s.main_pid() > 0) absl::StrAppend(&text, " pid ", s.main_pid());
  return text;
}

// Sleeps up to `duration`, waking early if the call is cancelled or the
// deadline comes. False if it was cut short.
bool Wait(const OperationContext& context, absl::Duration duration) {
  const absl::Time until = std::min(absl::Now() + duration, context.deadline);
  while (absl::Now() < until) {
    if (context.cancelled && context.cancelled()) return false;
    absl::SleepFor(std::min(absl::Milliseconds(100), until - absl::Now()));
  }
  return absl::Now() < context.deadline;
}

// One restart and the settle period after it.
v1::RestartAttempt Attempt(const OperationContext& context,
                           ServiceController& service, absl::Duration settle,
                           uint32_t number) {
  v1::RestartAttempt attempt;
  attempt.set_number(number);
  const absl::Time start = absl::Now();
  absl::Status restarted = service.Restart(context.deadline);
  if (restarted.ok()) {
    // Up is not enough: it must stay up ("restart it twice because ???").
    const absl::Time settled_at = absl::Now() + settle;
    while (restarted.ok() && absl::Now() < settled_at) {
      absl::SleepFor(absl::Milliseconds(200));
      absl::StatusOr<ServiceStatus> status = service.Status();
      if (!status.ok()) {
        restarted = status.status();
      } else if (!service.IsUp(*status)) {
        restarted = absl::FailedPreconditionError(absl::StrCat(
            "came up but left it after ",
            absl::FormatDuration(
                absl::Trunc(absl::Now() - start, absl::Milliseconds(100))),
            " (now ", status->active_state, "/", status->sub_state, ")"));
      }
    }
  }
  absl::StatusOr<ServiceStatus> status = service.Status();
  if (status.ok()) CopyServiceState(*status, attempt.mutable_state());
  attempt.set_succeeded(restarted.ok());
  if (!restarted.ok()) attempt.set_error(std::string(restarted.message()));
  attempt.set_elapsed_ms(absl::ToInt64Milliseconds(absl::Now() - start));
  return attempt;
}

absl::Status RunRestartService(const OperationContext& context,
                               const v1::RestartServiceRequest& request,
                               v1::RestartServiceReply* reply) {
  const v1::AgentConfig& config = context.agent.config;
  const std::string own_unit = config.systemd().own_unit().empty()
                                   ? "opsagent.service"
                                   : config.systemd().own_unit();
  if (request.name() == own_unit) {
    return absl::PermissionDeniedError(
        absl::StrCat("the agent does not restart itself (", own_unit,
                     "): it could not report or verify the outcome"));
  }
  ASSIGN_OR_RETURN(const v1::RestartableService* service,
                   FindManagedService(config, request.name()));
  const uint32_t max_attempts = service->max_attempts();
  if (request.max_attempts() > max_attempts) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_attempts ", request.max_attempts(),
                     " is above this service's limit of ", max_attempts));
  }
  const uint32_t attempts =
      request.max_attempts() == 0 ? max_attempts : request.max_attempts();

  ASSIGN_OR_RETURN(
      std::unique_ptr<TargetLocks::Lease> lease,
      context.locks->Acquire(absl::StrCat("service:", service->name()),
                             context.caller.ToString(), "restart_service"));
  ASSIGN_OR_RETURN(std::unique_ptr<ServiceController> controller,
                   OpenServiceController(config, *service));
  ASSIGN_OR_RETURN(ServiceStatus before, controller->Status());
  if (before.main_pid == getpid()) {
    return absl::PermissionDeniedError(absl::StrCat(
        service->name(), " is the agent itself; refusing to restart it"));
  }

  reply->set_name(service->name());
  reply->set_manager(ManagerOf(*service));
  reply->set_dry_run(context.dry_run);
  CopyServiceState(before, reply->mutable_before());
  if (context.dry_run) {
    reply->set_summary(absl::StrCat("would restart ", service->name(), " (now ",
                                    StateText(reply->before()), "), up to ",
                                    attempts, " attempts, each verified for ",
                                    service->settle_seconds(), "s"));
    return absl::OkStatus();
  }

  absl::Duration backoff = absl::Seconds(service->backoff_seconds());
  for (uint32_t n = 1; n <= attempts; ++n) {
    v1::RestartAttempt* attempt = reply->add_attempts();
    *attempt = Attempt(context, *controller,
                       absl::Seconds(service->settle_seconds()), n);
    if (attempt->succeeded() || n == attempts || !Wait(context, backoff)) break;
    backoff *= 2;
  }
  if (absl::StatusOr<ServiceStatus> after = controller->Status(); after.ok())
    CopyServiceState(*after, reply->mutable_after());
  const bool restarted =
      !reply->attempts().empty() && reply->attempts().rbegin()->succeeded();

  bool checks_passed = true;
  if (restarted && service->min_available_memory_bytes() > 0) {
    v1::PostCheckResult* check = reply->add_post_checks();
    check->set_description(
        absl::StrCat("memory available >= ",
                     FormatHumanSize(service->min_available_memory_bytes()),
                     " after ", service->post_check_wait_seconds(), "s"));
    if (!Wait(context, absl::Seconds(service->post_check_wait_seconds()))) {
      check->set_detail("not checked: the call's deadline came first");
    } else if (absl::StatusOr<MemoryUsage> memory = ReadMeminfo();
               memory.ok()) {
      check->set_passed(memory->available >=
                        service->min_available_memory_bytes());
      check->set_detail(absl::StrCat("available ",
                                     FormatHumanSize(memory->available), " of ",
                                     FormatHumanSize(memory->total)));
    } else {
      check->set_detail(std::string(memory.status().message()));
    }
    checks_passed = check->passed();
  }
  reply->set_succeeded(restarted && checks_passed);

  std::vector<std::string> tries;
  for (const v1::RestartAttempt& a : reply->attempts()) {
    tries.push_back(
        absl::StrCat("#", a.number(), " ", a.succeeded() ? "ok" : a.error(),
                     " (", StateText(a.state()), ", ", a.elapsed_ms(), " ms)"));
  }
  reply->set_summary(absl::StrCat(
      reply->succeeded() ? "restarted " : "FAILED to restart ", service->name(),
      ": ", absl::StrJoin(tries, "; "), "; before ", StateText(reply->before()),
      ", after ", StateText(reply->after())));
  for (const v1::PostCheckResult& check : reply->post_checks()) {
    absl::StrAppend(reply->mutable_summary(), "; check ", check.description(),
                    ": ", check.passed() ? "passed" : "FAILED", " (",
                    check.detail(), ")");
  }
  if (!reply->succeeded()) {
    // Why it would not stay up is in what it logged.
    if (absl::StatusOr<std::vector<ServiceLogLine>> log =
            controller->RecentLog(kFailureLogLines);
        log.ok()) {
      CopyLogLines(*log, reply->mutable_recent_log());
    } else {
      reply->add_recent_log()->set_text(absl::StrCat(
          "(its log could not be read: ", log.status().message(), ")"));
    }
    // An error status, so it is audited as one; the reply travels with it.
    return absl::FailedPreconditionError(reply->summary());
  }
  return absl::OkStatus();
}

}  // namespace

OPSAGENT_OPERATION(RestartService, RunRestartService);

}  // namespace opsagent
