#ifndef OPSAGENT_COMMON_METRICS_METRICS_ENDPOINT_H_
#define OPSAGENT_COMMON_METRICS_METRICS_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/http/http_listener.h"
#include "common/metrics/metrics.h"

namespace opsagent {

// Serves `registry` at GET /metrics on `address` (plain HTTP: Prometheus
// scrapes it; it shows counts and timings only). Anything else is 404.
// `registry` must outlive the listener.
absl::StatusOr<std::unique_ptr<HttpListener>> ServeMetrics(
    const std::string& address, const MetricRegistry& registry);

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_METRICS_METRICS_ENDPOINT_H_
