#include "controller/enroll/audited_action.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/auditing_caller.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

void FillIn(v1::AuditIntent& intent) {
  if (intent.request_id().empty()) intent.set_request_id(NewRequestId());
  if (intent.run_id().empty()) intent.set_run_id(intent.request_id());
  if (intent.started_at_ms() == 0)
    intent.set_started_at_ms(absl::ToUnixMillis(absl::Now()));
  if (intent.address().empty()) intent.set_address("-");
  if (intent.host().empty()) intent.set_host("-");
  if (intent.parameters_json().empty()) intent.set_parameters_json("{}");
}

v1::AuditResult Outcome(const absl::StatusOr<std::string>& done) {
  v1::AuditResult result;
  result.set_finished_at_ms(absl::ToUnixMillis(absl::Now()));
  if (done.ok()) {
    result.set_outcome(v1::OUTCOME_OK);
    result.set_summary(*done);
  } else {
    result.set_outcome(absl::IsPermissionDenied(done.status()) ||
                               absl::IsUnauthenticated(done.status())
                           ? v1::OUTCOME_DENIED
                           : v1::OUTCOME_ERROR);
    result.set_error_code(absl::StatusCodeToString(done.status().code()));
    result.set_message(std::string(done.status().message()));
  }
  return result;
}

}  // namespace

absl::StatusOr<int64_t> RunAudited(
    AuditStore* audit, v1::AuditIntent intent,
    absl::FunctionRef<absl::StatusOr<std::string>()> work) {
  FillIn(intent);
  absl::StatusOr<int64_t> row = audit->RecordIntent(intent);
  if (!row.ok()) {
    spdlog::error("cannot record {} in the audit log: {}", intent.operation(),
                  std::string(row.status().message()));
    return absl::FailedPreconditionError(
        absl::StrCat("the team's audit log cannot record it, so nothing was "
                     "done: ",
                     row.status().message()));
  }
  const absl::StatusOr<std::string> done = work();
  absl::Status recorded = audit->RecordResult(*row, Outcome(done));
  if (!done.ok()) return done.status();
  if (!recorded.ok())
    return absl::DataLossError(absl::StrCat(
        "done, but the team's audit log did not take its outcome (row ", *row,
        " stays pending): ", recorded.message()));
  return *row;
}

void RecordRefusal(AuditStore* audit, v1::AuditIntent intent,
                   const absl::Status& why) {
  RunAudited(audit, std::move(intent), [&]() -> absl::StatusOr<std::string> {
    return why;
  }).IgnoreError();
}

}  // namespace opsagent
