#ifndef OPSAGENT_TESTS_TESTING_AUDIT_RESULT_H_
#define OPSAGENT_TESTS_TESTING_AUDIT_RESULT_H_

#include <cstdint>
#include <string>
#include <utility>

#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// An outcome row's result, as tests write them into a log by hand.
inline v1::AuditResult AuditResultOf(v1::Outcome outcome,
                                     int64_t finished_at_ms,
                                     std::string error_code = "",
                                     std::string message = "",
                                     std::string summary = "") {
  v1::AuditResult result;
  result.set_outcome(outcome);
  result.set_finished_at_ms(finished_at_ms);
  result.set_error_code(std::move(error_code));
  result.set_message(std::move(message));
  result.set_summary(std::move(summary));
  return result;
}

}  // namespace opsagent

#endif  // OPSAGENT_TESTS_TESTING_AUDIT_RESULT_H_
