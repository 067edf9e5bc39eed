// The largest processes by RSS, read from a procfs laid out in a test
// directory (statm, comm, the owner of /proc/PID), and from the real /proc.

#include "agent/system/process_table.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

class FakeProc {
 public:
  explicit FakeProc(const std::string& name)
      : root_(absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name)) {
    mkdir(root_.c_str(), 0755);
  }
  // A process directory with statm "SIZE RESIDENT ..." and comm.
  void Add(const std::string& pid, const std::string& statm,
           const std::string& comm) {
    const std::string dir = root_ + "/" + pid;
    mkdir(dir.c_str(), 0755);
    std::ofstream(dir + "/statm") << statm;
    if (!comm.empty()) std::ofstream(dir + "/comm") << comm;
  }
  void AddOther(const std::string& name) {
    mkdir((root_ + "/" + name).c_str(), 0755);
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

const uint64_t kPage = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));

TEST(ProcessTableTest, ListsTheLargestFirstWithNameAndOwner) {
  FakeProc proc("largest");
  proc.Add("1", "1000 10 5 1 0 50 0\n", "init\n");
  proc.Add("42", "9000 300 20 1 0 900 0\n", "salt-master\n");
  proc.Add("7", "5000 200 20 1 0 900 0\n", "python3\n");
  proc.Add("99", "100 1 1 1 0 5 0\n", "sleep\n");
  proc.AddOther("self");
  proc.AddOther("sys");
  auto top = LargestProcessesByRss(3, proc.root());
  ASSERT_TRUE(top.ok()) << top.status();
  ASSERT_EQ(top->size(), 3u);
  EXPECT_EQ((*top)[0].pid, 42);
  EXPECT_EQ((*top)[0].name, "salt-master");
  EXPECT_EQ((*top)[0].rss_bytes, 300 * kPage);
  EXPECT_EQ((*top)[0].uid, getuid());
  EXPECT_EQ((*top)[1].pid, 7);
  EXPECT_EQ((*top)[1].name, "python3");
  EXPECT_EQ((*top)[2].pid, 1);
  EXPECT_EQ((*top)[2].rss_bytes, 10 * kPage);
}

TEST(ProcessTableTest, EqualRssIsOrderedByPidAndTheLimitHolds) {
  FakeProc proc("ties");
  for (int pid = 300; pid > 100; --pid)
    proc.Add(absl::StrCat(pid), "10 5 1 1 0 5 0\n", "worker\n");
  auto top = LargestProcessesByRss(10, proc.root());
  ASSERT_TRUE(top.ok()) << top.status();
  ASSERT_EQ(top->size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ((*top)[i].pid, 101 + i);
  auto none = LargestProcessesByRss(0, proc.root());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ProcessTableTest,
     SkipsWhatCannotBeReadAndNamesTheUnnamedWithAQuestionMark) {
  FakeProc proc("unreadable");
  proc.Add("10", "100 50 1 1 0 5 0\n", "");  // no comm
  proc.Add("11", "garbage", "bad\n");        // no resident field
  proc.Add("12", "100\n", "short\n");        // one field
  proc.AddOther("13");                       // exited: no statm
  auto top = LargestProcessesByRss(10, proc.root());
  ASSERT_TRUE(top.ok()) << top.status();
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ((*top)[0].pid, 10);
  EXPECT_EQ((*top)[0].name, "?");
}

TEST(ProcessTableTest, AMissingProcIsAnErrorThatNamesIt) {
  auto top = LargestProcessesByRss(10, "/nonexistent-proc");
  ASSERT_FALSE(top.ok());
  EXPECT_THAT(top.status().message(), HasSubstr("/nonexistent-proc"));
}

TEST(ProcessTableTest, FindsThisProcessInTheRealProc) {
  // Everything, so this test's own process is among them.
  auto all = LargestProcessesByRss(1 << 20);
  ASSERT_TRUE(all.ok()) << all.status();
  bool found = false;
  for (size_t i = 0; i < all->size(); ++i) {
    if (i > 0) EXPECT_GE((*all)[i - 1].rss_bytes, (*all)[i].rss_bytes);
    if ((*all)[i].pid == getpid()) {
      found = true;
      EXPECT_GT((*all)[i].rss_bytes, 0u);
      EXPECT_EQ((*all)[i].uid, getuid());
      EXPECT_FALSE((*all)[i].name.empty());
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace opsagent
