// Trust files (CA bundles, keys, CRLs, configurations, journals, programs)
// are refused when anyone but root and this user could change them, on the
// file itself or on any directory or symbolic link on the way to it.

#include "common/trusted_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class TrustedPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/trusted-XXXXXX";  // under sticky, root-owned /tmp
    base_ = mkdtemp(pattern);
    fs::create_directories(base_ + "/etc/tls");
    file_ = base_ + "/etc/tls/ca.crt";
    std::ofstream(file_) << "x";
    chmod(file_.c_str(), 0644);
  }
  void TearDown() override { fs::remove_all(base_); }

  std::string base_;
  std::string file_;
};

TEST_F(TrustedPathTest, AFileOnlyRootOrThisUserCanChangePasses) {
  EXPECT_TRUE(CheckTrustedPath(file_, TrustedKind::kFile).ok());
  EXPECT_TRUE(
      CheckTrustedPath(base_ + "/etc/tls", TrustedKind::kDirectory).ok());
  chmod(file_.c_str(), 0600);
  EXPECT_TRUE(CheckTrustedPath(file_, TrustedKind::kSecretFile).ok());
}

TEST_F(TrustedPathTest, WritableByOthersOrItsGroupIsRefusedWithTheFix) {
  for (mode_t mode : {0666, 0664, 0646}) {
    chmod(file_.c_str(), mode);
    absl::Status status = CheckTrustedPath(file_, TrustedKind::kFile);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << mode;
    EXPECT_THAT(status.message(), HasSubstr(file_)) << mode;
    EXPECT_THAT(status.message(), HasSubstr("chmod go-w")) << mode;
  }
}

TEST_F(TrustedPathTest, ADirectoryOnTheWayThatOthersCanWriteIsRefused) {
  chmod((base_ + "/etc").c_str(), 0777);  // could swap tls/ for their own
  absl::Status status = CheckTrustedPath(file_, TrustedKind::kFile);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(),
              HasSubstr(base_ + "/etc is writable by others"));
}

// Sticky and root's, like /tmp: others cannot rename what is in it.
TEST_F(TrustedPathTest, AStickyDirectoryOfRootsOnTheWayPasses) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to own a sticky directory";
  ASSERT_EQ(chmod((base_ + "/etc").c_str(), 01777), 0);
  absl::Status status = CheckTrustedPath(file_, TrustedKind::kFile);
  EXPECT_TRUE(status.ok()) << status;
}

TEST_F(TrustedPathTest, APrivateKeyReadableByOthersIsRefused) {
  chmod(file_.c_str(), 0644);
  absl::Status status = CheckTrustedPath(file_, TrustedKind::kSecretFile);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("private key readable by others"));
  chmod(file_.c_str(), 0640);  // ssl-cert group style
  EXPECT_TRUE(CheckTrustedPath(file_, TrustedKind::kSecretFile).ok());
}

TEST_F(TrustedPathTest, SymbolicLinksAreFollowedAndTheirTargetsChecked) {
  const std::string writable = base_ + "/anyone";
  fs::create_directories(writable);
  chmod(writable.c_str(), 0777);
  std::ofstream(writable + "/ca.crt") << "y";
  const std::string link = base_ + "/etc/tls/link.crt";
  fs::create_symlink(writable + "/ca.crt", link);
  absl::Status status = CheckTrustedPath(link, TrustedKind::kFile);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr(writable));
  // A relative link to a trusted file passes.
  fs::create_symlink("ca.crt", base_ + "/etc/tls/relative.crt");
  EXPECT_TRUE(
      CheckTrustedPath(base_ + "/etc/tls/relative.crt", TrustedKind::kFile)
          .ok());
}

TEST_F(TrustedPathTest, AFileOwnedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  ASSERT_EQ(chown(file_.c_str(), 65534, 65534), 0);
  absl::Status status = CheckTrustedPath(file_, TrustedKind::kFile);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("owned by uid 65534"));
}

