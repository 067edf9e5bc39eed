#include "agent/system/meminfo.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "agent/system/proc_file.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

// /proc/meminfo and `free -b` captured together on a Debian 12 VM
// (procps-ng 4.0.2). free's numbers are what on-call reads today.
TEST(MeminfoTest, MatchesFreeOnARealCapture) {
  absl::StatusOr<MemoryUsage> usage =
      ReadMeminfo("tests/testdata/meminfo.debian12-vm");
  ASSERT_TRUE(usage.ok()) << usage.status();
  absl::StatusOr<std::string> free_text =
      ReadProcFile("tests/testdata/free-b.debian12-vm.txt");
  ASSERT_TRUE(free_text.ok());
  std::vector<std::string> lines = absl::StrSplit(*free_text, '\n');
  std::vector<std::string> mem =
      absl::StrSplit(lines[1], ' ', absl::SkipEmpty());
  ASSERT_EQ(mem[0], "Mem:");
  uint64_t total, used, free_bytes, shared, buff_cache, available;
  ASSERT_TRUE(absl::SimpleAtoi(mem[1], &total) &&
              absl::SimpleAtoi(mem[2], &used) &&
              absl::SimpleAtoi(mem[3], &free_bytes) &&
              absl::SimpleAtoi(mem[4], &shared) &&
              absl::SimpleAtoi(mem[5], &buff_cache) &&
              absl::SimpleAtoi(mem[6], &available));
  // The two were read a few milliseconds apart: the totals are identical, the
  // moving figures agree within 4 MiB.
  EXPECT_EQ(usage->total, total);
  const double slack = 4 << 20;
  EXPECT_NEAR(usage->used, used, slack);
  EXPECT_NEAR(usage->free, free_bytes, slack);
  EXPECT_NEAR(usage->shared, shared, slack);
  EXPECT_NEAR(usage->buff_cache, buff_cache, slack);
  EXPECT_NEAR(usage->available, available, slack);
  EXPECT_EQ(usage->swap_total, 0u);
}

// The salt master of the runbook: 7.5G total, 66M available.
TEST(MeminfoTest, ComputesFreeColumnsFromKibibytes) {
  absl::StatusOr<MemoryUsage> usage = ParseMeminfo(
      "MemTotal:        7864320 kB\n"
      "MemFree:          122880 kB\n"
      "MemAvailable:      67584 kB\n"
      "Buffers:           10240 kB\n"
      "Cached:           200000 kB\n"
      "SwapCached:            0 kB\n"
      "Shmem:             80896 kB\n"
      "SReclaimable:      32448 kB\n"
      "SwapTotal:       1048576 kB\n"
      "SwapFree:         524288 kB\n"
      "HugePages_Total:       0\n");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->total, 7864320ull * 1024);
  EXPECT_EQ(usage->available, 67584ull * 1024);
  EXPECT_EQ(usage->used, (7864320ull - 67584) * 1024);
  EXPECT_EQ(usage->buff_cache, (10240ull + 200000 + 32448) * 1024);
  EXPECT_EQ(usage->shared, 80896ull * 1024);
  EXPECT_EQ(usage->swap_used, 524288ull * 1024);
}

TEST(MeminfoTest, OldKernelsWithoutMemAvailableUseFreePlusCache) {
  absl::StatusOr<MemoryUsage> usage = ParseMeminfo(
      "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 150 "
      "kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->used, 700u * 1024);
  EXPECT_EQ(usage->available, 100u * 1024);
}

TEST(MeminfoTest, MalformedInputIsAnErrorNamingTheLine) {
  EXPECT_EQ(ParseMeminfo("MemTotal: lots kB\n").status().message(),
            "meminfo: cannot parse line \"MemTotal: lots kB\"");
  EXPECT_EQ(ParseMeminfo("MemFree: 1 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n")
                .status()
                .message(),
            "meminfo: no MemTotal line");
  EXPECT_FALSE(ReadMeminfo("tests/testdata/does-not-exist").ok());
}

}  // namespace
}  // namespace opsagent
