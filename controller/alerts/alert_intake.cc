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
#include "common/json.h"
#include "common/regular_file.h"
#include "controller/alerts/alert_source.h"
#include "controller/runbook/alert_triage.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

constexpr size_t kMaxTokenBytes = 4096;
constexpr size_t kDefaultMaxBody = 1 << 20;

// The most a notification holds of its sender's write budget while it is
// recorded.
constexpr uint64_t kMaxHeldBytes = 64 << 10;

std::string ErrorJson(absl::string_view message) {
  return DumpJson({{"error", std::string(message)}});
}

bool HasAutomaticStep(const v1::RunbookEntry& entry) {
  for (const v1::RunbookStep& step : entry.diagnosis()) {
    if (step.automatic()) return true;
  }
  return false;
}

std::string Sha256(absl::string_view text) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

// The sender whose token `authorization` ("Bearer TOKEN") carries, null if
// none. The digests are compared in constant time, each of them, so neither
// a token, its length nor which sender it is shows in the time an answer
// takes.
const AlertSenderKey* SenderOf(absl::string_view authorization,
                               const std::vector<AlertSenderKey>& senders) {
  if (!absl::ConsumePrefix(&authorization, "Bearer ")) return nullptr;
  const std::string presented = Sha256(authorization);
  const AlertSenderKey* found = nullptr;
  for (const AlertSenderKey& sender : senders) {
    if (CRYPTO_memcmp(presented.data(), sender.token_sha256.data(),
                      SHA256_DIGEST_LENGTH) == 0)
      found = &sender;
  }
  return found;
}

// The token in `file` (`field` names it in errors).
absl::StatusOr<std::string> ReadToken(const std::string& field,
                                      const std::string& file) {
  absl::StatusOr<std::string> read = ReadSecretFile(file, kMaxTokenBytes);
  if (!read.ok())
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": ", read.status().message()));
  const std::string token(absl::StripAsciiWhitespace(*read));
  const bool usable =
      token.size() >= 32 && std::all_of(token.begin(), token.end(), [](char c) {
        return absl::ascii_isalnum(c) ||
               absl::string_view("._~+/=-").find(c) != absl::string_view::npos;
      });
  // A token anyone could guess ("aaaa...") is no token.
  const std::set<char> distinct(token.begin(), token.end());
  if (!usable || distinct.size() < 8)
    return absl::FailedPreconditionError(absl::StrCat(
        field, " (", file,
        "): the token must be at least 32 characters of letters, digits and "
        "._~+/=- on one line, not a repeated few (openssl rand -hex 32)"));
  return token;
}

}  // namespace

AlertIntake::AlertIntake(RunbookLibrary runbooks,
                         std::function<Inventory()> live_inventory,
                         IncidentStore* incidents, AutoDiagnosis* diagnosis,
                         IncidentEvents* events, WriteBudget* budget,
                         MetricRegistry& metrics)
    : runbooks_(std::move(runbooks)),
      live_inventory_(std::move(live_inventory)),
      incidents_(incidents),
      diagnosis_(diagnosis),
      events_(events),
      budget_(budget),
      alerts_received_(metrics.AddCounter(
          "opsagent_controller_alerts_received_total",
          "Alerts received in webhook notifications, by sender and status.",
          {"source", "status"})),
      notifications_(metrics.AddCounter(
          "opsagent_controller_alert_notifications_total",
          "Webhook notifications, by HTTP status answered.", {"code"})),
      alerts_refused_(metrics.AddCounter(
          "opsagent_controller_alerts_refused_total",
          "Alerts refused: \"identity\" (a fingerprint and startsAt first "
          "seen with other labels or source), \"open_limit\" (over the new "
          "incidents one notification may open).",
          {"reason"})) {}

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
  std::vector<std::string> roles;  // the inventory's, never the alert's
  if (!alert.host.empty()) {
    absl::StatusOr<v1::Host> host = inventory.Find(alert.host);
    if (host.ok()) {
      triaged.host_known = true;
      roles.assign(host->roles().begin(), host->roles().end());
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
  const RunbookMatch match = MatchEntry(alert.name, roles, runbooks_.entries());
  if (match.entry != nullptr) triaged.entry = match.entry->id();
  for (const v1::RunbookEntry* candidate : match.candidates)
    triaged.nearest.push_back(candidate->id());
  if (match.ambiguous) {
    // Several entries fit equally: none is run, the incident lists them.
    triaged.diagnosis = "ambiguous";
  } else if (diagnosis_ == nullptr) {
    triaged.diagnosis = "disabled";
  } else if (triaged.entry.empty() || !triaged.host_known ||
             !HasAutomaticStep(*runbooks_.Find(triaged.entry))) {
    triaged.diagnosis = "none";
  } else {
    triaged.diagnosis = "pending";
  }
  return triaged;
}

IntakeAnswer AlertIntake::Receive(absl::string_view body,
                                  const std::string& sender) {
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
  // A sender's notifications fill the same database as the team's log:
  // past its write budget it is answered 503, and retries later.
  const std::string writer = absl::StrCat("alert sender ", sender);
  // What it may add is held meanwhile (notifications come at once).
  const uint64_t hold = std::min<uint64_t>(body.size(), kMaxHeldBytes);
  if (budget_ != nullptr) {
    if (absl::Status admitted = budget_->Admit(writer, hold); !admitted.ok())
      return answer(503, ErrorJson(admitted.message()));
  }
  absl::StatusOr<IntakeResult> recorded =
      incidents_->Record(triaged, sender, absl::ToUnixMillis(absl::Now()));
  if (budget_ != nullptr) {
    budget_->Release(writer, hold);
    if (recorded.ok()) budget_->Charge(writer, recorded->bytes_recorded);
  }
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
    if (events_ != nullptr) events_->Happened(id, IncidentEvent::kOpened);
    if (diagnosis_ != nullptr && incident->diagnosis().state() == "pending")
      diagnosis_->Enqueue(*incident);
  }
  for (const std::string& id : recorded->closed) {
    spdlog::info("incident {} resolved: its alerts are resolved", id);
    if (events_ != nullptr) events_->Happened(id, IncidentEvent::kResolved);
  }
  for (const std::string& id : recorded->reopened) {
    spdlog::info("incident {} reopened: an alert of it fires again", id);
    if (events_ != nullptr) events_->Happened(id, IncidentEvent::kReopened);
  }
  if (recorded->refused > 0) {
    alerts_refused_.Increment({"identity"}, recorded->refused);
    spdlog::warn(
        "alert intake: refused {} alert(s) from sender {}: each has the "
        "fingerprint and startsAt of an alert first received with other "
        "labels or from another source; nothing was changed for them",
        recorded->refused, sender);
  }
  if (recorded->not_opened > 0) {
    alerts_refused_.Increment({"open_limit"}, recorded->not_opened);
    spdlog::warn(
        "alert intake: {} alert(s) from sender {} not recorded: one "
        "notification opens at most {} incidents",
        recorded->not_opened, sender, IncidentStore::kMaxOpenedPerNotification);
  }
  return answer(200, DumpJson({{"sender", sender},
                               {"opened", recorded->opened},
                               {"joined", recorded->joined},
                               {"repeated", recorded->repeated},
                               {"resolved", recorded->resolved},
                               {"closed", recorded->closed},
                               {"reopened", recorded->reopened},
                               {"ignored", recorded->ignored},
                               {"refused", recorded->refused},
                               {"not_opened", recorded->not_opened}}));
}

