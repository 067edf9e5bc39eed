// Runs a fuzz target over files instead of generated inputs: one gtest case
// per file in the directories given on the command line (the seed corpus and
// the inputs that once crashed the target). Linked into every fuzzer outside
// `--config=fuzz`, so regressions fail the ordinary test run.

#include <dirent.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> files;
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) return files;
  while (dirent* entry = readdir(handle)) {
    const std::string name = entry->d_name;
    if (name == "." || name == ".." || name == "BUILD.bazel") continue;
    files.push_back(dir + "/" + name);
  }
  closedir(handle);
  return files;
}

class ReplayFile : public testing::Test {
 public:
  explicit ReplayFile(std::string path) : path_(std::move(path)) {}

  void TestBody() override {
    std::ifstream in(path_, std::ios::binary);
    ASSERT_TRUE(in) << "cannot read " << path_;
    const std::string input((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                           input.size());
  }

 private:
  std::string path_;
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  int registered = 0;
  for (int i = 1; i < argc; ++i) {
    for (const std::string& path : FilesIn(argv[i])) {
      const std::string name = path.substr(path.rfind('/') + 1);
      testing::RegisterTest(argv[i], name.c_str(), nullptr, nullptr, __FILE__,
                            __LINE__, [path] { return new ReplayFile(path); });
      ++registered;
    }
  }
  if (registered == 0) {
    fprintf(stderr, "no inputs found in the directories given\n");
    return 1;
  }
  return RUN_ALL_TESTS();
}
