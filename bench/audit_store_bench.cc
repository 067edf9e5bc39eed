// The team audit log's two stores measured alike (bench/audit_stores.sh):
//   audit_store_bench STORE appends CALLERS SECONDS
//     CALLERS threads, each recording an intent and then its outcome (two
//     chain events, two commits, as a relayed call does) as fast as it can
//     for SECONDS; prints "events_per_second N transactions N".
//   audit_store_bench STORE incident NAME RUNS
//     `opsctl audit --incident NAME`'s query, RUNS times; prints the median
//     and the slowest in ms, and the rows found.
// STORE is an SQLite file or postgresql:CONNINFO (bench/open_audit_store.h).

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/open_audit_store.h"

namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
  return 1;
}

int Appends(opsagent::AuditStore& store, int callers, int seconds) {
  std::atomic<int64_t> events{0};
  std::atomic<bool> failed{false};
  const absl::Time end = absl::Now() + absl::Seconds(seconds);
  const int64_t run = absl::ToUnixNanos(absl::Now());
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; absl::Now() < end && !failed; ++i) {
        opsagent::v1::AuditIntent intent;
        intent.set_request_id(absl::StrCat("bench-", run, "-", c, "-", i));
        intent.set_started_at_ms(absl::ToUnixMillis(absl::Now()));
        intent.set_os_user("alice");
        intent.set_cert_identity("alice");
        intent.set_host(absl::StrCat("web-", c % 200));
        intent.set_address("10.0.0.1:9443");
        intent.set_operation("memory");
        intent.set_parameters_json("{\"top_processes\":10}");
        absl::StatusOr<int64_t> id = store.RecordIntent(intent);
        if (!id.ok()) {
          failed = true;
          std::fprintf(stderr, "%s\n",
                       std::string(id.status().message()).c_str());
          return;
        }
        opsagent::v1::AuditResult result;
        result.set_outcome(opsagent::v1::OUTCOME_OK);
        result.set_finished_at_ms(absl::ToUnixMillis(absl::Now()));
        result.set_summary("available 23G of 24G");
        if (absl::Status done = store.RecordResult(*id, result); !done.ok()) {
          failed = true;
          std::fprintf(stderr, "%s\n", std::string(done.message()).c_str());
          return;
        }
        events += 2;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  if (failed) return 1;
  std::printf("events_per_second %.0f\n",
              static_cast<double>(events.load()) / seconds);
  return 0;
}

int Incident(opsagent::AuditStore& store, const std::string& incident,
             int runs) {
  opsagent::v1::AuditQuery filter;
  filter.set_incident(incident);
  std::vector<double> ms;
  size_t found = 0;
  for (int i = 0; i < runs; ++i) {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::vector<opsagent::v1::AuditEntry>> rows =
        store.Query(filter);
    if (!rows.ok()) return Fail(rows.status());
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    found = rows->size();
  }
  std::sort(ms.begin(), ms.end());
  std::printf("median_ms %.2f max_ms %.2f rows %zu\n", ms[ms.size() / 2],
              ms.back(), found);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int a = 0;
  int b = 0;
  if (argc != 5 ||
      (std::string(argv[2]) != "appends" &&
       std::string(argv[2]) != "incident") ||
      !absl::SimpleAtoi(argv[4], &b) ||
      (std::string(argv[2]) == "appends" && !absl::SimpleAtoi(argv[3], &a))) {
    std::fprintf(stderr,
                 "usage: audit_store_bench STORE appends CALLERS SECONDS\n"
                 "       audit_store_bench STORE incident NAME RUNS\n");
    return 2;
  }
  absl::StatusOr<std::unique_ptr<opsagent::AuditStore>> store =
      opsagent::OpenBenchStore(argv[1]);
  if (!store.ok()) return Fail(store.status());
  if (std::string(argv[2]) == "appends") return Appends(**store, a, b);
  return Incident(**store, argv[3], b);
}
