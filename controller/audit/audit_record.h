#ifndef OPSAGENT_CONTROLLER_AUDIT_AUDIT_RECORD_H_
#define OPSAGENT_CONTROLLER_AUDIT_AUDIT_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "opsagent/v1/controller.pb.h"

namespace opsagent {

// An outcome's name in the log, in JSON and in tables: v1::Outcome's value
// without its prefix, in lower case ("ok"). The chain hashes these names,
// so they never change.
absl::string_view OutcomeName(v1::Outcome outcome);
std::optional<v1::Outcome> ParseOutcome(absl::string_view name);

// An audited call's row is v1::AuditEntry (controller.proto): its intent
// (v1::AuditIntent), its outcome, and once known its result
// (v1::AuditResult), the same type in the log, in memory and on the wire.

// About how many bytes `intents` and `results` add to the log: their text,
// and the fixed fields and chain events of each row.
uint64_t RecordedBytes(
    const std::vector<v1::AuditIntent>& intents,
    const std::vector<std::pair<int64_t, v1::AuditResult>>& results);

// Who acted, as tables show it: "alice", "root/alice" when the certificate
// names someone else than the OS user, and a sudo claim if there is one.
std::string OperatorLabel(const v1::AuditIntent& intent);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_RECORD_H_
