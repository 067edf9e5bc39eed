// A test binary with one case of every outcome gtest can report, for the
// test of tests/count_results.sh: a pass, a skip with a reason, a failure,
// a disabled case, and a suite whose set-up fails (gtest 1.12 reports its
// cases as skipped, with no failure of their own). It always exits non-zero.

#include "gtest/gtest.h"

TEST(Passing, Passes) {}

TEST(Skipping, SkipsWithAReason) {
  GTEST_SKIP() << "needs root for namespaces";
}

TEST(Failing, Fails) { EXPECT_EQ(1, 2) << "a real failure"; }

TEST(Disabled, DISABLED_NeverRuns) { FAIL() << "a disabled case ran"; }

class BrokenSetUp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { FAIL() << "the fixture could not start"; }
};

TEST_F(BrokenSetUp, First) {}
TEST_F(BrokenSetUp, Second) {}
