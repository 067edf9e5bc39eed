#include "agent/system/stat_pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace opsagent {
namespace {

TEST(StatPoolTest, ParallelResultsEqualSerialOnes) {
  char pattern[] = "/tmp/statpool-XXXXXX";
  const std::string dir = mkdtemp(pattern);
  std::vector<StatJob> jobs;
  for (int i = 0; i < 1000; ++i) {
    const std::string name = absl::StrCat("f", i);
    std::ofstream(dir + "/" + name) << std::string(i, 'x');
    jobs.push_back({name});
  }
  jobs.push_back({"missing"});
  jobs.push_back({"skipped"});
  jobs.back().needs_stat = false;
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  StatPool pool(4);
  for (int round = 0; round < 3;
       ++round) {  // the pool is reused across batches
    for (StatJob& job : jobs) job.st = {};
    pool.StatAll(fd, jobs);
    for (int i = 0; i < 1000; ++i) {
      ASSERT_EQ(jobs[i].error, 0) << jobs[i].name;
      EXPECT_EQ(jobs[i].st.st_size, i) << jobs[i].name;
    }
    EXPECT_EQ(jobs[1000].error, ENOENT);
    EXPECT_EQ(jobs[1001].st.st_ino, 0u);  // not stat'ed
  }
  close(fd);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace opsagent
