#include "controller/pages/incident_pages.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "controller/pages/incident_page.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// What a browser may do with a page: show it and its stylesheet, nothing
// more.
constexpr char kPolicy[] =
    "default-src 'none'; style-src 'self'; img-src 'none'; script-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
// The actions shown on a page, newest last.
constexpr int kMaxActionsShown = 1000;

HttpResponse Html(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "text/html; charset=utf-8";
  response.body = std::move(body);
  response.headers = {{"Content-Security-Policy", kPolicy},
                      {"X-Content-Type-Options", "nosniff"},
                      {"X-Frame-Options", "DENY"},
                      {"Referrer-Policy", "no-referrer"},
                      {"Cache-Control", "no-store"}};
  return response;
}

std::string QueryValue(const HttpRequest& request, absl::string_view name) {
  for (const auto& [key, value] : request.query) {
    if (key == name) return value;
  }
  return "";
}

class PageHandler {
 public:
  PageHandler(const PageLinks* links, IncidentStore* incidents,
              AuditStore* audit)
      : links_(links), incidents_(incidents), audit_(audit) {}

  HttpResponse Handle(const HttpRequest& request) const {
    if (request.path == "/page.css") {
      HttpResponse css = Html(200, kPageStylesheet);
      css.content_type = "text/css; charset=utf-8";
      return css;
    }
    const std::string token = QueryValue(request, "t");
    if (request.path == "/incidents") return List(token);
    absl::string_view id = request.path;
    if (absl::ConsumePrefix(&id, "/incidents/") &&
        IncidentStore::ParseId(id).ok())
      return One(std::string(id), token);
    return Html(404, RenderRefusal("There is no such page."));
  }

 private:
  HttpResponse List(const std::string& token) const {
    absl::StatusOr<absl::Time> expires =
        links_->Check(token, PageLinks::kListScope, absl::Now());
    if (!expires.ok())
      return Html(403, RenderRefusal(expires.status().message()));
    v1::ListIncidentsRequest request;
    request.set_include_resolved(true);
    absl::StatusOr<v1::ListIncidentsReply> listed = incidents_->List(request);
    if (!listed.ok()) return Unavailable(listed.status());
    std::vector<v1::Incident> shown(listed->incidents().begin(),
                                    listed->incidents().end());
    return Html(200,
                RenderIncidentList(shown, *expires, [&](const std::string& id) {
                  return links_->Path(id, *expires);
                }));
  }

  HttpResponse One(const std::string& id, const std::string& token) const {
    absl::StatusOr<absl::Time> expires = links_->Check(token, id, absl::Now());
    if (!expires.ok())
      return Html(403, RenderRefusal(expires.status().message()));
    absl::StatusOr<v1::Incident> incident = incidents_->Get(id);
    if (!incident.ok()) {
      if (absl::IsNotFound(incident.status()))
        return Html(404, RenderRefusal(incident.status().message()));
      return Unavailable(incident.status());
    }
    v1::AuditQuery filter;
    filter.set_incident(id);
    filter.set_limit(kMaxActionsShown);
    absl::StatusOr<std::vector<v1::AuditEntry>> actions = audit_->Query(filter);
    if (!actions.ok()) return Unavailable(actions.status());
    std::sort(actions->begin(), actions->end(),
              [](const v1::AuditEntry& a, const v1::AuditEntry& b) {
                return a.id() < b.id();
              });
    return Html(200, RenderIncidentPage(*incident, *actions, *expires, ""));
  }

  static HttpResponse Unavailable(const absl::Status& status) {
    spdlog::error("incident pages: {}", std::string(status.message()));
    return Html(
        503, RenderRefusal("The controller cannot read its incidents now; try "
                           "again in a moment."));
  }

  const PageLinks* const links_;
  IncidentStore* const incidents_;
  AuditStore* const audit_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpListener>> ServeIncidentPages(
    const v1::IncidentPagesConfig& config, const PageLinks* links,
    IncidentStore* incidents, AuditStore* audit) {
  HttpListenerOptions options;
  options.address = config.listen_address();
  options.certificate = config.certificate();
  options.private_key = config.private_key();
  options.max_body_bytes = 0;
  options.allowed_peers.assign(config.allowed_peers().begin(),
                               config.allowed_peers().end());
  options.screen = [](const HttpRequest& head) -> std::optional<HttpResponse> {
    if (head.method == "GET" || head.method == "HEAD") return std::nullopt;
    HttpResponse refused =
        Html(405, RenderRefusal("These pages are read-only: only GET."));
    refused.headers.push_back({"Allow", "GET, HEAD"});
    return refused;
  };
  auto handler = std::make_shared<PageHandler>(links, incidents, audit);
  options.handle = [handler](const HttpRequest& request) {
    return handler->Handle(request);
  };
  return HttpListener::Start(options);
}

}  // namespace opsagent
