#include "common/logging.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "common/host_text.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// Escapes every message before the pattern lays it out: a log line is one
// line, whatever a caller's certificate, a file name or a command's output
// put in it (a newline would forge a line; an escape sequence would act on
// the terminal of whoever reads the log).
class EscapingFormatter final : public spdlog::formatter {
 public:
  explicit EscapingFormatter(std::string pattern)
      : pattern_(std::move(pattern)),
        inner_(std::make_unique<spdlog::pattern_formatter>(pattern_)) {}

  void format(const spdlog::details::log_msg& message,
              spdlog::memory_buf_t& destination) override {
    const std::string safe = TerminalSafe(
        absl::string_view(message.payload.data(), message.payload.size()));
    spdlog::details::log_msg escaped = message;
    escaped.payload = spdlog::string_view_t(safe.data(), safe.size());
    inner_->format(escaped, destination);
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<EscapingFormatter>(pattern_);
  }

 private:
  std::string pattern_;
  std::unique_ptr<spdlog::formatter> inner_;
};

}  // namespace

void InitLogging(absl::string_view program, bool verbose) {
  auto logger = std::make_shared<spdlog::logger>(
      std::string(program), std::make_shared<spdlog::sinks::stderr_sink_mt>());
  // systemd sets JOURNAL_STREAM when stderr is connected to the journal.
  const bool under_journald = std::getenv("JOURNAL_STREAM") != nullptr;
  logger->set_formatter(std::make_unique<EscapingFormatter>(
      under_journald ? "%l: %v" : "%Y-%m-%dT%H:%M:%S.%e %n %l: %v"));
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace opsagent
