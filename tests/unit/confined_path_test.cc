#include "agent/system/confined_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

using ::testing::HasSubstr;

class ConfinedPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/confined-XXXXXX";
    base_ = mkdtemp(pattern);
    root_ = base_ + "/log";
    mkdir(root_.c_str(), 0755);
    mkdir((root_ + "/xqwatcher").c_str(), 0755);
    close(open((root_ + "/xqwatcher/xqwatcher.log").c_str(), O_CREAT | O_WRONLY,
               0644));
    close(open((base_ + "/secret").c_str(), O_CREAT | O_WRONLY, 0600));
    symlink("/etc", (root_ + "/to-etc").c_str());
    symlink("xqwatcher", (root_ + "/inside-link").c_str());
    symlink("../secret", (root_ + "/dotdot-link").c_str());
  }
  void TearDown() override {
    unlink((root_ + "/to-etc").c_str());
    unlink((root_ + "/inside-link").c_str());
    unlink((root_ + "/dotdot-link").c_str());
    unlink((root_ + "/xqwatcher/xqwatcher.log").c_str());
    rmdir((root_ + "/xqwatcher").c_str());
    rmdir(root_.c_str());
    unlink((base_ + "/secret").c_str());
    rmdir(base_.c_str());
  }

  absl::StatusOr<ConfinedPath> Confine(const std::string& path) {
    absl::StatusOr<AllowedDirectory> root = AllowedDirectory::Pin(root_);
    if (!root.ok()) return root.status();
    return ConfinePath(path, {*root});
  }

  std::string base_;
  std::string root_;
};

TEST_F(ConfinedPathTest, AcceptsPathsAtOrBelowARoot) {
  absl::StatusOr<ConfinedPath> root = Confine(root_);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->relative, "");
  absl::StatusOr<ConfinedPath> file =
      Confine(root_ + "//xqwatcher/xqwatcher.log");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->full, root_ + "/xqwatcher/xqwatcher.log");
  EXPECT_EQ(file->relative, "xqwatcher/xqwatcher.log");
  EXPECT_TRUE(OpenConfined(*file, O_RDONLY).ok());
}

TEST_F(ConfinedPathTest, RejectsBadTextBeforeTouchingTheFilesystem) {
  struct Case {
    std::string path;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"", "path is empty"},
           {"xqwatcher.log", "is not absolute"},
           {root_ + "/../secret", "contains \"..\""},
           {root_ + "/./xqwatcher", "contains \".\""},
           {root_ + std::string("/a\0b", 4), "NUL byte"},
           {root_ + "/\xff", "not valid UTF-8"},
           {"/" + std::string(5000, 'a'), "longer than"},
           {"/etc/passwd", "outside the allowed roots [" + root_ + "]"},
           {root_ + "x",
            "outside the allowed roots"},  // a sibling sharing the prefix
           {root_ + "/\\x2e\\x2e/secret", "contains \"..\""},  // escaped ..
           {root_ + "/a\\x00b", "NUL byte"},
           {root_ + "/back\\slash", "starts no escape"},
       }) {
    absl::StatusOr<ConfinedPath> confined = Confine(c.path);
    ASSERT_FALSE(confined.ok()) << c.path;
    EXPECT_THAT(confined.status().message(), HasSubstr(c.error)) << c.path;
  }
}

TEST_F(ConfinedPathTest, NeverFollowsSymlinksEvenInsideTheRoot) {
  for (const std::string& link :
       {"/to-etc", "/to-etc/passwd", "/inside-link/xqwatcher.log",
        "/dotdot-link"}) {
    absl::StatusOr<ConfinedPath> confined = Confine(root_ + link);
    ASSERT_TRUE(confined.ok()) << link;  // lexically fine
    absl::StatusOr<UniqueFd> fd = OpenConfined(*confined, O_RDONLY);
    ASSERT_FALSE(fd.ok()) << link;
    EXPECT_THAT(fd.status().message(), HasSubstr("symbolic link")) << link;
  }
}

TEST_F(ConfinedPathTest, NamesThatAreNotUtf8AreReachedAsOpsctlShowsThem) {
  // A name any local user can make, which is not UTF-8 and so cannot travel
  // in a request as it is: opsctl shows it escaped, and that text opens it.
  const std::string raw = root_ + "/xqwatcher/bad\xff\x1b]0;x\x07.log";
  close(open(raw.c_str(), O_CREAT | O_WRONLY, 0644));
  absl::StatusOr<ConfinedPath> confined =
      Confine(root_ + "/xqwatcher/bad\\xff\\x1b]0;x\\x07.log");
  ASSERT_TRUE(confined.ok()) << confined.status();
  EXPECT_EQ(confined->full, raw);
  EXPECT_TRUE(OpenConfined(*confined, O_RDONLY).ok());
  unlink(raw.c_str());
}

TEST_F(ConfinedPathTest, ARootReplacedAfterItWasPinnedIsRefused) {
  absl::StatusOr<ConfinedPath> file =
      Confine(root_ + "/xqwatcher/xqwatcher.log");
  ASSERT_TRUE(file.ok());
  ASSERT_EQ(rename(root_.c_str(), (root_ + ".real").c_str()), 0);
  ASSERT_EQ(symlink((root_ + ".real").c_str(), root_.c_str()), 0);
  absl::StatusOr<UniqueFd> fd = OpenConfined(*file, O_RDONLY);
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(fd.status().message(), HasSubstr("symbolic link"));
  unlink(root_.c_str());
  ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);  // same name, another inode
  fd = OpenConfined(*file, O_RDONLY);
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(fd.status().message(), HasSubstr("was replaced"));
  rmdir(root_.c_str());
  ASSERT_EQ(rename((root_ + ".real").c_str(), root_.c_str()), 0);
  EXPECT_TRUE(OpenConfined(*file, O_RDONLY).ok());  // the pinned one again
}

TEST_F(ConfinedPathTest, MissingPathsSaySo) {
  absl::StatusOr<UniqueFd> fd =
      OpenConfined(*Confine(root_ + "/nope"), O_RDONLY);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace opsagent
