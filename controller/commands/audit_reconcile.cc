// audit reconcile: the team's log compared with each agent's own journal.

#include "controller/commands/audit_reconcile.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/host_text.h"
#include "common/json.h"
#include "common/operation_catalog.h"
#include "common/tls/chain_verifier.h"
#include "controller/audit/audit_entry.h"
#include "controller/audit/journal_check.h"
#include "controller/audit/reconcile.h"
#include "controller/commands/audit_query.h"
#include "controller/commands/command.h"
#include "controller/commands/fleet.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/table.h"
#include "controller/output/terminal.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

// Rows and journal records this long before --since are read too, so that
// a call near the edge is matched rather than reported missing.
constexpr int64_t kMarginMs = 60 * 1000;
constexpr int kMaxRowsPerHost = 100000;

// One host's journal as read through the controller, checked
// (controller/audit/journal_check.h). What fails says why.
absl::StatusOr<v1::JournalReply> CheckedJournal(const std::string& host,
                                                const AuditedResult& result,
                                                const ChainVerifier& ca) {
  if (!result.status.ok()) return result.status;
  return CheckHostJournal(host, result.request_id, result.signed_final_message,
                          result.agent_result_sha256, result.agent_signature,
                          ca);
}

// One host's journal, every page of it: its records, the request ids of the
// reads (one a page), and the certificate that signed them.
struct HostJournal {
  std::vector<v1::JournalRecord> records;
  std::vector<std::string> request_ids;
  std::string certificate_pem;
  int pages = 0;
};

// Reads the pages of `host`'s journal after the first (`first`, already
// read by the fan-out), each through the controller and checked, following
// the cursor until the agent says there is no more. What fails says why.
absl::StatusOr<HostJournal> ReadAllPages(Invocation& invocation,
                                         const std::string& host,
                                         const v1::JournalRequest& base,
                                         const AuditedResult& first,
                                         const ChainVerifier& ca) {
  HostJournal journal;
  absl::StatusOr<v1::JournalReply> page = CheckedJournal(host, first, ca);
  std::string request_id = first.request_id;
  uint64_t cursor = base.cursor();
  while (true) {
    if (!page.ok()) {
      return absl::Status(
          page.status().code(),
          journal.pages == 0
              ? std::string(page.status().message())
              : absl::StrCat("page ", journal.pages + 1,
                             " of its journal: ", page.status().message()));
    }
    ++journal.pages;
    journal.request_ids.push_back(request_id);
    journal.certificate_pem = HostSigningCertificates(*page, host, ca);
    for (v1::JournalRecord& record : *page->mutable_records())
      journal.records.push_back(std::move(record));
    if (!page->more()) return journal;
    if (page->next_cursor() <= cursor) {
      return absl::DataLossError(
          absl::StrCat("its journal's page ", journal.pages,
                       " says more follow but its cursor does not move on (",
                       page->next_cursor(), ")"));
    }
    cursor = page->next_cursor();
    auto request = std::make_shared<v1::JournalRequest>(base);
    request->set_cursor(cursor);
    OperationCall call;
    call.op = &OperationFor<v1::JournalRequest>();
    call.request = request;
    AuditedResult next;
    RunObserver observer;
    observer.on_result = [&](size_t, AuditedResult& result) {
      next = std::move(result);
    };
    FanOutSummary summary;
    if (const int failed =
            FleetOf(invocation)->Run(host, call, observer, &summary);
        failed != kExitOk) {
      return absl::UnavailableError(
          absl::StrCat("page ", journal.pages + 1,
                       " of its journal could not be asked for"));
    }
    request_id = next.request_id;
    page = CheckedJournal(host, next, ca);
  }
}

absl::StatusOr<std::unique_ptr<ChainVerifier>> OperatorCa(
    Invocation& invocation) {
  absl::StatusOr<const v1::OperatorConfig*> config = invocation.config();
  if (!config.ok()) return config.status();
  std::ifstream file((*config)->ca_certificate());
  std::stringstream pem;
  pem << file.rdbuf();
  std::vector<std::string> problems;
  return ChainVerifier::Build(pem.str(), {}, /*crls_required=*/false,
                              &problems);
}

}  // namespace

