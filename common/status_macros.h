#ifndef OPSAGENT_COMMON_STATUS_MACROS_H_
#define OPSAGENT_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Error propagation in one line, as absl/status/status_macros.h has it in
// later Abseil releases (Debian 12's predates it).
//
//   RETURN_IF_ERROR(CheckThing());
//   ASSIGN_OR_RETURN(Config config, LoadConfig(path));

#define OPSAGENT_STATUS_CONCAT_INNER(a, b) a##b
#define OPSAGENT_STATUS_CONCAT(a, b) OPSAGENT_STATUS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expression)                                           \
  do {                                                                        \
    if (::absl::Status opsagent_status = (expression); !opsagent_status.ok()) \
      return opsagent_status;                                                 \
  } while (false)

#define ASSIGN_OR_RETURN(declaration, expression)                        \
  OPSAGENT_ASSIGN_OR_RETURN_IMPL(                                        \
      OPSAGENT_STATUS_CONCAT(opsagent_statusor_, __LINE__), declaration, \
      expression)

#define OPSAGENT_ASSIGN_OR_RETURN_IMPL(statusor, declaration, expression) \
  auto statusor = (expression);                                           \
  if (!statusor.ok()) return std::move(statusor).status();                \
  declaration = *std::move(statusor)

#endif  // OPSAGENT_COMMON_STATUS_MACROS_H_
