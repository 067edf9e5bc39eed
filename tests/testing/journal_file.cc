#include "tests/testing/journal_file.h"

#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "tests/testing/agent_process.h"

namespace opsagent::testing {

std::vector<v1::JournalRecord> ReadJournalFile(const std::string& path) {
  std::vector<v1::JournalRecord> records;
  for (absl::string_view line :
       absl::StrSplit(ReadFileOrDie(path), '\n', absl::SkipEmpty())) {
    v1::JournalRecord record;
    if (google::protobuf::util::JsonStringToMessage(std::string(line), &record)
            .ok())
      records.push_back(record);
  }
  return records;
}

}  // namespace opsagent::testing