int RunAuditReconcile(Invocation& invocation, const ParsedArgs& args) {
  if (!invocation.via_controller()) {
    return CommandFailed(invocation, kExitUsage,
                         "reconcile compares the agents' journals with the "
                         "controller's team log; it needs the controller "
                         "(not --direct)");
  }
  absl::StatusOr<int64_t> since =
      ParseTimeFlag("since", args.Has("since") ? args.Get("since") : "24h");
  if (!since.ok())
    return CommandFailed(invocation, kExitUsage, since.status().message());
  const std::string target = args.Has("host") ? args.Get("host") : "*";
  absl::StatusOr<std::unique_ptr<ChainVerifier>> ca = OperatorCa(invocation);
  if (!ca.ok())
    return CommandFailed(invocation, kExitUsage, ca.status().message());

  // Each host's journal, read through the controller and signed by it.
  const OperationInfo* op = &OperationFor<v1::JournalRequest>();
  auto request = std::make_shared<v1::JournalRequest>();
  request->set_since_unix_ms(*since - kMarginMs);
  OperationCall call;
  call.op = op;
  call.request = request;
  std::vector<std::string> hosts;
  std::vector<AuditedResult> results;
  absl::Mutex mutex;
  FanOutSummary summary;
  const absl::Time start = absl::Now();
  RunObserver observer;
  observer.on_hosts = [&](const std::vector<std::string>& selected) {
    hosts = selected;
    results.resize(selected.size());
  };
  observer.on_result = [&](size_t i, AuditedResult& result) {
    absl::MutexLock lock(&mutex);
    results[i] = std::move(result);
  };
  if (const int failed =
          FleetOf(invocation)->Run(target, call, observer, &summary);
      failed != kExitOk)
    return failed;

  std::vector<Finding> findings;
  nlohmann::ordered_json host_json = nlohmann::ordered_json::array();
  int64_t matched = 0;
  int unread = 0;
  for (size_t i = 0; i < hosts.size(); ++i) {
    const std::string& host = hosts[i];
    // Page by page (each at most 4 MiB, under the link's limit).
    absl::StatusOr<HostJournal> journal =
        ReadAllPages(invocation, host, *request, results[i], **ca);
    if (!journal.ok()) {
      ++unread;
      // The message may be the agent's own: shown escaped.
      PrintError(invocation, absl::StrCat(Shown(host), ": not compared: ",
                                          Shown(journal.status().message())));
      host_json.push_back({{"host", host},
                           {"compared", false},
                           {"error", std::string(journal.status().message())}});
      continue;
    }
    v1::AuditQuery filter;
    filter.set_host(host);
    filter.set_since_unix_ms(*since - kMarginMs);
    filter.set_limit(kMaxRowsPerHost);
    absl::StatusOr<std::vector<v1::AuditEntry>> rows =
        FleetOf(invocation)->QueryAudit(filter, /*without_results=*/true);
    if (!rows.ok())
      return CommandFailed(invocation, kExitAuditUnavailable,
                           rows.status().message());
    HostReconciliation reconciled =
        Reconcile(host, *since, *rows, journal->records, journal->request_ids,
                  journal->certificate_pem);
    matched += reconciled.matched;
    host_json.push_back({{"host", host},
                         {"compared", true},
                         {"agree", reconciled.matched},
                         {"findings", reconciled.findings.size()},
                         {"journal_records", journal->records.size()},
                         {"journal_pages", journal->pages},
                         {"journal_truncated", false}});
    for (Finding& finding : reconciled.findings)
      findings.push_back(std::move(finding));
  }

  std::map<FindingKind, int> counts;
  int discrepancies = 0;
  for (const Finding& finding : findings) {
    ++counts[finding.kind];
    if (finding.kind != FindingKind::kUnloggedRead) ++discrepancies;
  }
  if (invocation.output() == OutputFormat::kJson) {
    nlohmann::ordered_json items = nlohmann::ordered_json::array();
    for (const Finding& f : findings) {
      items.push_back({{"kind", std::string(FindingName(f.kind))},
                       {"host", f.host},
                       {"time", f.time},
                       {"request_id", f.request_id},
                       {"operation", f.operation},
                       {"detail", f.detail}});
    }
    std::fprintf(invocation.out(), "%s\n",
                 DumpJson({{"hosts", std::move(host_json)},
                           {"agree", matched},
                           {"findings", std::move(items)}})
                     .c_str());
  } else if (!findings.empty()) {
    TextTable table(
        {"FINDING", "HOST", "TIME (UTC)", "OPERATION", "REQUEST", "DETAIL"},
        {5});
    for (const Finding& f : findings) {
      table.AddRow({std::string(FindingName(f.kind)), f.host, f.time,
                    f.operation, f.request_id, f.detail});
    }
    std::fprintf(invocation.out(), "%s", table.Render().c_str());
  }
  std::vector<std::string> tally;
  for (const auto& [kind, count] : counts)
    tally.push_back(absl::StrCat(count, " ", FindingName(kind)));
  std::fprintf(
      invocation.err(),
      "reconciled %zu host(s) in %lld ms: %lld call(s) agree, %d "
      "discrepanc%s%s%s%s\n",
      hosts.size() - unread,
      static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - start)),
      static_cast<long long>(matched), discrepancies,
      discrepancies == 1 ? "y" : "ies",
      tally.empty()
          ? ""
          : absl::StrCat(" (", absl::StrJoin(tally, ", "), ")").c_str(),
      unread > 0 ? absl::StrCat("; ", unread, " host(s) not compared").c_str()
                 : "",
      "");
  return discrepancies > 0 || unread > 0 ? kExitCheckFailed : kExitOk;
}

}  // namespace opsagent
