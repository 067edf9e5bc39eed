#include "common/metrics/metrics_endpoint.h"

namespace opsagent {

absl::StatusOr<std::unique_ptr<HttpListener>> ServeMetrics(
    const std::string& address, const MetricRegistry& registry) {
  HttpListenerOptions options;
  options.address = address;
  options.max_body_bytes = 0;  // a scrape has no body
  options.connection_limit = 32;
  options.per_address_limit = 8;
  options.screen = [](const HttpRequest& head) -> std::optional<HttpResponse> {
    if (head.method == "GET" && head.path == "/metrics") return std::nullopt;
    HttpResponse missing;
    missing.status = 404;
    missing.content_type = "text/plain";
    missing.body = "only GET /metrics is served here\n";
    return missing;
  };
  options.handle = [&registry](const HttpRequest&) {
    HttpResponse scrape;
    scrape.content_type = "text/plain; version=0.0.4; charset=utf-8";
    scrape.body = registry.Render();
    return scrape;
  };
  return HttpListener::Start(options);
}

}  // namespace opsagent
