#include <algorithm>

#include "absl/time/time.h"
#include "agent/enroll/host_certificate_files.h"
#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "agent/system/proc_file.h"
#include "common/tls/pem_text.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

constexpr uint32_t kDefaultRecords = 10000;
constexpr uint32_t kMaxRecords = 50000;
// A page's records, well under what the link to the controller carries
// (common/link_limits.h: 16 MiB).
constexpr uint32_t kMaxPageBytes = 4 << 20;

absl::Status RunReadJournal(const OperationContext& context,
                            const v1::JournalRequest& request,
                            v1::JournalReply* reply) {
  if (request.since_unix_ms() < 0)
    return absl::InvalidArgumentError("since_unix_ms must not be negative");
  const uint32_t limit = request.limit() == 0
                             ? kDefaultRecords
                             : std::min(request.limit(), kMaxRecords);
  const uint32_t max_bytes = request.max_bytes() == 0
                                 ? kMaxPageBytes
                                 : std::min(request.max_bytes(), kMaxPageBytes);
  if (absl::Status read =
          context.read_journal(absl::FromUnixMillis(request.since_unix_ms()),
                               request.cursor(), limit, max_bytes, reply);
      !read.ok())
    return read;
  reply->set_truncated(reply->more());
  // The certificate whose key signs this reply, for the reader to check.
  absl::StatusOr<std::string> certificate =
      ReadProcFile(context.agent.config.tls().certificate());
  if (!certificate.ok()) return certificate.status();
  reply->set_hostname(context.agent.config.hostname());
  reply->set_agent_certificate_pem(*std::move(certificate));
  // Those it renewed from: their keys signed its earlier results.
  if (absl::StatusOr<std::string> earlier =
          ReadProcFile(EarlierCertificatesPath(context.agent.config));
      earlier.ok()) {
    for (std::string& block : PemCertificateBlocks(*earlier))
      reply->add_earlier_certificate_pem(std::move(block));
  }
  return absl::OkStatus();
}

}  // namespace

OPSAGENT_OPERATION(ReadJournal, RunReadJournal);

}  // namespace opsagent
