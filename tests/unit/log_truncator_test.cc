#include "agent/system/log_truncator.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/system/log_allow_list.h"
#include "common/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class LogTruncatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/truncate-XXXXXX";
    base_ = mkdtemp(pattern);
    dir_ = base_ + "/log/xqwatcher";
    fs::create_directories(dir_);
    Write(dir_ + "/xqwatcher.log", 1 << 20);
    Write(base_ + "/victim", 4096);  // outside the allowed directory
  }
  void TearDown() override { fs::remove_all(base_); }

  static void Write(const std::string& path, size_t bytes) {
    std::ofstream(path) << std::string(bytes, 'x');
  }
  static uint64_t Size(const std::string& path) { return fs::file_size(path); }

  absl::StatusOr<ConfinedPath> Match(const std::string& path) {
    absl::StatusOr<LogAllowList> logs = LogAllowList::Parse({dir_ + "/*.log"});
    if (!logs.ok()) return logs.status();
    return logs->Match(path);
  }

  // Everything that must be refused, with nothing changed.
  void ExpectRefused(const std::string& path, const std::string& error) {
    absl::StatusOr<ConfinedPath> matched = Match(path);
    if (matched.ok()) {
      absl::StatusOr<CheckedLog> log = OpenLogForTruncation(*matched);
      ASSERT_FALSE(log.ok()) << path;
      EXPECT_THAT(log.status().message(), HasSubstr(error)) << path;
    } else {
      EXPECT_THAT(matched.status().message(), HasSubstr(error)) << path;
    }
    EXPECT_EQ(Size(base_ + "/victim"), 4096u);
    EXPECT_EQ(Size(dir_ + "/xqwatcher.log"), 1u << 20);
  }

  std::string base_;
  std::string dir_;
};

TEST_F(LogTruncatorTest, OnlyAllowListedNamesInTheirDirectoryMatch) {
  EXPECT_TRUE(Match(dir_ + "/xqwatcher.log").ok());
  ExpectRefused(dir_ + "/xqwatcher.txt", "not an allow-listed log");
  ExpectRefused(dir_ + "/.hidden.log",
                "not an allow-listed log");  // * does not match a leading dot
  ExpectRefused(dir_ + "/sub/deeper.log", "not an allow-listed log");
  ExpectRefused(base_ + "/victim", "not an allow-listed log");
  ExpectRefused(dir_ + "/../../victim", "contains \"..\"");
  ExpectRefused("xqwatcher.log", "not absolute");
}

TEST_F(LogTruncatorTest, RefusesSymlinksFifosDirectoriesAndHardLinks) {
  fs::create_symlink(base_ + "/victim", dir_ + "/link.log");
  ExpectRefused(dir_ + "/link.log", "symbolic link");
  mkfifo((dir_ + "/fifo.log").c_str(), 0644);
  ExpectRefused(dir_ + "/fifo.log", "is a FIFO");
  fs::create_directory(dir_ + "/dir.log");
  ExpectRefused(dir_ + "/dir.log", "is a directory");
  fs::create_hard_link(base_ + "/victim", dir_ + "/hard.log");
  ExpectRefused(dir_ + "/hard.log", "has 2 hard links");
}

TEST_F(LogTruncatorTest, RefusesDeviceFilesWithoutOpeningThem) {
  // The target runs outside the sandbox, as root in CI, so mknod works; a
  // skip here is counted (and is a failure in CI), never silent.
  if (mknod((dir_ + "/null.log").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0)
    GTEST_SKIP() << "mknod not permitted: needs root outside a sandbox";
  ExpectRefused(dir_ + "/null.log", "is a device file");
}

TEST_F(LogTruncatorTest,
       TruncatesTheCheckedFileEvenIfThePathIsSwappedForASymlink) {
  absl::StatusOr<CheckedLog> log =
      OpenLogForTruncation(*Match(dir_ + "/xqwatcher.log"));
  ASSERT_TRUE(log.ok()) << log.status();
  // An attacker swaps the checked path for a symlink to another file.
  fs::rename(dir_ + "/xqwatcher.log", dir_ + "/moved.log");
  fs::create_symlink(base_ + "/victim", dir_ + "/xqwatcher.log");
  absl::StatusOr<TruncationResult> result = TruncateCheckedLog(*log, 0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Size(base_ + "/victim"), 4096u);  // untouched
  EXPECT_EQ(Size(dir_ + "/moved.log"), 0u);   // the inode that was checked
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

TEST_F(LogTruncatorTest, KeepsTheTailExactlyOrToWholeBlocks) {
  std::string content;
  for (int i = 0; i < 20000; ++i) absl::StrAppend(&content, i % 10);
  content += "THE-END";
  std::ofstream(dir_ + "/tail.log") << content;
  absl::StatusOr<CheckedLog> log =
      OpenLogForTruncation(*Match(dir_ + "/tail.log"));
  ASSERT_TRUE(log.ok());
  absl::StatusOr<TruncationResult> result = TruncateCheckedLog(*log, 10);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->size_before, content.size());
  const std::string text = ReadAll(dir_ + "/tail.log");
  EXPECT_EQ(text.size(), result->size_after);
  // Whatever the method, what is left is the end of the file, unchanged.
  EXPECT_EQ(text, content.substr(content.size() - text.size()));
  if (result->tail_method == "collapse") {
    // The head was cut out in whole blocks: at most one block more is kept.
    EXPECT_GE(text.size(), 10u);
    EXPECT_LT(text.size(), 10u + 4096u);
  } else {
    EXPECT_EQ(result->tail_method, "copy");
    EXPECT_EQ(text, "0-THE-END");
  }
  EXPECT_FALSE(TruncateCheckedLog(*log, kMaxKeepTailBytes + 1).ok());
}

TEST_F(LogTruncatorTest, KeepingTheTailOfASparseFileReportsWhatItReallyHolds) {
  // A file whose head is a hole: nothing is allocated where the tail would
  // be copied to, which used to allocate blocks and report "gave back 0B".
  const std::string path = dir_ + "/sparse.log";
  {
    std::ofstream out(path);
    out.seekp(8 << 20);
    out << std::string(64 << 10, 'z');
  }
  absl::StatusOr<CheckedLog> log = OpenLogForTruncation(*Match(path));
  ASSERT_TRUE(log.ok());
  absl::StatusOr<TruncationResult> result = TruncateCheckedLog(*log, 4096);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->size_before, (8u << 20) + (64u << 10));
  EXPECT_LE(result->allocated_before, 128u << 10);  // only the data is on disk
  const std::string text = ReadAll(path);
  EXPECT_EQ(text, std::string(text.size(), 'z'));
  EXPECT_GE(text.size(), 4096u);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_blocks) * 512, result->allocated_after);
  EXPECT_EQ(result->file_freed_bytes,
            result->allocated_before - result->allocated_after);
}

