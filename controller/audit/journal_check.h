#ifndef OPSAGENT_CONTROLLER_AUDIT_JOURNAL_CHECK_H_
#define OPSAGENT_CONTROLLER_AUDIT_JOURNAL_CHECK_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tls/chain_verifier.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {

// One host's journal as `opsctl audit reconcile` reads it: relayed by the
// controller, which could forge it, alter it or pass another host's off as
// this one's. It is accepted only if the certificate in the reply chains to
// the operators' CA (`ca`) and is `host`'s, and that certificate's key signed
// this very reply: `signature` over `result_sha256`, which must be the
// digest of `host`, `request_id` and `reply_bytes` (ResultSha256). Returns
// the parsed reply, or DATA_LOSS saying which check failed, for the operator
// to read.
absl::StatusOr<v1::JournalReply> CheckHostJournal(
    const std::string& host, absl::string_view request_id,
    absl::string_view reply_bytes, absl::string_view result_sha256,
    absl::string_view signature, const ChainVerifier& ca);

// The certificates whose keys signed `host`'s results, from a reply
// CheckHostJournal accepted: its current one, then each it renewed from
// that the CA issued to `host` (expired since, but not revoked), as one
// PEM bundle for Reconcile. Earlier ones that do not check out are left out.
std::string HostSigningCertificates(const v1::JournalReply& reply,
                                    const std::string& host,
                                    const ChainVerifier& ca);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_AUDIT_JOURNAL_CHECK_H_
