#ifndef OPSAGENT_COMMON_TLS_TLS_FILES_H_
#define OPSAGENT_COMMON_TLS_TLS_FILES_H_

#include <string>

namespace opsagent {

// PEM files of one side of a mutual-TLS connection.
struct TlsFiles {
  std::string certificate;  // may be empty on a client (tests only)
  std::string private_key;
  std::string ca_certificate;  // the peer must chain to this bundle
  int refresh_interval_seconds = 60;
  // Server only: CRL files every client certificate is checked against.
  std::string crl_directory;
};

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_TLS_TLS_FILES_H_
