// The append-only file primitive on a real file: a short append (the file
// size limit stands in for a full filesystem: past it, write() comes back
// short and then fails with EFBIG, as it does with ENOSPC on a full disk)
// is cut back whole and names the real cause; a torn last line is cut off
// at open; a tail too long to be a torn line is refused.

#include "common/append_only_file.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Path(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<AppendOnlyFile> OpenFile(const std::string& path) {
  const int fd =
      open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  EXPECT_GE(fd, 0) << path;
  return std::make_unique<AppendOnlyFile>(fd, absl::StrCat("test file ", path));
}

// Appends `line` with the file allowed to grow to `limit` bytes only.
absl::Status AppendWithSizeLimit(AppendOnlyFile& file, const std::string& line,
                                 rlim_t limit) {
  signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
  struct rlimit saved;
  getrlimit(RLIMIT_FSIZE, &saved);
  struct rlimit small = saved;
  small.rlim_cur = limit;
  EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  errno = ETIMEDOUT;  // a stale errno must not be what the error names
  absl::Status status = file.Append(line, AppendOnlyFile::Durability::kSynced);
  EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
  return status;
}

TEST(AppendOnlyFileTest, AShortAppendIsCutBackAndNamesTheRealCause) {
  const std::string path = Path("short.jsonl");
  std::unique_ptr<AppendOnlyFile> file = OpenFile(path);
  ASSERT_TRUE(file->Append("first", AppendOnlyFile::Durability::kSynced).ok());
  // Room for 10 more bytes: the first write of the 101 comes back short.
  absl::Status status =
      AppendWithSizeLimit(*file, std::string(100, 'x'), 6 + 10);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(status.message(), HasSubstr("File too large (EFBIG)"));
  EXPECT_THAT(status.message(), HasSubstr("10 of 101 bytes"));
  EXPECT_THAT(status.message(), HasSubstr("cut back to its 6 bytes"));
  EXPECT_THAT(status.message(), Not(HasSubstr("timed out")));
  EXPECT_EQ(Read(path), "first\n");
  // Room again: the next record starts on a line of its own.
  ASSERT_TRUE(file->Append("second", AppendOnlyFile::Durability::kSynced).ok());
  EXPECT_EQ(Read(path), "first\nsecond\n");
}

TEST(AppendOnlyFileTest, AnAppendWithNoRoomAtAllLeavesTheFileUnchanged) {
  const std::string path = Path("full.jsonl");
  std::unique_ptr<AppendOnlyFile> file = OpenFile(path);
  ASSERT_TRUE(file->Append("first", AppendOnlyFile::Durability::kWritten).ok());
  absl::Status status = AppendWithSizeLimit(*file, "second", 6);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("File too large (EFBIG)"));
  EXPECT_THAT(status.message(), HasSubstr("0 of 7 bytes"));
  EXPECT_THAT(status.message(), HasSubstr("the file unchanged"));
  EXPECT_EQ(Read(path), "first\n");
}

TEST(AppendOnlyFileTest, ARecordHoldingANewlineIsRefused) {
  const std::string path = Path("newline.jsonl");
  std::unique_ptr<AppendOnlyFile> file = OpenFile(path);
  absl::Status status =
      file->Append("one\ntwo", AppendOnlyFile::Durability::kWritten);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Read(path), "");
}

TEST(AppendOnlyFileTest, ATornLastLineIsCutOffAndTheNextRecordStartsClean) {
  const std::string path = Path("torn.jsonl");
  {
    std::ofstream out(path);
    out << "{\"n\":1}\n{\"n\":2}\n{\"n\":";
  }
  std::unique_ptr<AppendOnlyFile> file = OpenFile(path);
  absl::StatusOr<uint64_t> cut = file->CutTornTail(1024);
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ(*cut, 5u);
  EXPECT_EQ(Read(path), "{\"n\":1}\n{\"n\":2}\n");
  // A file that ends in a newline is left alone.
  cut = file->CutTornTail(1024);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(*cut, 0u);
  ASSERT_TRUE(
      file->Append("{\"n\":3}", AppendOnlyFile::Durability::kSynced).ok());
  EXPECT_EQ(Read(path), "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
}

TEST(AppendOnlyFileTest, AFileWithNoNewlineAtAllIsOneTornLine) {
  const std::string path = Path("first-torn.jsonl");
  {
    std::ofstream out(path);
    out << "{\"n\":";
  }
  std::unique_ptr<AppendOnlyFile> file = OpenFile(path);
  absl::StatusOr<uint64_t> cut = file->CutTornTail(1024);
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ(*cut, 5u);
  EXPECT_EQ(Read(path), "");
}

TEST(AppendOnlyFileTest, ATailLongerThanAnyLineIsRefusedAndKept) {
  const std::string path = Path("foreign.jsonl");
  const std::string content =
      absl::StrCat("{\"n\":1}\n", std::string(10000, 'z'));
  {
    std::ofstream out(path);
    out << content;
  }
  std::unique_ptr<AppendOnlyFile> file = OpenFile(path);
  absl::StatusOr<uint64_t> cut = file->CutTornTail(4096);
  ASSERT_FALSE(cut.ok());
  EXPECT_THAT(cut.status().message(), HasSubstr(path));
  EXPECT_THAT(cut.status().message(), HasSubstr("not a line cut off"));
  EXPECT_EQ(Read(path), content);
}

TEST(AppendOnlyFileTest, SplitsWholeLinesFromATornTail) {
  CompleteLines split = SplitCompleteLines("a\nb\nc");
  EXPECT_EQ(split.lines, "a\nb\n");
  EXPECT_EQ(split.torn_tail, "c");
  split = SplitCompleteLines("a\n");
  EXPECT_EQ(split.lines, "a\n");
  EXPECT_EQ(split.torn_tail, "");
  split = SplitCompleteLines("torn");
  EXPECT_EQ(split.lines, "");
  EXPECT_EQ(split.torn_tail, "torn");
}

}  // namespace
}  // namespace opsagent
