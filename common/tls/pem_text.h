#ifndef OPSAGENT_COMMON_TLS_PEM_TEXT_H_
#define OPSAGENT_COMMON_TLS_PEM_TEXT_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct bio_st BIO;

namespace opsagent {

// INTERNAL "cannot <what>: <OpenSSL's reason>", taking the reason from
// OpenSSL's error queue of this thread and clearing the queue.
absl::Status OpenSslError(absl::string_view what);

// What `write` (PEM_write_bio_X509 and the like, returning 1 on success)
// writes into a memory BIO; OpenSslError(what) when it fails.
absl::StatusOr<std::string> PemText(absl::string_view what,
                                    const std::function<int(BIO*)>& write);

// Each "-----BEGIN CERTIFICATE-----" ... "-----END CERTIFICATE-----" block
// of `text`, in order, markers included (a bundle: a chain, or the
// certificates a host renewed from). Nothing is parsed.
std::vector<std::string> PemCertificateBlocks(absl::string_view text);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_PEM_TEXT_H_
