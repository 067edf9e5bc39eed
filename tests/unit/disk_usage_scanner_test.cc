#include "agent/system/disk_usage_scanner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

namespace fs = std::filesystem;

class DiskUsageScannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/du-XXXXXX";
    root_ = mkdtemp(pattern);
    fs::create_directories(root_ + "/log/xqwatcher");
    fs::create_directories(root_ + "/log/supervisor");
    fs::create_directories(root_ + "/empty");
    Write("/log/xqwatcher/xqwatcher.log", 300000);
    Write("/log/xqwatcher/old.log", 70000);
    Write("/log/supervisor/supervisord.log", 9000);
    Write("/notes.txt", 10);
    fs::create_hard_link(root_ + "/log/xqwatcher/old.log",
                         root_ + "/log/old-again.log");
    fs::create_directory_symlink("/usr", root_ + "/log/usr-link");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& relative, size_t bytes) {
    std::ofstream out(root_ + relative, std::ios::binary);
    out << std::string(bytes, 'x');
  }

  // An independent tally of what du counts: lstat of every entry, hard links
  // once.
  uint64_t ExpectedDiskBytes(const std::string& dir) {
    std::set<std::pair<dev_t, ino_t>> seen;
    struct stat st;
    lstat(dir.c_str(), &st);
    uint64_t total = st.st_blocks * 512;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      lstat(entry.path().c_str(), &st);
      if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) &&
          !seen.insert({st.st_dev, st.st_ino}).second)
        continue;
      total += st.st_blocks * 512;
    }
    return total;
  }

  absl::StatusOr<DiskUsageSummary> Scan(const DiskUsageScanOptions& options) {
    int fd = open(root_.c_str(), O_RDONLY | O_DIRECTORY);
    absl::StatusOr<DiskUsageSummary> summary =
        ScanDiskUsage(fd, root_, options);
    close(fd);
    return summary;
  }

  std::string root_;
};

TEST_F(DiskUsageScannerTest, TotalsMatchAnIndependentTally) {
  absl::StatusOr<DiskUsageSummary> summary = Scan({});
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->disk_bytes, ExpectedDiskBytes(root_));
  EXPECT_FALSE(summary->incomplete);
  EXPECT_EQ(summary->directories,
            5u);                  // root, log, xqwatcher, supervisor, empty
  EXPECT_EQ(summary->files, 6u);  // four files, the hard link, the symlink
  ASSERT_EQ(summary->largest_directories.front().path, root_);
  EXPECT_EQ(summary->largest_directories.front().disk_bytes,
            summary->disk_bytes);
  EXPECT_EQ(summary->largest_directories[1].path, root_ + "/log");
  EXPECT_EQ(summary->largest_directories[1].disk_bytes,
            ExpectedDiskBytes(root_ + "/log"));
}

TEST_F(DiskUsageScannerTest, LargestFilesComeFirstAndSymlinksAreNotFollowed) {
  DiskUsageScanOptions options;
  options.top_files = 2;
  absl::StatusOr<DiskUsageSummary> summary = Scan(options);
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(summary->largest_files.size(), 2u);
  EXPECT_EQ(summary->largest_files[0].path,
            root_ + "/log/xqwatcher/xqwatcher.log");
  EXPECT_EQ(summary->largest_files[0].apparent_bytes, 300000u);
  EXPECT_EQ(summary->largest_files[1].apparent_bytes, 70000u);
  for (const PathSize& dir : summary->largest_directories) {
    EXPECT_EQ(dir.path.find("usr-link"), std::string::npos) << dir.path;
  }
  // Nothing under /usr was counted.
  EXPECT_LT(summary->disk_bytes, 1u << 20);
}

TEST_F(DiskUsageScannerTest, HardLinkedFilesAreCountedOnce) {
  absl::StatusOr<DiskUsageSummary> summary = Scan({});
  ASSERT_TRUE(summary.ok());
  uint64_t apparent_files = 300000 + 70000 + 9000 + 10;
  EXPECT_GE(summary->apparent_bytes, apparent_files);
  EXPECT_LT(summary->apparent_bytes, apparent_files + 70000);  // not twice
}

TEST_F(DiskUsageScannerTest, EntryBudgetDeadlineAndCancellationStopEarly) {
  for (int i = 0; i < 3000; ++i) Write(absl::StrCat("/empty/f", i), 1);
  DiskUsageScanOptions budget;
  budget.max_entries = 100;
  absl::StatusOr<DiskUsageSummary> a = Scan(budget);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->incomplete);
  EXPECT_EQ(a->incomplete_reason, "entry budget of 100 reached");
  EXPECT_LE(a->files + a->directories, 101u);

  DiskUsageScanOptions late;
  late.deadline = absl::Now() - absl::Seconds(1);
  absl::StatusOr<DiskUsageSummary> b = Scan(late);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->incomplete_reason, "deadline reached");

  DiskUsageScanOptions cancelled;
  cancelled.cancelled = [] { return true; };
  absl::StatusOr<DiskUsageSummary> c = Scan(cancelled);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->incomplete_reason, "cancelled by the caller");
  EXPECT_LT(c->files, 3000u);
}

TEST_F(DiskUsageScannerTest, ReportsProgressOnLongScans) {
  for (int i = 0; i < 5000; ++i) Write(absl::StrCat("/empty/f", i), 1);
  DiskUsageScanOptions options;
  options.progress_interval = absl::ZeroDuration();
  std::vector<uint64_t> seen;
  options.on_progress = [&seen](const DiskUsageProgressUpdate& update) {
    seen.push_back(update.entries_scanned);
  };
  ASSERT_TRUE(Scan(options).ok());
  ASSERT_GE(seen.size(), 4u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST_F(DiskUsageScannerTest, RefusesAFileDescriptorThatIsNotADirectory) {
  int fd = open((root_ + "/notes.txt").c_str(), O_RDONLY);
  absl::StatusOr<DiskUsageSummary> summary =
      ScanDiskUsage(fd, root_ + "/notes.txt", {});
  close(fd);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().message(),
            root_ + "/notes.txt is not a directory");
}

}  // namespace
}  // namespace opsagent
