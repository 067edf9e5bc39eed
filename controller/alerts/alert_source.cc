#include "controller/alerts/alert_source.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

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

}  // namespace opsagent
