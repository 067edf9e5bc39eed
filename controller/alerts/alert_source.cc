#include "controller/alerts/alert_source.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace opsagent {
namespace {

std::vector<std::unique_ptr<const AlertSource>>& Registered() {
  static auto* const sources =
      new std::vector<std::unique_ptr<const AlertSource>>();
  return *sources;
}

}  // namespace

const std::vector<std::unique_ptr<const AlertSource>>& AlertSources() {
  return Registered();
}

bool RegisterAlertSource(std::unique_ptr<const AlertSource> source) {
  std::vector<std::unique_ptr<const AlertSource>>& sources = Registered();
  const auto at = std::lower_bound(
      sources.begin(), sources.end(), source->name(),
      [](const std::unique_ptr<const AlertSource>& registered,
         absl::string_view name) { return registered->name() < name; });
  if (at != sources.end() && (*at)->name() == source->name()) {
    std::fprintf(stderr, "alert source %s is registered twice\n",
                 std::string(source->name()).c_str());
    std::abort();
  }
  sources.insert(at, std::move(source));
  return true;
}

absl::StatusOr<AlertNotification> ParseAlertNotification(
    absl::string_view body) {
  absl::StatusOr<Json> root = ParseWebhookJson(body);
  if (!root.ok()) return root.status();
  std::vector<std::string> known;
  for (const auto& source : AlertSources()) {
    absl::StatusOr<bool> recognized = source->Recognizes(*root);
    if (!recognized.ok()) return recognized.status();
    if (*recognized) return source->Parse(*root);
    known.emplace_back(source->description());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("body: a notification of none of the senders opsctld "
                   "takes: neither ",
                   absl::StrJoin(known, " nor ")));
}

}  // namespace opsagent
