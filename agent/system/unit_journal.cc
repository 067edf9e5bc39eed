#include "agent/system/unit_journal.h"

#include <systemd/sd-journal.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/host_text.h"

namespace opsagent {
namespace {

struct JournalCloser {
  void operator()(sd_journal* journal) const { sd_journal_close(journal); }
};

// The value of `field` in the current entry ("" when it has none).
std::string Field(sd_journal* journal, const char* field) {
  const void* data = nullptr;
  size_t length = 0;
  if (sd_journal_get_data(journal, field, &data, &length) < 0) return "";
  absl::string_view entry(static_cast<const char*>(data), length);
  const size_t prefix = std::strlen(field) + 1;  // "FIELD="
  return entry.size() < prefix ? "" : std::string(entry.substr(prefix));
}

absl::Status AddMatch(sd_journal* journal, const std::string& match) {
  const int rc = sd_journal_add_match(journal, match.data(), match.size());
  if (rc < 0)
    return absl::InternalError(
        absl::StrCat("journal match ", match, ": ", std::strerror(-rc)));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<ServiceLogLine>> ReadUnitJournal(
    absl::string_view unit, size_t lines) {
  sd_journal* opened = nullptr;
  int rc = sd_journal_open(&opened, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
  if (rc < 0)
    return absl::UnavailableError(
        absl::StrCat("cannot open the journal: ", std::strerror(-rc)));
  std::unique_ptr<sd_journal, JournalCloser> journal(opened);
  // Fields longer than this are cut by sd-journal itself, so a huge message
  // is never copied whole.
  sd_journal_set_data_threshold(journal.get(), kMaxServiceLogLineBytes + 64);
  const std::string name(unit);
  for (const auto& terms :
       {std::vector<std::string>{"_SYSTEMD_UNIT=" + name},
        std::vector<std::string>{"UNIT=" + name, "_PID=1"},
        std::vector<std::string>{"OBJECT_SYSTEMD_UNIT=" + name, "_UID=0"}}) {
    for (const std::string& term : terms) {
      if (absl::Status added = AddMatch(journal.get(), term); !added.ok())
        return added;
    }
    sd_journal_add_disjunction(journal.get());
  }
  std::vector<ServiceLogLine> found;
  sd_journal_seek_tail(journal.get());
  while (found.size() < lines) {
    rc = sd_journal_previous(journal.get());
    if (rc < 0)
      return absl::UnavailableError(
          absl::StrCat("reading the journal: ", std::strerror(-rc)));
    if (rc == 0) break;
    ServiceLogLine line;
    uint64_t usec = 0;
    if (sd_journal_get_realtime_usec(journal.get(), &usec) >= 0)
      line.time = absl::FromUnixMicros(static_cast<int64_t>(usec));
    std::string source = Field(journal.get(), "SYSLOG_IDENTIFIER");
    if (source.empty()) source = Field(journal.get(), "_COMM");
    if (const std::string pid = Field(journal.get(), "_PID"); !pid.empty())
      absl::StrAppend(&source, "[", pid, "]");
    line.source = EscapeHostBytes(source);
    std::string message = Field(journal.get(), "MESSAGE");
    if (message.size() > kMaxServiceLogLineBytes) {
      message.resize(kMaxServiceLogLineBytes);
      message += "…";
    }
    line.text = EscapeHostBytes(message);
    found.push_back(std::move(line));
  }
  std::reverse(found.begin(), found.end());
  return found;
}

}  // namespace opsagent