absl::StatusOr<std::vector<AlertSenderKey>> AlertIntake::ReadSenders(
    const v1::AlertIntakeConfig& config) {
  std::vector<std::pair<std::string, std::string>> files;  // field, file
  std::vector<std::string> names;
  if (!config.bearer_token_file().empty()) {
    files.push_back(
        {"alert_intake.bearer_token_file", config.bearer_token_file()});
    names.push_back("default");
  }
  for (int i = 0; i < config.senders_size(); ++i) {
    files.push_back(
        {absl::StrCat("alert_intake.senders[", i, "].bearer_token_file"),
         config.senders(i).bearer_token_file()});
    names.push_back(config.senders(i).name());
  }
  if (files.empty())
    return absl::FailedPreconditionError(
        "alert_intake: no sender: set bearer_token_file or senders { name "
        "bearer_token_file }");
  std::vector<AlertSenderKey> senders;
  for (size_t i = 0; i < files.size(); ++i) {
    absl::StatusOr<std::string> token =
        ReadToken(files[i].first, files[i].second);
    if (!token.ok()) return token.status();
    AlertSenderKey key{names[i], Sha256(*token)};
    for (const AlertSenderKey& other : senders) {
      if (other.token_sha256 == key.token_sha256)
        return absl::FailedPreconditionError(absl::StrCat(
            files[i].first, ": the same token as sender \"", other.name,
            "\"; each sender needs its own (openssl rand -hex 32)"));
    }
    senders.push_back(std::move(key));
  }
  return senders;
}

absl::StatusOr<std::unique_ptr<HttpListener>> AlertIntake::Serve(
    const v1::AlertIntakeConfig& config, AlertIntake* intake) {
  absl::StatusOr<std::vector<AlertSenderKey>> senders = ReadSenders(config);
  if (!senders.ok()) return senders.status();
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
  options.screen = [senders = *senders](
                       const HttpRequest& head) -> std::optional<HttpResponse> {
    HttpResponse refused;
    if (head.path != "/v1/alerts") {
      refused.status = 404;
      refused.body = ErrorJson("alerts are POSTed to /v1/alerts");
    } else if (head.method != "POST") {
      refused.status = 405;
      refused.body = ErrorJson("alerts are POSTed to /v1/alerts");
      refused.headers.push_back({"Allow", "POST"});
    } else if (SenderOf(head.authorization, senders) == nullptr) {
      refused.status = 401;
      refused.body = ErrorJson(
          "a bearer token is required (Authorization: Bearer TOKEN, from "
          "alert_intake.senders or bearer_token_file)");
      refused.headers.push_back({"WWW-Authenticate", "Bearer"});
    } else {
      return std::nullopt;
    }
    return refused;
  };
  options.handle = [intake, senders = *senders](const HttpRequest& request) {
    // Screened: the token is a sender's.
    const AlertSenderKey* sender = SenderOf(request.authorization, senders);
    IntakeAnswer answer =
        sender == nullptr
            ? IntakeAnswer{401, ErrorJson("a bearer token is required")}
            : intake->Receive(request.body, sender->name);
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
