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

// What is known before an action is sent.
struct AuditIntent {
  std::string request_id;
  std::string run_id;
  int64_t started_at_ms = 0;  // Unix milliseconds
  // The real user opsctl ran as (getuid), by name and number; -1 for rows
  // written before schema 3, which recorded only a name.
  std::string os_user;
  int64_t os_uid = -1;
  // SUDO_USER, which any caller can set: a claim, recorded as such.
  std::string sudo_user;
  std::string cert_identity;
  std::string host;
  std::string address;
  std::string operation;
  std::string parameters_json;
  std::string reason;
  std::string incident;
  // An outside reference (a ticket, a drill's name); empty in rows written
  // before schema 7.
  std::string ticket;
  bool dry_run = false;
  bool mutating = false;
};

// What is known after it ran.
struct AuditResult {
  v1::Outcome outcome = v1::OUTCOME_UNKNOWN;
  int64_t finished_at_ms = 0;
  std::string error_code;  // gRPC code name, e.g. PERMISSION_DENIED
  std::string message;     // error text for people
  std::string summary;     // one line describing the result
  // The result itself (the reply, or a stream's final event; a failure's
  // too) in Protobuf's JSON mapping: a failed restart's every attempt.
  std::string result_json;
  // What the agent signed over its answer (common/signing/
  // result_signature.h): the digest, and the signature in hex. Empty when
  // no agent answered, or the call was direct.
  std::string agent_result_sha256;
  std::string agent_signature;
};

// One row of the audit log.
struct AuditRecord {
  int64_t id = 0;
  AuditIntent intent;
  v1::Outcome outcome = v1::OUTCOME_PENDING;
  std::optional<AuditResult> result;
};

// About how many bytes `intents` and `results` add to the log: their text,
// and the fixed fields and chain events of each row.
uint64_t RecordedBytes(
    const std::vector<AuditIntent>& intents,
    const std::vector<std::pair<int64_t, AuditResult>>& results);

// Who acted, as tables show it: "alice", "root/alice" when the certificate
// names someone else than the OS user, and a sudo claim if there is one.
std::string OperatorLabel(const AuditIntent& intent);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_AUDIT_RECORD_H_
