#ifndef OPSAGENT_CONTROLLER_ALERTS_ALERTMANAGER_SILENCES_H_
#define OPSAGENT_CONTROLLER_ALERTS_ALERTMANAGER_SILENCES_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/http/https_client.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// Creates and expires silences through Alertmanager's API v2 (POST
// /api/v2/silences, DELETE /api/v2/silence/ID), as configured in opsctld's
// `alertmanager` section. Every matcher is an exact equality (never a
// regular expression), so a silence matches what it names and no more.
// Thread-safe.
class AlertmanagerSilences {
 public:
  // An exact label match: name="value".
  using Matcher = std::pair<std::string, std::string>;

  // Reads the bearer token file, if any (a secret file).
  static absl::StatusOr<std::unique_ptr<AlertmanagerSilences>> Create(
      const v1::AlertmanagerConfig& config);

  // Creates a silence of the alerts with all of `matchers` from now until
  // `ends`; its id. UNAVAILABLE when Alertmanager does not answer, INTERNAL
  // with its words when it refuses.
  absl::StatusOr<std::string> Silence(const std::vector<Matcher>& matchers,
                                      absl::Time ends,
                                      const std::string& created_by,
                                      const std::string& comment) const;
  // Expires silence `id` now.
  absl::Status Expire(const std::string& id) const;
  // Its state as Alertmanager says ("active", "expired", "pending").
  absl::StatusOr<std::string> State(const std::string& id) const;

  // "alertname=\"X\", instance=\"Y\"".
  static std::string Describe(const std::vector<Matcher>& matchers);

 private:
  AlertmanagerSilences(std::string base_url, std::string token,
                       HttpsClientOptions options)
      : base_url_(std::move(base_url)),
        token_(std::move(token)),
        options_(std::move(options)) {}
  absl::StatusOr<OutgoingReply> Send(const std::string& method,
                                     const std::string& path,
                                     const std::string& body) const;

  const std::string base_url_;  // without a trailing slash
  const std::string token_;
  const HttpsClientOptions options_;
};

// Whether `id` has the form of an Alertmanager silence id (a UUID: at most
// 64 of [0-9a-f-]), so that it can go into a URL and the log.
bool IsSilenceId(absl::string_view id);

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_ALERTMANAGER_SILENCES_H_
