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
#include "common/operation_catalog.h"
#include "common/signing/result_signature.h"
#include "common/tls/certificate_info.h"
#include "common/tls/chain_verifier.h"
#include "common/tls/host_certificate.h"
#include "controller/audit/audit_entry.h"
#include "controller/audit/reconcile.h"
#include "controller/commands/audit_query.h"
#include "controller/commands/command.h"
#include "controller/commands/run_operation.h"
#include "controller/exit_codes.h"
#include "controller/output/json.h"
#include "controller/output/table.h"
#include "controller/output/terminal.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

// Rows and journal records this long before --since are read too, so that
// a call near the edge is matched rather than reported missing.
constexpr int64_t kMarginMs = 60 * 1000;
constexpr int kMaxRowsPerHost = 100000;

// One host's journal as read through the controller, checked: the agent's
// certificate chains to the operator's CA and is the host's, and it signed
// this very answer. What fails says why.
absl::StatusOr<v1::JournalReply> CheckedJournal(const std::string& host,
                                                const AuditedResult& result,
                                                const ChainVerifier& ca) {
  if (!result.status.ok()) return result.status;
  v1::JournalReply reply;
  if (!reply.ParseFromString(result.signed_final_message))
    return absl::DataLossError("its journal did not come back whole");
  if (absl::Status chain = ca.Verify(reply.agent_certificate_pem(), "",
                                     ChainVerifier::Purpose::kServer);
      !chain.ok()) {
    return absl::DataLossError(absl::StrCat(
        "the certificate it sent is not one our CA issued: ", chain.message()));
  }
  absl::StatusOr<CertificateInfo> info =
      ParseCertificatePem(reply.agent_certificate_pem());
  if (!info.ok()) return info.status();
  if (absl::Status named = CheckHostCertificate(*info, host); !named.ok())
    return absl::DataLossError(named.message());
  const std::string digest =
      ResultSha256(host, result.request_id, 0, result.signed_final_message);
  if (digest != result.agent_result_sha256) {
    return absl::DataLossError(
        "its journal is not what the agent signed (changed on the way)");
  }
  if (absl::Status signature = VerifyResult(reply.agent_certificate_pem(),
                                            digest, result.agent_signature);
      !signature.ok())
    return absl::DataLossError(
        absl::StrCat("its journal: ", signature.message()));
  return reply;
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
    return CommandFailed(kExitUsage,
                         "reconcile compares the agents' journals with the "
                         "controller's team log; it needs the controller "
                         "(not --direct)");
  }
  absl::StatusOr<int64_t> since =
      ParseTimeFlag("since", args.Has("since") ? args.Get("since") : "24h");
  if (!since.ok()) return CommandFailed(kExitUsage, since.status().message());
  const std::string target = args.Has("host") ? args.Get("host") : "*";
  absl::StatusOr<std::unique_ptr<ChainVerifier>> ca = OperatorCa(invocation);
  if (!ca.ok()) return CommandFailed(kExitUsage, ca.status().message());

  // Each host's journal, read through the controller and signed by it.
  const OperationInfo* op = FindOperation("journal");
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
  if (const int failed = RunOnHosts(
          invocation, target, call,
          [&](const std::vector<std::string>& selected) {
            hosts = selected;
            results.resize(selected.size());
          },
          [](size_t, const google::protobuf::Message&) {},
          [&](size_t i, AuditedResult& result) {
            absl::MutexLock lock(&mutex);
            results[i] = std::move(result);
          },
          &summary);
      failed != kExitOk)
    return failed;

  std::vector<Finding> findings;
  std::vector<std::string> host_json;
  int64_t matched = 0;
  int unread = 0;
  for (size_t i = 0; i < hosts.size(); ++i) {
    const std::string& host = hosts[i];
    absl::StatusOr<v1::JournalReply> journal =
        CheckedJournal(host, results[i], **ca);
    if (!journal.ok()) {
      ++unread;
      // The message may be the agent's own: shown escaped.
      PrintError(absl::StrCat(
          Shown(host), ": not compared: ", Shown(journal.status().message())));
      host_json.push_back(absl::StrCat(
          "{\"host\":", JsonString(host), ",\"compared\":false,\"error\":",
          JsonString(journal.status().message()), "}"));
      continue;
    }
    AuditFilter filter;
    filter.host = host;
    filter.since_ms = *since - kMarginMs;
    filter.limit = kMaxRowsPerHost;
    absl::StatusOr<std::vector<AuditRecord>> rows =
        QueryAuditLog(invocation, filter, /*without_results=*/true);
    if (!rows.ok())
      return CommandFailed(kExitAuditUnavailable, rows.status().message());
    std::vector<v1::JournalRecord> records(journal->records().begin(),
                                           journal->records().end());
    HostReconciliation reconciled =
        Reconcile(host, *since, *rows, records, results[i].request_id,
                  journal->agent_certificate_pem());
    matched += reconciled.matched;
    host_json.push_back(absl::StrCat(
        "{\"host\":", JsonString(host), ",\"compared\":true,\"agree\":",
        reconciled.matched, ",\"findings\":", reconciled.findings.size(),
        ",\"journal_truncated\":", journal->truncated() ? "true" : "false",
        "}"));
    if (journal->truncated()) {
      PrintError(absl::StrCat(Shown(host),
                              ": its journal holds more than was read; only "
                              "the newest records were compared"));
    }
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
    std::vector<std::string> items;
    for (const Finding& f : findings) {
      items.push_back(absl::StrCat(
          "{\"kind\":", JsonString(FindingName(f.kind)),
          ",\"host\":", JsonString(f.host), ",\"time\":", JsonString(f.time),
          ",\"request_id\":", JsonString(f.request_id), ",\"operation\":",
          JsonString(f.operation), ",\"detail\":", JsonString(f.detail), "}"));
    }
    std::printf("{\"hosts\":[%s],\"agree\":%lld,\"findings\":[%s]}\n",
                absl::StrJoin(host_json, ",").c_str(),
                static_cast<long long>(matched),
                absl::StrJoin(items, ",\n").c_str());
  } else if (!findings.empty()) {
    TextTable table(
        {"FINDING", "HOST", "TIME (UTC)", "OPERATION", "REQUEST", "DETAIL"},
        {5});
    for (const Finding& f : findings) {
      table.AddRow({std::string(FindingName(f.kind)), f.host, f.time,
                    f.operation, f.request_id, f.detail});
    }
    std::printf("%s", table.Render().c_str());
  }
  std::vector<std::string> tally;
  for (const auto& [kind, count] : counts)
    tally.push_back(absl::StrCat(count, " ", FindingName(kind)));
  std::fprintf(
      stderr,
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
