// Writes N audited actions (intent, then outcome) into an audit database, as
// one opsctl process would: used to prove several processes writing at once
// lose no row.
//   audit_writer DATABASE WRITER_NAME N

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "controller/audit/audit_store.h"
#include "tests/testing/audit_result.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: audit_writer DATABASE WRITER_NAME N\n");
    return 2;
  }
  auto store = opsagent::AuditStore::Open(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  const int n = std::atoi(argv[3]);
  for (int i = 0; i < n; ++i) {
    opsagent::v1::AuditIntent intent;
    intent.set_request_id(absl::StrCat(argv[2], "-", i));
    intent.set_started_at_ms(i);
    intent.set_os_user(argv[2]);
    intent.set_host("h");
    intent.set_operation("memory");
    absl::StatusOr<int64_t> id = (*store)->RecordIntent(intent);
    absl::Status status =
        id.ok()
            ? (*store)->RecordResult(
                  *id, opsagent::AuditResultOf(opsagent::v1::OUTCOME_OK, i + 1))
            : id.status();
    if (!status.ok()) {
      std::fprintf(stderr, "write %d failed: %s\n", i,
                   std::string(status.message()).c_str());
      return 1;
    }
  }
  return 0;
}
