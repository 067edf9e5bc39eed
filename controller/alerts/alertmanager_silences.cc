#include "controller/alerts/alertmanager_silences.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/regular_file.h"
#include "nlohmann/json.hpp"

namespace opsagent {
namespace {

constexpr size_t kMaxTokenBytes = 4096;

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

// Alertmanager's answer to a refused request: {"message": ...}, or its
// text, cut short.
std::string Refusal(const OutgoingReply& reply) {
  nlohmann::json body = nlohmann::json::parse(reply.body, nullptr, false);
  std::string words = body.is_object() && body.contains("message") &&
                              body["message"].is_string()
                          ? body["message"].get<std::string>()
                          : reply.body;
  if (words.size() > 300) words = words.substr(0, 300) + "...";
  for (char& c : words) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return absl::StrCat("Alertmanager answered ", reply.status, ": ", words);
}

}  // namespace

bool IsSilenceId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f') || c == '-'))
      return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<AlertmanagerSilences>>
AlertmanagerSilences::Create(const v1::AlertmanagerConfig& config) {
  std::string token;
  if (!config.bearer_token_file().empty()) {
    absl::StatusOr<std::string> read =
        ReadSecretFile(config.bearer_token_file(), kMaxTokenBytes);
    if (!read.ok()) return read.status();
    token = std::string(absl::StripAsciiWhitespace(*read));
  }
  HttpsClientOptions options;
  options.ca_file = config.ca_file();
  options.timeout = absl::Seconds(
      config.timeout_seconds() == 0 ? 10 : config.timeout_seconds());
  options.max_reply_bytes = 64 << 10;
  return std::unique_ptr<AlertmanagerSilences>(new AlertmanagerSilences(
      std::string(absl::StripSuffix(config.url(), "/")), std::move(token),
      std::move(options)));
}

absl::StatusOr<OutgoingReply> AlertmanagerSilences::Send(
    const std::string& method, const std::string& path,
    const std::string& body) const {
  OutgoingRequest request;
  request.method = method;
  request.url = base_url_ + path;
  request.body = body;
  request.bearer_token = token_;
  return SendHttpsRequest(request, options_);
}

std::string AlertmanagerSilences::Describe(
    const std::vector<Matcher>& matchers) {
  return absl::StrJoin(matchers, ", ", [](std::string* out, const Matcher& m) {
    absl::StrAppend(
        out, m.first, "=",
        nlohmann::json(m.second).dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace));
  });
}

absl::StatusOr<std::string> AlertmanagerSilences::Silence(
    const std::vector<Matcher>& matchers, absl::Time ends,
    const std::string& created_by, const std::string& comment) const {
  if (matchers.empty())
    return absl::InvalidArgumentError("a silence without matchers");
  nlohmann::json body;
  body["matchers"] = nlohmann::json::array();
  for (const auto& [name, value] : matchers) {
    body["matchers"].push_back({{"name", name},
                                {"value", value},
                                {"isRegex", false},
                                {"isEqual", true}});
  }
  body["startsAt"] = Rfc3339(absl::Now());
  body["endsAt"] = Rfc3339(ends);
  body["createdBy"] = created_by;
  body["comment"] = comment;
  absl::StatusOr<OutgoingReply> reply =
      Send("POST", "/api/v2/silences",
           body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) return absl::InternalError(Refusal(*reply));
  nlohmann::json answer = nlohmann::json::parse(reply->body, nullptr, false);
  if (!answer.is_object() || !answer.contains("silenceID") ||
      !answer["silenceID"].is_string() ||
      !IsSilenceId(answer["silenceID"].get<std::string>()))
    return absl::InternalError(
        "Alertmanager created a silence but its answer holds no silence id "
        "of the expected form");
  return answer["silenceID"].get<std::string>();
}

absl::Status AlertmanagerSilences::Expire(const std::string& id) const {
  if (!IsSilenceId(id))
    return absl::InvalidArgumentError(
        absl::StrCat("\"", id.substr(0, 64), "\" is not a silence id"));
  absl::StatusOr<OutgoingReply> reply =
      Send("DELETE", absl::StrCat("/api/v2/silence/", id), "");
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) return absl::InternalError(Refusal(*reply));
  return absl::OkStatus();
}

absl::StatusOr<std::string> AlertmanagerSilences::State(
    const std::string& id) const {
  if (!IsSilenceId(id))
    return absl::InvalidArgumentError(
        absl::StrCat("\"", id.substr(0, 64), "\" is not a silence id"));
  absl::StatusOr<OutgoingReply> reply =
      Send("GET", absl::StrCat("/api/v2/silence/", id), "");
  if (!reply.ok()) return reply.status();
  if (reply->status == 404)
    return absl::NotFoundError(
        absl::StrCat("Alertmanager has no silence ", id));
  if (reply->status != 200) return absl::InternalError(Refusal(*reply));
  nlohmann::json answer = nlohmann::json::parse(reply->body, nullptr, false);
  if (!answer.is_object() || !answer.contains("status") ||
      !answer["status"].is_object() || !answer["status"].contains("state") ||
      !answer["status"]["state"].is_string())
    return absl::InternalError("Alertmanager's silence holds no state");
  return answer["status"]["state"].get<std::string>();
}

}  // namespace opsagent
