#include "common/metrics/certificate_expiry.h"

#include "common/tls/certificate_info.h"

namespace opsagent {

void AddCertificateExpiryGauge(MetricRegistry& metrics, std::string name,
                               std::string path) {
  metrics.AddGauge(
      std::move(name),
      "When this daemon's certificate expires (Unix seconds; -1 "
      "when it cannot be read).",
      [path = std::move(path)] {
        absl::StatusOr<CertificateInfo> certificate = ReadCertificateFile(path);
        return certificate.ok() ? static_cast<double>(absl::ToUnixSeconds(
                                      certificate->not_after))
                                : -1.0;
      });
}

}  // namespace opsagent
