#ifndef OPSAGENT_AGENT_OPS_OPERATION_H_
#define OPSAGENT_AGENT_OPS_OPERATION_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/system/allowed_directory.h"
#include "agent/system/log_allow_list.h"
#include "common/tls/peer_identity.h"
#include "opsagent/v1/agent.pb.h"
#include "opsagent/v1/agent_config.pb.h"
#include "opsagent/v1/journal.pb.h"

namespace opsagent {

// What every operation may consult: the validated agent configuration (its
// defaults filled in), what it names parsed once, and facts about the
// running agent.
struct AgentEnvironment {
  v1::AgentConfig config;
  // config.inspection_roots, pinned at load.
  std::vector<AllowedDirectory> inspection_roots;
  // config.truncatable_logs, parsed and pinned at load.
  LogAllowList truncatable_logs;
  absl::Time started_at;
  std::string version;
};

class TargetLocks;

// One call of an operation, as the call gate hands it over: who asked (from
// a verified certificate), what they may do, and when to give up. What the
// operation is (its name, whether it changes the host) is declared on its
// RPC in agent.proto, not here.
struct OperationContext {
  const AgentEnvironment& agent;
  PeerIdentity caller;
  // Operations the caller may invoke (for GetInfo's self-description);
  // computed only when asked.
  std::function<std::vector<std::string>()> caller_operations;
  absl::Time deadline;
  // True once the client has gone away or the deadline passed.
  std::function<bool()> cancelled;
  // What the caller sent with the request (dry run, reason, ids).
  bool dry_run = false;
  // The caller asked that nothing change (RequestMeta.read_only).
  bool read_only = false;
  // Mutating operations take their target ("file:/x", "unit:y") here first.
  TargetLocks* locks = nullptr;
  // One page of the agent's journal from a time on (see
  // ActionJournal::ReadSince): fills the page's records, next_cursor and
  // more; an error when the agent keeps none or the cursor is not one.
  std::function<absl::Status(absl::Time since, uint64_t cursor,
                             size_t max_records, size_t max_bytes,
                             v1::JournalReply* page)>
      read_journal;
  // When the agent's own certificate (the one it serves with) expires, as
  // its trust last read it; unset when the gate has no trust (then GetInfo
  // reads the configured file).
  std::function<absl::StatusOr<absl::Time>()> own_certificate_not_after;
};

}  // namespace opsagent

#endif  // OPSAGENT_AGENT_OPS_OPERATION_H_
