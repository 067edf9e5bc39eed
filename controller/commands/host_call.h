#ifndef OPSAGENT_CONTROLLER_COMMANDS_HOST_CALL_H_
#define OPSAGENT_CONTROLLER_COMMANDS_HOST_CALL_H_

#include <cstdio>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/action_runner.h"
#include "controller/exit_codes.h"
#include "controller/output/json.h"
#include "controller/session.h"

namespace opsagent {

// Runs one audited operation on one inventory host and prints the outcome:
// `print` for people, or a JSON envelope {host, operation, request_id,
// outcome, result | error} with --output json. Returns the exit code.
template <typename Reply>
int CallHost(Session& session, const std::string& host_name,
             const ActionSpec& spec,
             const std::function<absl::StatusOr<Reply>(
                 AgentClient&, const v1::RequestMeta&)>& call,
             const std::function<std::string(const Reply&)>& summarize,
             const std::function<void(const Reply&)>& print) {
  absl::StatusOr<const Inventory*> inventory = session.inventory();
  if (!inventory.ok()) {
    std::fprintf(stderr, "opsctl: %s\n",
                 std::string(inventory.status().message()).c_str());
    return kExitUsage;
  }
  absl::StatusOr<v1::Host> host = (*inventory)->Find(host_name);
  if (!host.ok()) {
    std::fprintf(stderr, "opsctl: %s\n",
                 std::string(host.status().message()).c_str());
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<AgentClient>> client = session.Connect(*host);
  if (!client.ok()) {
    std::fprintf(stderr, "opsctl: %s\n",
                 std::string(client.status().message()).c_str());
    return kExitUsage;
  }
  absl::StatusOr<ActionRunner> runner = session.Runner();
  if (!runner.ok()) {
    std::fprintf(stderr, "opsctl: %s\n",
                 std::string(runner.status().message()).c_str());
    return kExitAuditUnavailable;
  }
  ActionReport<Reply> report = runner->Run<Reply>(
      *host, spec,
      [&](const v1::RequestMeta& meta) -> absl::StatusOr<Reply> {
        absl::StatusOr<Reply> reply = call(**client, meta);
        // A change that could not be delivered is retried with the same
        // request id: the agent's request journal returns the first
        // outcome to a repeat instead of acting twice.
        for (int retry = 0;
             spec.mutating && retry < 2 && absl::IsUnavailable(reply.status());
             ++retry) {
          absl::SleepFor(absl::Seconds(1));
          reply = call(**client, meta);
        }
        if (reply.ok()) return reply;
        return absl::Status(reply.status().code(),
                            session.Explain(reply.status(), *host));
      },
      summarize);
  if (!report.sent) {
    std::fprintf(stderr, "opsctl: %s\n",
                 std::string(report.status.message()).c_str());
    return kExitAuditUnavailable;
  }
  if (session.output() == OutputFormat::kJson) {
    std::string json = absl::StrCat(
        "{\"host\":", JsonString(host->name()),
        ",\"operation\":", JsonString(spec.operation),
        ",\"request_id\":", JsonString(report.request_id),
        ",\"outcome\":", JsonString(AuditOutcomeName(report.outcome)));
    if (report.reply) {
      absl::StrAppend(&json, ",\"result\":", ProtoToJson(*report.reply));
    } else {
      absl::StrAppend(
          &json, ",\"error\":{\"code\":",
          JsonString(absl::StatusCodeToString(report.status.code())),
          ",\"message\":", JsonString(report.status.message()), "}");
    }
    std::printf("%s}\n", json.c_str());
  } else if (report.reply) {
    print(*report.reply);
  } else {
    std::fprintf(stderr, "opsctl: %s: %s\n", host->name().c_str(),
                 std::string(report.status.message()).c_str());
  }
  if (report.reply &&
      !report.status.ok()) {  // ran, but the outcome was not recorded
    std::fprintf(stderr, "opsctl: warning: %s\n",
                 std::string(report.status.message()).c_str());
  }
  return ExitCodeFor(report.outcome);
}

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_COMMANDS_HOST_CALL_H_
