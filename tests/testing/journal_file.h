#ifndef OPSAGENT_TESTS_TESTING_JOURNAL_FILE_H_
#define OPSAGENT_TESTS_TESTING_JOURNAL_FILE_H_

#include <string>
#include <vector>

#include "opsagent/v1/journal.pb.h"

namespace opsagent::testing {

// The records of an agent's journal file (JSON lines), in order; lines that
// are not records (a torn last line) are skipped.
std::vector<v1::JournalRecord> ReadJournalFile(const std::string& path);

}  // namespace opsagent::testing

#endif  // OPSAGENT_TESTS_TESTING_JOURNAL_FILE_H_
