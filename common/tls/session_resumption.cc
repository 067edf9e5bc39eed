#include "common/tls/session_resumption.h"

#include <openssl/bio.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

#include "absl/base/call_once.h"
#include "absl/strings/str_cat.h"

namespace opsagent {
namespace {

// SSL_CTX_new applies "system_default" to every context it creates.
constexpr char kConfig[] = R"(
opsagent = opsagent_modules
[opsagent_modules]
ssl_conf = opsagent_ssl
[opsagent_ssl]
system_default = opsagent_tls
[opsagent_tls]
NumTickets = 0
Options = -SessionTicket
)";

struct ConfFree {
  void operator()(CONF* conf) const { NCONF_free(conf); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

absl::Status Apply() {
  // Load the system configuration first, so that loading it later (gRPC
  // initialising OpenSSL) cannot replace this one.
  if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, nullptr) != 1) {
    return absl::InternalError("OpenSSL failed to initialise");
  }
  std::unique_ptr<CONF, ConfFree> conf(NCONF_new(nullptr));
  std::unique_ptr<BIO, BioFree> text(BIO_new_mem_buf(kConfig, -1));
  long error_line = 0;
  if (conf == nullptr || text == nullptr ||
      NCONF_load_bio(conf.get(), text.get(), &error_line) != 1 ||
      CONF_modules_load(conf.get(), "opsagent", 0) != 1) {
    const unsigned long error = ERR_get_error();
    char reason[256];
    ERR_error_string_n(error, reason, sizeof(reason));
    return absl::InternalError(
        absl::StrCat("cannot turn off TLS session resumption: ", reason));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DisableTlsSessionResumption() {
  static absl::once_flag once;
  static absl::Status* status = nullptr;
  absl::call_once(once, [] { status = new absl::Status(Apply()); });
  return *status;
}

}  // namespace opsagent