TEST_F(LogTruncatorTest,
       ADirectoryReplacedAfterLoadingIsRefusedAndNothingChanges) {
  absl::StatusOr<LogAllowList> logs = LogAllowList::Parse({dir_ + "/*.log"});
  ASSERT_TRUE(logs.ok()) << logs.status();
  // Another tree with a log of the same name, which the attack aims at.
  const std::string elsewhere = base_ + "/elsewhere";
  fs::create_directories(elsewhere);
  Write(elsewhere + "/xqwatcher.log", 4096);
  struct Swap {
    std::string how;
    std::function<void()> make;
  };
  for (const Swap& swap : std::vector<Swap>{
           {"replaced by a symlink",
            [&] {
              fs::rename(dir_, dir_ + ".real");
              fs::create_directory_symlink(elsewhere, dir_);
            }},
           {"replaced by another directory",
            [&] {
              fs::rename(dir_, dir_ + ".real");
              fs::create_directory(dir_);
              fs::copy_file(elsewhere + "/xqwatcher.log",
                            dir_ + "/xqwatcher.log");
            }},
           {"a parent replaced by a symlink",
            [&] {
              fs::rename(base_ + "/log", base_ + "/log.real");
              fs::create_directories(base_ + "/fake/xqwatcher");
              fs::copy_file(elsewhere + "/xqwatcher.log",
                            base_ + "/fake/xqwatcher/xqwatcher.log");
              fs::create_directory_symlink(base_ + "/fake", base_ + "/log");
            }},
       }) {
    swap.make();
    absl::StatusOr<ConfinedPath> matched = logs->Match(dir_ + "/xqwatcher.log");
    ASSERT_TRUE(matched.ok()) << swap.how;  // the text is still allowed
    absl::StatusOr<CheckedLog> log = OpenLogForTruncation(*matched);
    ASSERT_FALSE(log.ok()) << swap.how;
    EXPECT_EQ(log.status().code(), absl::StatusCode::kPermissionDenied)
        << swap.how;
    EXPECT_THAT(log.status().message(), HasSubstr("allowed directory"))
        << swap.how;
    EXPECT_EQ(Size(elsewhere + "/xqwatcher.log"), 4096u) << swap.how;
    // Put the real tree back for the next swap.
    if (fs::is_symlink(base_ + "/log")) {
      fs::remove(base_ + "/log");
      fs::remove_all(base_ + "/fake");
      fs::rename(base_ + "/log.real", base_ + "/log");
    } else {
      fs::remove_all(dir_);
      fs::rename(dir_ + ".real", dir_);
    }
    EXPECT_EQ(Size(dir_ + "/xqwatcher.log"), 1u << 20) << swap.how;
  }
  // The original directory, back in place, is served again.
  absl::StatusOr<CheckedLog> log =
      OpenLogForTruncation(*logs->Match(dir_ + "/xqwatcher.log"));
  EXPECT_TRUE(log.ok()) << log.status();
}

TEST_F(LogTruncatorTest, FreesSpaceAtOnceWhileARealWriterKeepsWriting) {
  const std::string path = dir_ + "/xqwatcher.log";
  absl::StatusOr<Subprocess> writer =
      Subprocess::Start({{"tests/testing/log_writer", path}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  // Wait for the writer (a loaded machine may take a while), not a window.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (Size(path) <= 1u << 20 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const uint64_t before = Size(path);
  ASSERT_GT(before, 1u << 20);
  absl::StatusOr<CheckedLog> log = OpenLogForTruncation(*Match(path));
  ASSERT_TRUE(log.ok());
  absl::StatusOr<TruncationResult> result = TruncateCheckedLog(*log, 0);
  ASSERT_TRUE(result.ok());
  EXPECT_GE(result->file_freed_bytes, 1u << 20);
  while (Size(path) == 0 && absl::Now() < deadline + absl::Seconds(30)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  // Still running (not a zombie, to which kill(pid, 0) also answers).
  EXPECT_FALSE(writer->Exited());
  const uint64_t after = Size(path);
  EXPECT_GT(after, 0u);         // it kept writing, at the new end (O_APPEND)
  EXPECT_LT(after, 64u << 10);  // no hole where the old data was
  struct stat st;
  stat(path.c_str(), &st);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 64u << 10);
}

}  // namespace
}  // namespace opsagent
