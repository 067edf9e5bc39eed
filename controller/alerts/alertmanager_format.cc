#include "controller/alerts/alertmanager_format.h"

#include <openssl/sha.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "controller/alerts/alert_links.h"
#include "controller/alerts/webhook_json.h"

namespace opsagent {
namespace {

constexpr size_t kMaxAlerts = 1000;

// Alertmanager's fingerprint is a hash of the label set; one with the same
// property stands in when a sender gives none.
std::string LabelsFingerprint(
    const std::map<std::string, std::string>& labels) {
  SHA256_CTX sha;
  SHA256_Init(&sha);
  for (const auto& [name, value] : labels) {
    SHA256_Update(&sha, name.data(), name.size());
    SHA256_Update(&sha, "\xff", 1);
    SHA256_Update(&sha, value.data(), value.size());
    SHA256_Update(&sha, "\xff", 1);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &sha);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

absl::StatusOr<ReceivedAlert> ParseAlert(const Json& value, size_t index,
                                         const std::string& external_url) {
  const std::string where = absl::StrCat("alerts[", index, "].");
  if (!value.is_object())
    return BadField(absl::StrCat("alerts[", index, "]"), "must be an object");
  ReceivedAlert alert;
  absl::StatusOr<std::string> status = OptionalString(value, where, "status");
  if (!status.ok()) return status.status();
  if (*status != "firing" && *status != "resolved")
    return BadField(absl::StrCat(where, "status"),
                    "must be \"firing\" or \"resolved\"");
  alert.status = *status;
  absl::StatusOr<std::map<std::string, std::string>> labels =
      StringMap(value, where, "labels", /*labels=*/true);
  if (!labels.ok()) return labels.status();
  if (labels->count("alertname") == 0 || labels->at("alertname").empty())
    return BadField(absl::StrCat(where, "labels"), "has no alertname");
  alert.labels = *std::move(labels);
  absl::StatusOr<std::map<std::string, std::string>> annotations =
      StringMap(value, where, "annotations", /*labels=*/false);
  if (!annotations.ok()) return annotations.status();
  alert.annotations = *std::move(annotations);
  absl::StatusOr<int64_t> starts = TimeField(value, where, "startsAt", true);
  if (!starts.ok()) return starts.status();
  absl::StatusOr<int64_t> ends = TimeField(value, where, "endsAt", false);
  if (!ends.ok()) return ends.status();
  alert.starts_at_ms = *starts;
  alert.ends_at_ms = *ends;
  absl::StatusOr<std::string> fingerprint =
      OptionalString(value, where, "fingerprint");
  if (!fingerprint.ok()) return fingerprint.status();
  if (fingerprint->size() > 64 ||
      !std::all_of(fingerprint->begin(), fingerprint->end(),
                   [](char c) { return absl::ascii_isxdigit(c); }))
    return BadField(absl::StrCat(where, "fingerprint"),
                    "must be at most 64 hexadecimal digits");
  alert.fingerprint = fingerprint->empty()
                          ? LabelsFingerprint(alert.labels)
                          : absl::AsciiStrToLower(*fingerprint);
  // Links: Alertmanager's generatorURL; Grafana's dashboard, panel and
  // silence pages too. One that is not an http(s) URL is left out, not the
  // alert with it.
  for (auto [name, link] : {std::pair{"generatorURL", &alert.links.generator},
                            {"dashboardURL", &alert.links.dashboard},
                            {"panelURL", &alert.links.panel},
                            {"silenceURL", &alert.links.silence}}) {
    absl::StatusOr<std::string> url = OptionalString(value, where, name);
    if (!url.ok()) return url.status();
    *link = SafeLink(*url, alert.links.refused);
  }
  alert.links.external = SafeLink(external_url, alert.links.refused);
  return alert;
}

}  // namespace

absl::StatusOr<AlertNotification> ParseAlertmanagerFormat(
    const Json& root, absl::string_view source) {
  AlertNotification notification;
  notification.source = std::string(source);
  absl::StatusOr<std::string> status = OptionalString(root, "", "status");
  if (!status.ok()) return status.status();
  notification.status = *status;
  absl::StatusOr<std::string> external =
      OptionalString(root, "", "externalURL");
  if (!external.ok()) return external.status();
  notification.external_url = *external;
  auto alerts = root.find("alerts");
  if (alerts == root.end() || !alerts->is_array() || alerts->empty())
    return absl::InvalidArgumentError("alerts: must be a non-empty array");
  if (alerts->size() > kMaxAlerts)
    return absl::InvalidArgumentError(
        absl::StrCat("alerts: more than ", kMaxAlerts, " in one notification"));
  for (size_t i = 0; i < alerts->size(); ++i) {
    absl::StatusOr<ReceivedAlert> alert =
        ParseAlert((*alerts)[i], i, notification.external_url);
    if (!alert.ok()) return alert.status();
    notification.alerts.push_back(*std::move(alert));
  }
  return notification;
}

AlertmanagerFormatSource::AlertmanagerFormatSource(std::string name,
                                                   absl::string_view who,
                                                   std::string version)
    : name_(std::move(name)),
      description_(absl::StrCat(who, " (\"version\": \"", version, "\")")),
      version_(std::move(version)) {}

absl::StatusOr<bool> AlertmanagerFormatSource::Recognizes(
    const Json& root) const {
  absl::StatusOr<std::string> version = OptionalString(root, "", "version");
  if (!version.ok()) return version.status();
  return *version == version_;
}

absl::StatusOr<AlertNotification> AlertmanagerFormatSource::Parse(
    const Json& root) const {
  return ParseAlertmanagerFormat(root, name_);
}

}  // namespace opsagent