TEST_F(TrustedPathTest, MissingAndWrongKindsSaySo) {
  EXPECT_TRUE(absl::IsNotFound(
      CheckTrustedPath(base_ + "/etc/nope/ca.crt", TrustedKind::kFile)));
  EXPECT_THAT(CheckTrustedPath(base_ + "/etc/nope/ca.crt", TrustedKind::kFile)
                  .message(),
              HasSubstr(base_ + "/etc/nope/ca.crt"));
  EXPECT_FALSE(CheckTrustedPath(base_ + "/etc", TrustedKind::kFile).ok());
  EXPECT_FALSE(CheckTrustedPath(file_, TrustedKind::kDirectory).ok());
  EXPECT_FALSE(CheckTrustedPath("relative/ca.crt", TrustedKind::kFile).ok());
}

// A file a daemon writes may be missing (it creates it), but when present
// it is a regular file itself: a link, even to a good file, or a FIFO is
// refused, as the daemon's O_NOFOLLOW open would at its start.
TEST_F(TrustedPathTest, AWrittenFileMustBeARegularFileInATrustedDirectory) {
  const std::string journal = base_ + "/etc/tls/journal.jsonl";
  EXPECT_TRUE(CheckWrittenFile(journal).ok());  // not there yet
  EXPECT_TRUE(CheckWrittenFile(file_).ok());
  ASSERT_EQ(symlink(file_.c_str(), journal.c_str()), 0);
  absl::Status link = CheckWrittenFile(journal);
  EXPECT_EQ(link.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(link.message(), HasSubstr("symbolic link"));
  EXPECT_THAT(link.message(), HasSubstr(journal));
  unlink(journal.c_str());
  ASSERT_EQ(mkfifo(journal.c_str(), 0600), 0);
  EXPECT_THAT(CheckWrittenFile(journal).message(),
              HasSubstr("not a regular file"));
  unlink(journal.c_str());
  chmod(file_.c_str(), 0662);
  EXPECT_THAT(CheckWrittenFile(file_).message(), HasSubstr("chmod go-w"));
  chmod(file_.c_str(), 0644);
  chmod((base_ + "/etc/tls").c_str(), 0777);
  EXPECT_THAT(CheckWrittenFile(journal).message(),
              HasSubstr("is writable by others"));
}

// SQLite replays a -wal it finds beside the database at its next open:
// one planted there (a link, or a file of someone else's) is refused with
// the database, and so is a directory where others may create names, even
// a sticky one such as /tmp (our attack run replaced a whole log so).
TEST_F(TrustedPathTest, AWrittenFilesCompanionsAndDirectoryAreCheckedToo) {
  const std::string database = base_ + "/etc/tls/audit.db";
  std::ofstream(database) << "";
  chmod(database.c_str(), 0600);
  EXPECT_TRUE(CheckWrittenFile(database, kSqliteCompanions).ok());
  ASSERT_EQ(symlink(file_.c_str(), (database + "-wal").c_str()), 0);
  absl::Status wal = CheckWrittenFile(database, kSqliteCompanions);
  EXPECT_EQ(wal.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(wal.message(), HasSubstr(database + "-wal"));
  EXPECT_TRUE(CheckWrittenFile(database).ok());  // not asked about it
  unlink((database + "-wal").c_str());
  std::ofstream(database + "-shm") << "";
  chmod((database + "-shm").c_str(), 0666);
  EXPECT_THAT(CheckWrittenFile(database, kSqliteCompanions).message(),
              HasSubstr("-shm"));
  unlink((database + "-shm").c_str());
  chmod((base_ + "/etc/tls").c_str(), 01777);
  absl::Status sticky = CheckWrittenFile(database, kSqliteCompanions);
  EXPECT_EQ(sticky.code(), absl::StatusCode::kFailedPrecondition);
  chmod((base_ + "/etc/tls").c_str(), 0755);
  EXPECT_TRUE(CheckWrittenFile(database, kSqliteCompanions).ok());
}

}  // namespace
}  // namespace opsagent
