// The staged copies of a server's TLS files (its private key among them) do
// not outlive the process that made them: a directory left by a process that
// is gone is removed at the next start, and nothing else is touched: not a
// living server's, not another user's, not one behind a link, not one being
// made right now.

#include "common/tls/staging_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace opsagent {
namespace {

namespace fs = std::filesystem;

class StagingDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = std::string(std::getenv("TEST_TMPDIR")) + "/s-XXXXXX";
    parent_ = mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(parent_); }

  // A directory as a killed server leaves it: its copies inside, last
  // changed an hour ago.
  std::string Abandoned(const std::string& name) {
    const std::string path = parent_ + "/" + name;
    fs::create_directory(path);
    std::ofstream(path + "/private_key.pem") << "KEY";
    std::ofstream(path + "/certificate.pem.new") << "half written";
    Age(path);
    return path;
  }
  static void Age(const std::string& path) {
    const timespec an_hour_ago[2] = {{time(nullptr) - 3600, 0},
                                     {time(nullptr) - 3600, 0}};
    utimensat(AT_FDCWD, path.c_str(), an_hour_ago, AT_SYMLINK_NOFOLLOW);
  }

  std::string parent_;
};

TEST_F(StagingDirectoryTest, IsPrivateWhileHeldAndGoneWhenDestroyed) {
  std::string path;
  {
    auto staging = StagingDirectory::Create(parent_);
    ASSERT_TRUE(staging.ok()) << staging.status();
    path = (*staging)->path();
    EXPECT_EQ(fs::path(path).parent_path(), parent_);
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700);
    std::ofstream(path + "/private_key.pem") << "KEY";
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(StagingDirectoryTest, OnlyWhatAProcessThatIsGoneLeftIsRemoved) {
  // A living server's, aged as if it had not restaged for an hour.
  auto living = StagingDirectory::Create(parent_);
  ASSERT_TRUE(living.ok()) << living.status();
  std::ofstream((*living)->path() + "/private_key.pem") << "LIVE";
  Age((*living)->path());
  const std::string left = Abandoned("opsagent-tls-left01");
  const std::string left_too = Abandoned("opsagent-tls-left02");
  // One being made right now: not locked yet, but new.
  const std::string young = parent_ + "/opsagent-tls-young1";
  fs::create_directory(young);
  // Not staging's: other names, a subdirectory inside, a link.
  const std::string other_name = Abandoned("opsagent-other");
  const std::string with_subdirectory = Abandoned("opsagent-tls-subdir");
  fs::create_directory(with_subdirectory + "/inner");
  const std::string elsewhere = Abandoned("elsewhere");
  fs::create_directory_symlink(elsewhere, parent_ + "/opsagent-tls-link00");

  EXPECT_EQ(StagingDirectory::RemoveAbandoned(parent_, absl::Minutes(1)), 2);
  EXPECT_FALSE(fs::exists(left));
  EXPECT_FALSE(fs::exists(left_too));
  EXPECT_TRUE(fs::exists((*living)->path() + "/private_key.pem"));
  EXPECT_TRUE(fs::exists(young));
  EXPECT_TRUE(fs::exists(other_name + "/private_key.pem"));
  EXPECT_TRUE(fs::exists(with_subdirectory + "/private_key.pem"));
  EXPECT_TRUE(fs::exists(with_subdirectory + "/inner"));
  EXPECT_TRUE(fs::is_symlink(parent_ + "/opsagent-tls-link00"));
  EXPECT_TRUE(fs::exists(elsewhere + "/private_key.pem"));

  // A new server removes what is abandoned by then, the same way.
  const std::string left_later = Abandoned("opsagent-tls-later1");
  auto next = StagingDirectory::Create(parent_);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(fs::exists(left_later));
  EXPECT_TRUE(fs::exists((*living)->path()));
}

TEST_F(StagingDirectoryTest, AnotherUsersDirectoryIsLeftAlone) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown to another user";
  const std::string theirs = Abandoned("opsagent-tls-theirs");
  ASSERT_EQ(lchown(theirs.c_str(), 65534, 65534), 0);
  EXPECT_EQ(StagingDirectory::RemoveAbandoned(parent_, absl::Minutes(1)), 0);
  EXPECT_TRUE(fs::exists(theirs + "/private_key.pem"));
}

// Where others may rename what is not theirs, the copies could be swapped
// for theirs (their CA trusted, the key read) and a directory of theirs
// renamed to opsagent-tls-* would be swept: nothing is made or removed.
TEST_F(StagingDirectoryTest, AParentOthersCouldChangeIsRefusedChangingNothing) {
  const std::string left = Abandoned("opsagent-tls-left01");
  ASSERT_EQ(chmod(parent_.c_str(), 0777), 0);
  auto staging = StagingDirectory::Create(parent_);
  ASSERT_FALSE(staging.ok());
  EXPECT_NE(staging.status().message().find("will not stage TLS files under " +
                                            parent_),
            std::string::npos)
      << staging.status();
  EXPECT_TRUE(fs::exists(left + "/private_key.pem"));
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(parent_)) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

// Sticky and root's (as /tmp): only owners may rename what is in it, so it
// is used, and what a gone process left there is swept.
TEST_F(StagingDirectoryTest, AStickyParentOfRootsIsUsedAndSwept) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to own a sticky directory";
  const std::string left = Abandoned("opsagent-tls-left01");
  ASSERT_EQ(chmod(parent_.c_str(), 01777), 0);
  auto sticky = StagingDirectory::Create(parent_);
  EXPECT_TRUE(sticky.ok()) << sticky.status();
  EXPECT_FALSE(fs::exists(left));
}

TEST_F(StagingDirectoryTest, AParentThatCannotBeUsedIsAClearError) {
  auto staging = StagingDirectory::Create(parent_ + "/missing");
  ASSERT_FALSE(staging.ok());
  EXPECT_NE(staging.status().message().find(parent_ + "/missing"),
            std::string::npos)
      << staging.status();
}

}  // namespace
}  // namespace opsagent
