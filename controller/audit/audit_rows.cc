#include "controller/audit/audit_rows.h"

#include "absl/strings/str_cat.h"

namespace opsagent {

const char kRecordColumns[] =
    "a.id, a.request_id, a.run_id, a.started_at_ms, a.os_user, "
    "a.cert_identity, a.host, a.address, a.operation, a.parameters, "
    "a.reason, a.incident, a.dry_run, a.mutating, a.outcome, "
    "a.finished_at_ms, a.error_code, a.message, a.result_summary, a.os_uid, "
    "a.sudo_user, a.result_json, a.agent_result_sha256, a.agent_signature, "
    "a.ticket";

const char kSharedRecordColumns[] =
    "a.id, a.request_id, a.run_id, a.started_at_ms, a.os_user, "
    "a.cert_identity, a.host, a.address, a.operation, a.parameters, "
    "a.reason, a.incident, a.dry_run, a.mutating, a.outcome, "
    "a.finished_at_ms, a.error_code, a.message, a.result_summary, a.os_uid, "
    "a.sudo_user, a.result_json, a.agent_result_sha256, a.agent_signature, "
    "a.ticket, a.controller";

const char kCheckpointColumns[] =
    "number, first_seq, last_seq, head_hash, previous_signature, "
    "signed_at_ms, key_id, signature";

int64_t ChainEvent::time_ms() const {
  if (!record) return 0;
  return event == "outcome" && record->has_result()
             ? record->result().finished_at_ms()
             : record->intent().started_at_ms();
}

std::string ChainEventQuery(char placeholder, bool shared) {
  return absl::StrCat(
      "SELECT c.seq, c.action_id, c.event, c.digest, c.prev_hash, c.hash, "
      "a.id IS NOT NULL, ",
      shared ? kSharedRecordColumns : kRecordColumns,
      " FROM audit_chain c LEFT JOIN actions a ON a.id = c.action_id WHERE "
      "c.seq > ",
      std::string(1, placeholder), "1 ORDER BY c.seq LIMIT ",
      std::string(1, placeholder), "2");
}

}  // namespace opsagent
