// The Prometheus text exposition format, as Prometheus parses it.

#include "common/metrics/metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CountersHistogramsAndGaugesRenderInTheTextFormat) {
  MetricRegistry registry;
  Counter& calls = registry.AddCounter("opsagent_agent_requests_total",
                                       "Calls.", {"operation", "outcome"});
  Counter& errors = registry.AddCounter("opsagent_errors_total", "Errors.");
  Histogram& durations = registry.AddHistogram(
      "opsagent_duration_seconds", "Durations.", {"operation"}, {0.1, 1});
  registry.AddGauge("opsagent_connected_agents", "Agents.", [] { return 3; });
  calls.Increment({"memory", "ok"});
  calls.Increment({"memory", "ok"});
  calls.Increment({"a\"b\\c\nd", "ok"});
  durations.Observe({"memory"}, absl::Milliseconds(50));
  durations.Observe({"memory"}, absl::Milliseconds(500));
  durations.Observe({"memory"}, absl::Seconds(5));
  const std::string text = registry.Render();
  EXPECT_THAT(text,
              HasSubstr("# HELP opsagent_agent_requests_total Calls.\n"
                        "# TYPE opsagent_agent_requests_total counter\n"));
  EXPECT_THAT(text,
              HasSubstr("opsagent_agent_requests_total{operation=\"memory\","
                        "outcome=\"ok\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("{operation=\"a\\\"b\\\\c\\nd\",outcome=\"ok\"} 1\n"));
  // A family without labels is 0 before it first counts.
  EXPECT_THAT(text, HasSubstr("opsagent_errors_total 0\n"));
  errors.Increment();
  EXPECT_THAT(registry.Render(), HasSubstr("opsagent_errors_total 1\n"));
  // Buckets are cumulative; +Inf is the count.
  EXPECT_THAT(text,
              HasSubstr("opsagent_duration_seconds_bucket{operation=\"memory\","
                        "le=\"0.1\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("opsagent_duration_seconds_bucket{operation=\"memory\","
                        "le=\"1\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("opsagent_duration_seconds_bucket{operation=\"memory\","
                        "le=\"+Inf\"} 3\n"));
  EXPECT_THAT(
      text,
      HasSubstr("opsagent_duration_seconds_count{operation=\"memory\"} 3\n"));
  EXPECT_THAT(
      text,
      HasSubstr("opsagent_duration_seconds_sum{operation=\"memory\"} 5.55"));
  EXPECT_THAT(text, HasSubstr("# TYPE opsagent_connected_agents gauge\n"
                              "opsagent_connected_agents 3\n"));
}

}  // namespace
}  // namespace opsagent
