#include "common/grpc_log.h"

#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/support/log.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

int CountLines(const std::string& text, const std::string& needle) {
  int count = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n'))
    if (absl::StrContains(line, needle)) ++count;
  return count;
}

// What a flood of abandoned connections makes gRPC write: one error per
// connection, from the same place in its source.
void LogHandshakeTimeouts(int count) {
  for (int i = 0; i < count; ++i)
    gpr_log(GPR_ERROR, "Handshake timed out %d", i);
}

TEST(GrpcLogTest, EachSiteIsBoundedPerWindowAndSaysWhatItLeftOut) {
  std::ostringstream out;
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out)));
  ForwardGrpcLogs(/*per_site=*/3, absl::Milliseconds(200));

  LogHandshakeTimeouts(50);
  gpr_log(GPR_ERROR, "another place");
  EXPECT_EQ(CountLines(out.str(), "Handshake timed out"), 3) << out.str();
  EXPECT_EQ(CountLines(out.str(), "another place"), 1);
  EXPECT_THAT(out.str(), HasSubstr("grpc_log_test.cc:"));

  absl::SleepFor(absl::Milliseconds(250));
  LogHandshakeTimeouts(50);
  EXPECT_EQ(CountLines(out.str(), "Handshake timed out"), 6) << out.str();
  EXPECT_EQ(CountLines(out.str(), "47 more line(s)"), 1) << out.str();
}

}  // namespace
}  // namespace opsagent
