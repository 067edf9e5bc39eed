#include "agent/system/mountinfo.h"

#include "agent/system/proc_file.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

std::vector<MountEntry> Load(const std::string& name) {
  absl::StatusOr<std::string> text = ReadProcFile("tests/testdata/" + name);
  EXPECT_TRUE(text.ok());
  absl::StatusOr<std::vector<MountEntry>> mounts = ParseMountinfo(*text);
  EXPECT_TRUE(mounts.ok()) << mounts.status();
  return mounts.ok() ? *mounts : std::vector<MountEntry>{};
}

std::vector<std::string> Shown(const std::vector<MountEntry>& mounts) {
  std::vector<std::string> shown;
  for (const MountEntry& m : mounts) {
    if (!IsNoiseMount(m)) shown.push_back(m.mount_point);
  }
  return shown;
}

TEST(MountinfoTest, ParsesARealCapture) {
  std::vector<MountEntry> mounts = Load("mountinfo.debian12-vm");
  ASSERT_EQ(mounts.size(), 20u);
  EXPECT_EQ(mounts[5].mount_point, "/");
  EXPECT_EQ(mounts[5].fs_type, "ext4");
  EXPECT_EQ(mounts[5].source, "/dev/vda");
  EXPECT_FALSE(mounts[5].read_only);
  EXPECT_TRUE(mounts[6].read_only);
  EXPECT_EQ(Shown(mounts), std::vector<std::string>{"/"});
}

// Shaped like the runbook's xqwatcher host: /dev/root, snaps on loop
// devices, tmpfs everywhere, plus a mount point with a space and NFS.
TEST(MountinfoTest, HidesSnapsLoopsAndTmpfsLikeTheRunbookNeeds) {
  std::vector<MountEntry> mounts = Load("mountinfo.ubuntu-snaps");
  ASSERT_EQ(mounts.size(), 10u);
  EXPECT_EQ(Shown(mounts), (std::vector<std::string>{
                               "/", "/edx/var/log archive", "/mnt/data"}));
  EXPECT_EQ(mounts[4].source, "/dev/root");
  EXPECT_EQ(mounts[9].source,
            "fs-1:/export");  // optional fields before "-" are skipped
}

TEST(MountinfoTest, MalformedLinesAreErrors) {
  absl::StatusOr<std::vector<MountEntry>> mounts =
      ParseMountinfo("22 27 0:21 / /proc rw\n");
  ASSERT_FALSE(mounts.ok());
  EXPECT_EQ(mounts.status().message(),
            "mountinfo line 1 is malformed: \"22 27 0:21 / /proc rw\"");
  EXPECT_FALSE(
      ParseMountinfo("1 2 3:4 / /x rw shared:1 no-separator ext4 /dev/x rw\n")
          .ok());
}

// Found by mountinfo_fuzzer: a doubled space made an empty mount point that
// was accepted and would have been passed to statvfs.
TEST(MountinfoTest, EmptyFieldsAreErrors) {
  EXPECT_FALSE(
      ParseMountinfo("36 35 98:0 /mnt1  /mnt rw - ext3 /dev/root rw\n").ok());
  EXPECT_FALSE(
      ParseMountinfo("36 35 98:0 /mnt1 /mnt rw -  ext3 /dev/root rw\n").ok());
  EXPECT_TRUE(
      ParseMountinfo("36 35 98:0 /mnt1 /mnt rw - ext3 /dev/root rw\n").ok());
}

}  // namespace
}  // namespace opsagent
