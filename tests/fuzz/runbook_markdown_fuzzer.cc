// Fuzzes `opsctl runbook import`'s reader of the on-call document's
// markdown: any text either fails with a status or yields entries that each
// have a name and an alert heading.

#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "controller/runbook/markdown_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto runbook = opsagent::ImportRunbookMarkdown(text);
  if (!runbook.ok()) return 0;
  for (const auto& entry : runbook->entry()) {
    if (entry.id().empty()) abort();
  }
  return 0;
}
