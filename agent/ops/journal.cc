#include <algorithm>

#include "absl/time/time.h"
#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "agent/system/proc_file.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

constexpr uint32_t kDefaultRecords = 10000;
constexpr uint32_t kMaxRecords = 50000;

absl::Status RunReadJournal(const OperationContext& context,
                            const v1::JournalRequest& request,
                            v1::JournalReply* reply) {
  if (request.since_unix_ms() < 0)
    return absl::InvalidArgumentError("since_unix_ms must not be negative");
  const uint32_t limit = request.limit() == 0
                             ? kDefaultRecords
                             : std::min(request.limit(), kMaxRecords);
  bool truncated = false;
  absl::StatusOr<std::vector<v1::JournalRecord>> records = context.read_journal(
      absl::FromUnixMillis(request.since_unix_ms()), limit, &truncated);
  if (!records.ok()) return records.status();
  // The certificate whose key signs this reply, for the reader to check.
  absl::StatusOr<std::string> certificate =
      ReadProcFile(context.agent.config.tls().certificate());
  if (!certificate.ok()) return certificate.status();
  reply->set_hostname(context.agent.config.hostname());
  reply->set_agent_certificate_pem(*std::move(certificate));
  for (v1::JournalRecord& record : *records)
    *reply->add_records() = std::move(record);
  reply->set_truncated(truncated);
  return absl::OkStatus();
}

}  // namespace

OPSAGENT_OPERATION(ReadJournal, RunReadJournal);

}  // namespace opsagent
