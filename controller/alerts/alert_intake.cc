#include "controller/alerts/alert_intake.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/regular_file.h"
#include "controller/runbook/alert_triage.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

constexpr size_t kMaxTokenBytes = 4096;
constexpr size_t kDefaultMaxBody = 1 << 20;

std::string ErrorJson(absl::string_view message) {
  return nlohmann::json{{"error", std::string(message)}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool HasAutomaticStep(const v1::RunbookEntry& entry) {
  for (const v1::RunbookStep& step : entry.diagnosis()) {
    if (step.automatic()) return true;
  }
  return false;
}

// Whether `authorization` is "Bearer TOKEN" with `token`. The digests are
// compared, in constant time, so neither the token nor its length shows in
// the time an answer takes.
bool HasBearerToken(absl::string_view authorization,
                    const std::string& token_sha256) {
  if (!absl::ConsumePrefix(&authorization, "Bearer ")) return false;
  unsigned char presented[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(authorization.data()),
         authorization.size(), presented);
  return CRYPTO_memcmp(presented, token_sha256.data(), sizeof(presented)) == 0;
}

}  // namespace

AlertIntake::AlertIntake(RunbookLibrary runbooks,
                         std::function<Inventory()> live_inventory,
                         IncidentStore* incidents, AutoDiagnosis* diagnosis,
                         MetricRegistry& metrics)
    : runbooks_(std::move(runbooks)),
      live_inventory_(std::move(live_inventory)),
      incidents_(incidents),
      diagnosis_(diagnosis),
      alerts_received_(metrics.AddCounter(
          "opsagent_controller_alerts_received_total",
          "Alerts received in webhook notifications, by sender and status.",
          {"source", "status"})),
      notifications_(metrics.AddCounter(
          "opsagent_controller_alert_notifications_total",
          "Webhook notifications, by HTTP status answered.", {"code"})) {}

TriagedAlert AlertIntake::Triage(const ReceivedAlert& received,
                                 const std::string& source,
                                 const Inventory& inventory) const {
  TriagedAlert triaged;
  triaged.alert = received;
  triaged.source = source;
  Alert alert = AlertFromLabels(received.labels, received.annotations);
  triaged.host = alert.host;
  // Shown as the alert says; what diagnosis targets comes from the
  // inventory alone (a label is not trusted to name hosts: "role:web" or
  // "prod,role:x" would widen a target expression).
  triaged.environment = alert.environment;
  if (!alert.host.empty()) {
    absl::StatusOr<v1::Host> host = inventory.Find(alert.host);
    if (host.ok()) {
      triaged.host_known = true;
      AddHostRoles({host->roles().begin(), host->roles().end()}, alert);
      triaged.environment = host->environment();
    }
  }
  for (const char* name : {"description", "summary", "message"}) {
    auto it = received.annotations.find(name);
    if (it != received.annotations.end() && !it->second.empty()) {
      triaged.summary = it->second;
      break;
    }
  }
  const std::vector<EntryMatch> ranked =
      RankEntries(alert, runbooks_.entries());
  if (!ranked.empty() && ranked[0].score >= 1.0) {
    triaged.entry = ranked[0].entry->id();
  } else {
    for (size_t i = 0; i < ranked.size() && i < 3 && ranked[i].score > 0; ++i)
      triaged.nearest.push_back(ranked[i].entry->id());
  }
  if (diagnosis_ == nullptr) {
    triaged.diagnosis = "disabled";
  } else if (triaged.entry.empty() || !triaged.host_known ||
             !HasAutomaticStep(*runbooks_.Find(triaged.entry))) {
    triaged.diagnosis = "none";
  } else {
    triaged.diagnosis = "pending";
  }
  return triaged;
}

IntakeAnswer AlertIntake::Receive(absl::string_view body) {
  const auto answer = [](int status, std::string json) {
    return IntakeAnswer{status, std::move(json)};
  };
  absl::StatusOr<AlertNotification> notification = ParseAlertNotification(body);
  if (!notification.ok()) {
    spdlog::warn("alert intake: refused a notification: {}",
                 std::string(notification.status().message()));
    return answer(400, ErrorJson(notification.status().message()));
  }
  const Inventory inventory = live_inventory_();
  std::vector<TriagedAlert> triaged;
  for (const ReceivedAlert& alert : notification->alerts) {
    alerts_received_.Increment({notification->source, alert.status});
    triaged.push_back(Triage(alert, notification->source, inventory));
  }
  absl::StatusOr<IntakeResult> recorded =
      incidents_->Record(triaged, absl::ToUnixMillis(absl::Now()));
  if (!recorded.ok()) {
    spdlog::error(
        "alert intake: cannot record a notification (answered "
        "503, the sender retries): {}",
        std::string(recorded.status().message()));
    return answer(503, ErrorJson(absl::StrCat("cannot record the alerts: ",
                                              recorded.status().message())));
  }
  for (const std::string& id : recorded->opened) {
    absl::StatusOr<v1::Incident> incident = incidents_->Get(id);
    if (!incident.ok()) continue;
    spdlog::info("incident {} opened: {} on {} (entry {}, diagnosis {})", id,
                 incident->alertname(), incident->host(),
                 incident->entry().empty() ? "none" : incident->entry(),
                 incident->diagnosis().state());
    if (diagnosis_ != nullptr && incident->diagnosis().state() == "pending")
      diagnosis_->Enqueue(*incident);
  }
  for (const std::string& id : recorded->closed)
    spdlog::info("incident {} resolved: its alerts are resolved", id);
  nlohmann::json reply = {
      {"opened", recorded->opened},     {"joined", recorded->joined},
      {"repeated", recorded->repeated}, {"resolved", recorded->resolved},
      {"closed", recorded->closed},     {"ignored", recorded->ignored}};
  return answer(200, reply.dump());
}

absl::StatusOr<std::string> AlertIntake::ReadBearerToken(
    const v1::AlertIntakeConfig& config) {
  absl::StatusOr<std::string> read =
      ReadSecretFile(config.bearer_token_file(), kMaxTokenBytes);
  if (!read.ok())
    return absl::FailedPreconditionError(absl::StrCat(
        "alert_intake.bearer_token_file: ", read.status().message()));
  const std::string token(absl::StripAsciiWhitespace(*read));
  const bool usable =
      token.size() >= 32 && std::all_of(token.begin(), token.end(), [](char c) {
        return absl::ascii_isalnum(c) ||
               absl::string_view("._~+/=-").find(c) != absl::string_view::npos;
      });
  // A token anyone could guess ("aaaa...") is no token.
  const std::set<char> distinct(token.begin(), token.end());
  if (!usable || distinct.size() < 8)
    return absl::FailedPreconditionError(
        "alert_intake.bearer_token_file: the token must be at least 32 "
        "characters of letters, digits and ._~+/=- on one line, not a "
        "repeated few (openssl rand -hex 32)");
  return token;
}

absl::StatusOr<std::unique_ptr<HttpListener>> AlertIntake::Serve(
    const v1::AlertIntakeConfig& config, AlertIntake* intake) {
  absl::StatusOr<std::string> token = ReadBearerToken(config);
  if (!token.ok()) return token.status();
  std::string token_sha256(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(token->data()), token->size(),
         reinterpret_cast<unsigned char*>(token_sha256.data()));
  HttpListenerOptions options;
  options.address = config.listen_address();
  options.certificate = config.certificate();
  options.private_key = config.private_key();
  options.max_body_bytes =
      config.max_body_bytes() == 0 ? kDefaultMaxBody : config.max_body_bytes();
  options.allowed_peers.assign(config.allowed_senders().begin(),
                               config.allowed_senders().end());
  if (options.allowed_peers.empty())
    spdlog::warn(
        "alert intake: any address may connect (set "
        "alert_intake.allowed_senders to Alertmanager's and Grafana's)");
  options.screen =
      [token_sha256](const HttpRequest& head) -> std::optional<HttpResponse> {
    HttpResponse refused;
    if (head.path != "/v1/alerts") {
      refused.status = 404;
      refused.body = ErrorJson("alerts are POSTed to /v1/alerts");
    } else if (head.method != "POST") {
      refused.status = 405;
      refused.body = ErrorJson("alerts are POSTed to /v1/alerts");
      refused.headers.push_back({"Allow", "POST"});
    } else if (!HasBearerToken(head.authorization, token_sha256)) {
      refused.status = 401;
      refused.body = ErrorJson(
          "a bearer token is required (Authorization: Bearer TOKEN, from "
          "alert_intake.bearer_token_file)");
      refused.headers.push_back({"WWW-Authenticate", "Bearer"});
    } else {
      return std::nullopt;
    }
    return refused;
  };
  options.handle = [intake](const HttpRequest& request) {
    IntakeAnswer answer = intake->Receive(request.body);
    HttpResponse response;
    response.status = answer.status;
    response.body = std::move(answer.body);
    return response;
  };
  options.answered = [intake](int status) {
    intake->notifications_.Increment({absl::StrCat(status)});
  };
  return HttpListener::Start(options);
}

}  // namespace opsagent
