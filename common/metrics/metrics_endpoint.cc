#include "common/metrics/metrics_endpoint.h"

namespace opsagent {

absl::StatusOr<std::unique_ptr<HttpListener>> ServeMetrics(
    const std::string& address, const MetricRegistry& registry) {
  HttpListenerOptions options;
  options.address = address;
  options.max_body_bytes = 0;  // a scrape has no body
  options.threads = 2;
  return HttpListener::Start(options, [&registry](httplib::Server& server) {
    server.Get("/metrics", [&registry](const httplib::Request&,
                                       httplib::Response& response) {
      response.set_content(registry.Render(),
                           "text/plain; version=0.0.4; charset=utf-8");
    });
  });
}

}  // namespace opsagent
