// Fills a team audit log with N realistic rows (intent and outcome, hash
// chained, as opsctld writes them), in transactions of 10,000, for the
// audit query and verification benchmarks. Every row names one of 200
// hosts, 5 operators and 8 operations; one row in 1,000 belongs to an
// incident ("INC-<k>", 20 rows each). With KEY (an Ed25519 private key),
// a checkpoint is signed every 1,000 chain events, as opsctld does by
// default. DATABASE is an SQLite file or postgresql:CONNINFO.
//   fill_audit DATABASE N [KEY]

#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/open_audit_store.h"

int main(int argc, char** argv) {
  int64_t n = 0;
  if ((argc != 3 && argc != 4) || !absl::SimpleAtoi(argv[2], &n)) {
    std::fprintf(stderr, "usage: fill_audit DATABASE N [KEY]\n");
    return 2;
  }
  std::unique_ptr<opsagent::CheckpointSigner> signer;
  if (argc == 4) {
    auto loaded = opsagent::CheckpointSigner::FromKeyFile(argv[3]);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n",
                   std::string(loaded.status().message()).c_str());
      return 1;
    }
    signer = *std::move(loaded);
  }
  auto store = opsagent::OpenBenchStore(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  const char* operations[] = {
      "memory",       "filesystems",     "disk_usage",     "info",
      "truncate_log", "restart_service", "service_status", "run_command"};
  const int64_t start_ms = absl::ToUnixMillis(absl::Now()) - n * 1000;
  std::optional<opsagent::v1::AuditCheckpoint> last;
  // 500 rows are 1,000 chain events: one checkpoint each with a key.
  const int64_t kBatch = signer ? 500 : 10000;
  for (int64_t done = 0; done < n; done += kBatch) {
    std::vector<opsagent::v1::AuditIntent> intents;
    for (int64_t i = done; i < std::min(n, done + kBatch); ++i) {
      opsagent::v1::AuditIntent intent;
      intent.set_request_id(absl::StrFormat("fill-%012d", i));
      intent.set_run_id(absl::StrCat("run-", i / 50));
      intent.set_started_at_ms(start_ms + i * 1000);
      intent.set_os_user(absl::StrCat("user", i % 5));
      intent.set_os_uid(1000 + i % 5);
      intent.set_cert_identity(intent.os_user());
      intent.set_host(absl::StrFormat("web-%03d", i % 200));
      intent.set_address(
          absl::StrFormat("10.0.%d.%d:9443", i % 200 / 100, i % 100));
      intent.set_operation(operations[i % 8]);
      intent.set_parameters_json("{\"top_processes\":10}");
      intent.set_reason("disk alert drill");
      if (i % 1000 == 0) intent.set_incident(absl::StrCat("INC-", i / 20000));
      intent.set_mutating(i % 8 == 4 || i % 8 == 5 || i % 8 == 7);
      intents.push_back(std::move(intent));
    }
    absl::StatusOr<std::vector<int64_t>> rows = (*store)->Commit(intents, {});
    if (!rows.ok()) {
      std::fprintf(stderr, "%s\n",
                   std::string(rows.status().message()).c_str());
      return 1;
    }
    std::vector<std::pair<int64_t, opsagent::v1::AuditResult>> results;
    for (int64_t row : *rows) {
      opsagent::v1::AuditResult result;
      result.set_outcome(opsagent::v1::OUTCOME_OK);
      result.set_finished_at_ms(start_ms + (row - 1) * 1000 + 20);
      result.set_summary("available 23G of 24G; largest java 315M");
      results.emplace_back(row, std::move(result));
    }
    if (absl::Status status = (*store)->Commit({}, results).status();
        !status.ok()) {
      std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
      return 1;
    }
    if (signer) {
      auto signed_now = (*store)->SignCheckpoint(*signer, absl::Now(), last);
      if (!signed_now.ok()) {
        std::fprintf(stderr, "%s\n",
                     std::string(signed_now.status().message()).c_str());
        return 1;
      }
      if (signed_now->has_value()) last = **signed_now;
    }
  }
  return 0;
}
