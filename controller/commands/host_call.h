#ifndef OPSAGENT_CONTROLLER_COMMANDS_HOST_CALL_H_
#define OPSAGENT_CONTROLLER_COMMANDS_HOST_CALL_H_

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/action_runner.h"
#include "controller/commands/command.h"
#include "controller/exit_codes.h"
#include "controller/fan_out.h"
#include "controller/output/json.h"
#include "controller/output/terminal.h"
#include "controller/session.h"
#include "controller/target_set.h"

namespace opsagent {

// How a command talks to one host and shows the answer.
template <typename Reply>
struct HostCall {
  std::function<absl::StatusOr<Reply>(AgentClient&, const v1::RequestMeta&)>
      call;
  std::function<std::string(const Reply&)>
      summarize;                            // one line, for the audit log
  std::function<void(const Reply&)> print;  // for people
  // Optional: a condition the result must meet (e.g. --fail-above 90); a
  // failure is reported and gives exit code 7.
  std::function<absl::Status(const Reply&)> check = nullptr;
};

namespace host_call_internal {

// One audited call to one host. A change that could not be delivered is
// retried with the same request id: the agent's request journal returns the
// first outcome to a repeat instead of acting twice.
template <typename Reply>
ActionReport<Reply> CallOne(Session& session, ActionRunner& runner,
                            const v1::Host& host, const ActionSpec& spec,
                            const HostCall<Reply>& how) {
  absl::StatusOr<std::unique_ptr<AgentClient>> client = session.Connect(host);
  if (!client.ok()) {
    ActionReport<Reply> report;
    report.status = client.status();
    return report;
  }
  return runner.Run<Reply>(
      host, spec,
      [&](const v1::RequestMeta& meta) -> absl::StatusOr<Reply> {
        absl::StatusOr<Reply> reply = how.call(**client, meta);
        for (int retry = 0;
             spec.mutating && retry < 2 && absl::IsUnavailable(reply.status());
             ++retry) {
          absl::SleepFor(absl::Seconds(1));
          reply = how.call(**client, meta);
        }
        if (reply.ok()) return reply;
        return absl::Status(reply.status().code(),
                            session.Explain(reply.status(), host));
      },
      how.summarize);
}

template <typename Reply>
std::string JsonEnvelope(const v1::Host& host, const ActionSpec& spec,
                         const ActionReport<Reply>& report) {
  std::string json = absl::StrCat(
      "{\"host\":", JsonString(host.name()),
      ",\"operation\":", JsonString(spec.operation),
      ",\"request_id\":", JsonString(report.request_id),
      ",\"outcome\":", JsonString(AuditOutcomeName(report.outcome)));
  if (report.reply) {
    absl::StrAppend(&json, ",\"result\":", ProtoToJson(*report.reply));
  } else {
    absl::StrAppend(&json, ",\"error\":{\"code\":",
                    JsonString(absl::StatusCodeToString(report.status.code())),
                    ",\"message\":", JsonString(report.status.message()), "}");
  }
  return json + "}";
}

// Prints one host's result; `header` introduces it in a fan-out.
template <typename Reply>
void Show(Session& session, const v1::Host& host, const ActionSpec& spec,
          const ActionReport<Reply>& report, const HostCall<Reply>& how,
          bool header) {
  if (session.output() == OutputFormat::kJson) {
    std::printf("%s\n", JsonEnvelope(host, spec, report).c_str());
  } else {
    if (header)
      std::printf("=== %s: %s\n", Shown(host.name()).c_str(),
                  std::string(AuditOutcomeName(report.outcome)).c_str());
    if (report.reply) {
      how.print(*report.reply);
    } else {
      PrintError(absl::StrCat(host.name(), ": ", report.status.message()));
    }
  }
  if (report.reply && !report.status.ok())
    PrintError(absl::StrCat("warning: ", report.status.message()));
  std::fflush(stdout);
}

}  // namespace host_call_internal

// Runs one audited operation on the hosts `target` selects (a host name, a
// glob, role:NAME, env:NAME; see SelectHosts) and prints each outcome: for
// people, or one JSON object per host with --output json. Several hosts are
// worked on concurrently (--concurrency), results are printed as they
// arrive, and the actions share one run id in the audit log. Returns the
// exit code.
template <typename Reply>
int CallHost(Session& session, const std::string& target,
             const ActionSpec& spec, const HostCall<Reply>& how) {
  using namespace host_call_internal;
  absl::StatusOr<const Inventory*> inventory = session.inventory();
  if (!inventory.ok()) {
    return CommandFailed(kExitUsage, inventory.status().message());
  }
  absl::StatusOr<std::vector<v1::Host>> hosts =
      SelectHosts(**inventory, target);
  if (!hosts.ok()) {
    return CommandFailed(kExitUsage, hosts.status().message());
  }
  // Local problems (unreadable certificate files) are the same for every host.
  if (absl::StatusOr<std::unique_ptr<AgentClient>> probe =
          session.Connect(hosts->front());
      !probe.ok()) {
    return CommandFailed(kExitUsage, probe.status().message());
  }
  const bool single = hosts->size() == 1 && hosts->front().name() == target;
  if (!single) session.StartRun();
  absl::StatusOr<ActionRunner> runner = session.Runner();
  if (!runner.ok()) {
    return CommandFailed(kExitAuditUnavailable, runner.status().message());
  }
  if (single) {
    ActionReport<Reply> report =
        CallOne(session, *runner, hosts->front(), spec, how);
    if (!report.sent) {
      return CommandFailed(kExitAuditUnavailable, report.status.message());
    }
    Show(session, hosts->front(), spec, report, how, /*header=*/false);
    if (report.reply && how.check) {
      if (absl::Status checked = how.check(*report.reply); !checked.ok()) {
        PrintError(absl::StrCat(hosts->front().name(),
                                ": CHECK FAILED: ", checked.message()));
        return kExitCheckFailed;
      }
    }
    return ExitCodeFor(report.outcome);
  }

  const bool progress =
      isatty(STDERR_FILENO) && session.output() == OutputFormat::kTable;
  std::vector<std::optional<ActionReport<Reply>>> reports(hosts->size());
  bool audit_failed = false;
  int checks_failed = 0;
  const absl::Time start = absl::Now();
  FanOutSummary summary = RunFanOut(
      *hosts, session.fan_out(),
      [&](const v1::Host& host) {
        const size_t i = &host - hosts->data();
        reports[i] = CallOne(session, *runner, host, spec, how);
        return reports[i]->sent ? reports[i]->outcome : AuditOutcome::kPending;
      },
      [&](const v1::Host& host, AuditOutcome, const FanOutSummary& so_far) {
        const ActionReport<Reply>& report = *reports[&host - hosts->data()];
        if (progress) ClearProgress();
        if (!report.sent) {
          audit_failed = true;
          PrintError(absl::StrCat(host.name(), ": ", report.status.message()));
        } else {
          Show(session, host, spec, report, how, /*header=*/true);
          if (report.reply && how.check) {
            if (absl::Status checked = how.check(*report.reply);
                !checked.ok()) {
              ++checks_failed;
              PrintError(absl::StrCat(host.name(),
                                      ": CHECK FAILED: ", checked.message()));
            }
          }
        }
        if (progress) {
          ShowProgress(absl::StrCat("[", so_far.ok + so_far.failed(), "/",
                                    hosts->size(), "] ", so_far.ok, " ok, ",
                                    so_far.failed(), " failed"));
        }
      });
  if (progress) ClearProgress();
  std::string failed_hosts;
  for (size_t i = 0; i < hosts->size(); ++i) {
    if (reports[i] && reports[i]->outcome != AuditOutcome::kOk) {
      absl::StrAppend(&failed_hosts, failed_hosts.empty() ? "" : ", ",
                      (*hosts)[i].name(), " (",
                      AuditOutcomeName(reports[i]->outcome), ")");
    }
  }
  std::fprintf(
      stderr,
      "%zu hosts in %lld ms: %d ok, %d error, %d denied, %d unreachable, %d "
      "unknown%s; run %s\n",
      hosts->size(),
      static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - start)),
      summary.ok, summary.error, summary.denied, summary.unreachable,
      summary.unknown,
      summary.not_started > 0
          ? absl::StrCat(", ", summary.not_started,
                         " not started (error budget spent)")
                .c_str()
          : "",
      session.StartRun().c_str());
  if (!failed_hosts.empty())
    std::fprintf(stderr, "not ok: %s\n", failed_hosts.c_str());
  if (audit_failed) return kExitAuditUnavailable;
  if (summary.failed() == 0 && summary.not_started == 0)
    return checks_failed > 0 ? kExitCheckFailed : kExitOk;
  if (summary.unknown > 0) return kExitUnknown;
  if (summary.denied == summary.failed()) return kExitDenied;
  if (summary.unreachable == summary.failed()) return kExitUnreachable;
  return kExitOperationFailed;
}

// The same, with the parts of HostCall given one by one.
template <typename Reply>
int CallHost(
    Session& session, const std::string& target, const ActionSpec& spec,
    std::function<absl::StatusOr<Reply>(AgentClient&, const v1::RequestMeta&)>
        call,
    std::function<std::string(const Reply&)> summarize,
    std::function<void(const Reply&)> print,
    std::function<absl::Status(const Reply&)> check = nullptr) {
  return CallHost<Reply>(session, target, spec,
                         HostCall<Reply>{std::move(call), std::move(summarize),
                                         std::move(print), std::move(check)});
}

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_HOST_CALL_H_
