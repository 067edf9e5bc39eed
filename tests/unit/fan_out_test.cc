#include "controller/fan_out.h"

#include <atomic>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "opsagent/v1/controller_config.pb.h"

namespace opsagent {
namespace {

std::vector<v1::Host> Hosts(int n) {
  std::vector<v1::Host> hosts(n);
  for (int i = 0; i < n; ++i) hosts[i].set_name(absl::StrCat("h", i));
  return hosts;
}

TEST(FanOutTest, RunsEveryHostWithinTheConcurrencyLimit) {
  std::atomic<int> running{0}, peak{0};
  std::set<std::string> done;
  const std::vector<v1::Host> hosts = Hosts(40);
  FanOutSummary summary = RunFanOut(
      hosts.size(), {5, 0},
      [&](size_t i) {
        const v1::Host& host = hosts[i];
        int now = ++running;
        int old = peak.load();
        while (now > old && !peak.compare_exchange_weak(old, now)) {
        }
        absl::SleepFor(absl::Milliseconds(5));
        --running;
        return host.name() == "h7" ? v1::OUTCOME_UNREACHABLE : v1::OUTCOME_OK;
      },
      [&](size_t i, v1::Outcome, const FanOutSummary&) {
        const v1::Host& host = hosts[i];
        done.insert(host.name());
      });
  EXPECT_EQ(done.size(), 40u);
  EXPECT_LE(peak.load(), 5);
  EXPECT_GE(peak.load(), 2);  // it did run in parallel
  EXPECT_EQ(summary.ok, 39);
  EXPECT_EQ(summary.unreachable, 1);
  EXPECT_EQ(summary.not_started, 0);
}

TEST(FanOutTest, StopsStartingHostsWhenTheErrorBudgetIsSpent) {
  std::atomic<int> started{0};
  FanOutSummary summary = RunFanOut(
      100, {1, 3},
      [&](size_t) {
        ++started;
        return v1::OUTCOME_ERROR;
      },
      [](size_t, v1::Outcome, const FanOutSummary&) {});
  EXPECT_EQ(started.load(), 3);
  EXPECT_EQ(summary.error, 3);
  EXPECT_EQ(summary.not_started, 97);
}

// The direct path and the controller's count hosts with this one tally: a
// host whose intent the audit log could not record was not sent, is
// counted as such (not as unknown), and is a failure for the error budget.
TEST(FanOutTest, EachOutcomeIsCountedOnceAndNotSentIsAFailure) {
  FanOutSummary summary;
  for (v1::Outcome outcome :
       {v1::OUTCOME_OK, v1::OUTCOME_ERROR, v1::OUTCOME_DENIED,
        v1::OUTCOME_UNREACHABLE, v1::OUTCOME_UNKNOWN, v1::OUTCOME_PENDING,
        v1::OUTCOME_PENDING})
    summary.Add(outcome);
  EXPECT_EQ(summary.ok, 1);
  EXPECT_EQ(summary.error, 1);
  EXPECT_EQ(summary.denied, 1);
  EXPECT_EQ(summary.unreachable, 1);
  EXPECT_EQ(summary.unknown, 1);
  EXPECT_EQ(summary.pending, 2);
  EXPECT_EQ(summary.failed(), 6);
  FanOutSummary ran = RunFanOut(
      10, {2, 2}, [](size_t) { return v1::OUTCOME_PENDING; },
      [](size_t, v1::Outcome, const FanOutSummary&) {});
  EXPECT_EQ(ran.pending, 2);
  EXPECT_EQ(ran.unknown, 0);
  EXPECT_EQ(ran.not_started, 8);
}

}  // namespace
}  // namespace opsagent
