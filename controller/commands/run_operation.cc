#include "controller/commands/run_operation.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/json.h"
#include "controller/commands/command.h"
#include "controller/commands/fleet.h"
#include "controller/exit_codes.h"
#include "controller/output/terminal.h"

namespace opsagent {
namespace {

// One host's outcome for programs: the result (also a failure's, when it
// carried one) and the error.
std::string JsonEnvelope(const std::string& host, const OperationInfo& op,
                         const AuditedResult& result) {
  nlohmann::ordered_json json = {
      {"host", host},
      {"operation", op.name},
      {"request_id", result.request_id},
      {"outcome", std::string(OutcomeName(result.outcome))}};
  if (!result.controller.empty()) json["controller"] = result.controller;
  if (result.final != nullptr)
    json["result"] = EmbeddedJson(ProtoToJson(op.ResultOf(*result.final)));
  if (!result.status.ok()) {
    json["error"] = {{"code", absl::StatusCodeToString(result.status.code())},
                     {"message", std::string(result.status.message())}};
  }
  return DumpJson(json);
}

// What the process exits with, from how the hosts ended.
int ExitCode(const FanOutSummary& summary, bool audit_failed,
             int checks_failed) {
  if (audit_failed) return kExitAuditUnavailable;
  if (summary.failed() == 0 && summary.not_started == 0)
    return checks_failed > 0 ? kExitCheckFailed : kExitOk;
  // Hosts left out with nothing failed: no success, and not known.
  if (summary.unknown > 0 || summary.failed() == 0) return kExitUnknown;
  if (summary.denied == summary.failed()) return kExitDenied;
  if (summary.unreachable == summary.failed()) return kExitUnreachable;
  return kExitOperationFailed;
}

}  // namespace

bool IsOneHostName(absl::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '.' || c == '-' || c == '_';
  });
}

int RunOperation(Invocation& invocation, const std::string& target,
                 const OperationCall& call, const Presentation& presentation) {
  const bool controlled = invocation.via_controller();
  std::vector<std::string> names;
  const bool json = invocation.output() == OutputFormat::kJson;
  bool single = false;
  bool progress = false;
  absl::Mutex events;
  bool audit_failed = false;
  int checks_failed = 0;
  size_t finished = 0;
  std::vector<std::string> not_ok;
  const absl::Time start = absl::Now();
  // Several hosts' events (an `exec`'s output) are held until their host
  // ends and shown under its header: streamed as they came, hosts' output
  // interleaved and preceded its header.
  std::vector<std::vector<std::unique_ptr<google::protobuf::Message>>> held;
  auto on_hosts = [&](const std::vector<std::string>& selected) {
    names = selected;
    single = names.size() == 1 && names.front() == target;
    progress = !single && !json && invocation.ShowsProgress();
    held.resize(names.size());
  };
  auto on_event = [&](size_t i, const google::protobuf::Message& event) {
    if (json || !presentation.on_event) return;
    absl::MutexLock lock(&events);
    if (single) {
      presentation.on_event(invocation.out(), event);
      return;
    }
    std::unique_ptr<google::protobuf::Message> copy(event.New());
    copy->CopyFrom(event);
    held[i].push_back(std::move(copy));
  };
  auto on_result = [&](size_t i, AuditedResult& result) {
    const std::string& host = names[i];
    if (progress) ClearProgress();
    if (!result.sent) {
      audit_failed = true;
      PrintError(invocation, absl::StrCat(host, ": ", result.status.message()));
    } else if (json) {
      std::fprintf(invocation.out(), "%s\n",
                   JsonEnvelope(host, *call.op, result).c_str());
    } else {
      if (!single) {
        std::fprintf(invocation.out(), "=== %s: %s\n", Shown(host).c_str(),
                     std::string(OutcomeName(result.outcome)).c_str());
        std::fflush(invocation.out());
        absl::MutexLock lock(&events);
        for (const auto& event : held[i])
          presentation.on_event(invocation.out(), *event);
        held[i].clear();
      }
      if (result.final != nullptr)
        presentation.print(invocation.out(), *result.final);
      if (!result.status.ok())
        PrintError(invocation,
                   absl::StrCat(host, ": ", result.status.message()));
    }
    if (result.status.ok() && result.final != nullptr && presentation.check) {
      if (absl::Status checked = presentation.check(*result.final);
          !checked.ok()) {
        ++checks_failed;
        PrintError(invocation,
                   absl::StrCat(host, ": CHECK FAILED: ", checked.message()));
      }
    }
    if (result.sent && result.outcome != v1::OUTCOME_OK) {
      not_ok.push_back(
          absl::StrCat(host, " (", OutcomeName(result.outcome), ")"));
    }
    std::fflush(invocation.out());
    ++finished;
    if (progress) {
      ShowProgress(absl::StrCat("[", finished, "/", names.size(), "] ",
                                finished - not_ok.size(), " ok, ",
                                not_ok.size(), " failed"));
    }
  };

  FanOutSummary summary;
  if (const int failed =
          FleetOf(invocation)
              ->Run(target, call, {on_hosts, on_event, on_result}, &summary);
      failed != kExitOk)
    return failed;
  if (progress) ClearProgress();
  if (!single) {
    std::fprintf(
        invocation.err(),
        "%zu hosts in %lld ms: %d ok, %d error, %d denied, %d unreachable, %d "
        "unknown%s%s; run %s%s\n",
        names.size(),
        static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - start)),
        summary.ok, summary.error, summary.denied, summary.unreachable,
        summary.unknown,
        summary.pending > 0
            ? absl::StrCat(", ", summary.pending,
                           " not sent (the audit log could not record them)")
                  .c_str()
            : "",
        summary.not_started > 0
            ? absl::StrCat(", ", summary.not_started,
                           " not started (error budget spent)")
                  .c_str()
            : "",
        invocation.run_id().c_str(),
        controlled ? " (through the controller)" : "");
    if (!not_ok.empty())
      std::fprintf(invocation.err(), "not ok: %s\n",
                   absl::StrJoin(not_ok, ", ").c_str());
  }
  return ExitCode(summary, audit_failed, checks_failed);
}

}  // namespace opsagent
