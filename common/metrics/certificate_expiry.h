#ifndef OPSAGENT_COMMON_METRICS_CERTIFICATE_EXPIRY_H_
#define OPSAGENT_COMMON_METRICS_CERTIFICATE_EXPIRY_H_

#include <string>

#include "common/metrics/metrics.h"

namespace opsagent {

// Adds the gauge `name`: when the certificate in `path` (PEM) expires, in
// Unix seconds, read at each scrape so that a renewed file shows at once;
// -1 while it cannot be read. For alerting before a daemon's certificate
// runs out (deploy/monitoring/opsagent-rules.yml).
void AddCertificateExpiryGauge(MetricRegistry& metrics, std::string name,
                               std::string path);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_METRICS_CERTIFICATE_EXPIRY_H_
