#include "common/grpc_log.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpc/support/log.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

struct Site {
  absl::Time window_start = absl::InfinitePast();
  size_t logged = 0;
  size_t left_out = 0;
};

struct Limiter {
  absl::Mutex mutex;
  size_t per_site ABSL_GUARDED_BY(mutex) = 5;
  absl::Duration window ABSL_GUARDED_BY(mutex);
  absl::flat_hash_map<std::string, Site> sites ABSL_GUARDED_BY(mutex);
};

Limiter& TheLimiter() {
  static Limiter* limiter = new Limiter();
  return *limiter;
}

spdlog::level::level_enum LevelOf(gpr_log_severity severity) {
  switch (severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      return spdlog::level::debug;
    case GPR_LOG_SEVERITY_INFO:
      return spdlog::level::info;
    default:
      return spdlog::level::err;
  }
}

void Forward(gpr_log_func_args* args) {
  const std::string site =
      absl::StrCat(args->file == nullptr ? "?" : args->file, ":", args->line);
  size_t left_out = 0;
  absl::Duration window;
  {
    Limiter& limiter = TheLimiter();
    absl::MutexLock lock(&limiter.mutex);
    window = limiter.window;
    Site& counts = limiter.sites[site];
    const absl::Time now = absl::Now();
    if (now - counts.window_start >= limiter.window) {
      left_out = counts.left_out;
      counts = Site{now, 0, 0};
    }
    if (counts.logged >= limiter.per_site) {
      ++counts.left_out;
      return;
    }
    ++counts.logged;
  }
  if (left_out > 0) {
    spdlog::warn("gRPC: {} more line(s) from {} were not logged in {} s",
                 left_out, site, absl::ToInt64Seconds(window));
  }
  spdlog::log(LevelOf(args->severity), "gRPC {}: {}", site,
              args->message == nullptr ? "" : args->message);
}

}  // namespace

void ForwardGrpcLogs(size_t per_site, absl::Duration window) {
  Limiter& limiter = TheLimiter();
  {
    absl::MutexLock lock(&limiter.mutex);
    limiter.per_site = per_site;
    limiter.window = window;
  }
  // Reads GRPC_VERBOSITY now (gRPC would at grpc_init; until then it drops
  // everything).
  gpr_log_verbosity_init();
  gpr_set_log_function(Forward);
}

}  // namespace opsagent
