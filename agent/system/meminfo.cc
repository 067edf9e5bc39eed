#include "agent/system/meminfo.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/system/proc_file.h"

namespace opsagent {

absl::StatusOr<MemoryUsage> ParseMeminfo(absl::string_view text) {
  absl::flat_hash_map<std::string, uint64_t> kib;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits(':', 1));
    absl::string_view value = absl::StripAsciiWhitespace(kv.second);
    absl::ConsumeSuffix(&value, " kB");
    uint64_t number;
    if (!absl::SimpleAtoi(value, &number)) {
      return absl::InvalidArgumentError(
          absl::StrCat("meminfo: cannot parse line \"", line, "\""));
    }
    kib[std::string(kv.first)] = number;
  }
  auto field = [&kib](const char* name) -> absl::StatusOr<uint64_t> {
    auto it = kib.find(name);
    if (it == kib.end())
      return absl::InvalidArgumentError(
          absl::StrCat("meminfo: no ", name, " line"));
    return it->second * 1024;
  };
  auto optional = [&kib](const char* name) -> uint64_t {
    auto it = kib.find(name);
    return it == kib.end() ? 0 : it->second * 1024;
  };

  MemoryUsage usage;
  for (auto [name, out] : {std::pair{"MemTotal", &usage.total},
                           {"MemFree", &usage.free},
                           {"SwapTotal", &usage.swap_total},
                           {"SwapFree", &usage.swap_free}}) {
    absl::StatusOr<uint64_t> value = field(name);
    if (!value.ok()) return value.status();
    *out = *value;
  }
  usage.shared = optional("Shmem");
  usage.buff_cache =
      optional("Buffers") + optional("Cached") + optional("SReclaimable");
  auto saturating_sub = [](uint64_t a, uint64_t b) {
    return a > b ? a - b : 0;
  };
  if (kib.contains("MemAvailable")) {
    usage.available = std::min(optional("MemAvailable"), usage.total);
    usage.used = usage.total - usage.available;
  } else {
    usage.available = usage.free;
    usage.used = saturating_sub(usage.total, usage.free + usage.buff_cache);
  }
  usage.swap_used = saturating_sub(usage.swap_total, usage.swap_free);
  return usage;
}

absl::StatusOr<MemoryUsage> ReadMeminfo(const std::string& path) {
  absl::StatusOr<std::string> text = ReadProcFile(path);
  if (!text.ok()) return text.status();
  return ParseMeminfo(*text);
}

}  // namespace opsagent
