#include "common/tls/pem_text.h"

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>

#include "absl/strings/str_cat.h"
#include "common/tls/openssl_ptr.h"

namespace opsagent {

absl::Status OpenSslError(absl::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  char reason[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, reason, sizeof(reason));
  return absl::InternalError(absl::StrCat("cannot ", what, ": ", reason));
}

absl::StatusOr<std::string> PemText(absl::string_view what,
                                    const std::function<int(BIO*)>& write) {
  UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return OpenSslError(what);
  BUF_MEM* buffer = nullptr;
  BIO_get_mem_ptr(bio.get(), &buffer);
  return std::string(buffer->data, buffer->length);
}

std::vector<std::string> PemCertificateBlocks(absl::string_view text) {
  constexpr absl::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr absl::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> blocks;
  for (size_t begin = text.find(kBegin); begin != absl::string_view::npos;
       begin = text.find(kBegin, begin)) {
    const size_t end = text.find(kEnd, begin);
    if (end == absl::string_view::npos) break;
    blocks.emplace_back(text.substr(begin, end + kEnd.size() - begin));
    begin = end + kEnd.size();
  }
  return blocks;
}

}  // namespace opsagent
