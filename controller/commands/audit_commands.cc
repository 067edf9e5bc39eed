// Audit log commands: audit.

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/host_text.h"
#include "common/json.h"
#include "controller/audit/audit_entry.h"
#include "controller/audit/audit_schema.h"
#include "controller/audit/checkpoint_file.h"
#include "controller/audit/sqlite_audit_store.h"
#include "controller/commands/audit_query.h"
#include "controller/commands/audit_reconcile.h"
#include "controller/commands/command.h"
#include "controller/commands/fleet.h"
#include "controller/exit_codes.h"
#include "controller/output/table.h"
#include "controller/output/timestamps.h"

namespace opsagent {
namespace {

// The table's INCIDENT/TICKET cell: "INC-3", "ticket CHG-7", both or none.
std::string IncidentAndTicket(const v1::AuditIntent& i) {
  if (i.ticket().empty()) return i.incident();
  const std::string ticket = absl::StrCat("ticket ", i.ticket());
  return i.incident().empty() ? ticket
                              : absl::StrCat(i.incident(), ", ", ticket);
}

// "LOG: REPORT" (TAMPERED: first when it does not verify), or with
// --output json {"log", "ok", "report"}. `log` names it: "audit log
// PATH", "audit log of the controller ADDRESS".
void PrintVerdict(Invocation& invocation, const std::string& log, bool ok,
                  const std::string& report) {
  if (invocation.output() == OutputFormat::kJson) {
    std::fprintf(
        invocation.out(), "%s\n",
        DumpJson({{"log", log}, {"ok", ok}, {"report", report}}).c_str());
    return;
  }
  std::fprintf(invocation.out(), "%s%s: %s\n",
               ok ? "" : "TAMPERED: ", log.c_str(), report.c_str());
}

int RunVerify(Invocation& invocation, const ParsedArgs& args) {
  VerifyOptions options;
  options.expect_head = args.Get("expect-head");
  if (args.Has("accept-unchained") &&
      !absl::SimpleAtoi(args.Get("accept-unchained"),
                        &options.accept_unchained)) {
    return CommandFailed(invocation, kExitUsage,
                         "--accept-unchained takes the number of rows from "
                         "before the chain");
  }
  if (args.Has("checkpoints")) {
    absl::StatusOr<std::vector<v1::AuditCheckpoint>> exported =
        ReadCheckpointFile(args.Get("checkpoints"));
    if (!exported.ok())
      return CommandFailed(invocation, kExitUsage, exported.status().message());
    options.exported = *std::move(exported);
    if (options.exported.empty()) {
      return CommandFailed(invocation, kExitUsage,
                           absl::StrCat(args.Get("checkpoints"),
                                        " holds no checkpoint: it proves "
                                        "nothing"));
    }
  }
  std::unique_ptr<CheckpointVerifier> key;
  if (args.Has("checkpoint-key")) {
    absl::StatusOr<std::unique_ptr<CheckpointVerifier>> loaded =
        CheckpointVerifier::FromFile(args.Get("checkpoint-key"));
    if (!loaded.ok())
      return CommandFailed(invocation, kExitUsage, loaded.status().message());
    key = *std::move(loaded);
    options.checkpoint_key = key.get();
    // opsctld signs at least every 300 s by default; a minute's slack.
    options.max_unsigned_age = absl::Minutes(6);
  }
  if (args.Has("max-unsigned-age") &&
      !absl::ParseDuration(args.Get("max-unsigned-age"),
                           &options.max_unsigned_age)) {
    return CommandFailed(invocation, kExitUsage,
                         "--max-unsigned-age takes a duration (6m, 1h; 0 "
                         "turns the check off)");
  }
  if (invocation.via_controller() && !args.Has("database")) {
    if (key != nullptr) {
      return CommandFailed(invocation, kExitUsage,
                           "--checkpoint-key is for a copy of the log "
                           "(--database FILE); the controller checks with its "
                           "own key");
    }
    absl::StatusOr<ControllerClient*> client = invocation.controller();
    if (!client.ok())
      return CommandFailed(invocation, kExitUsage, client.status().message());
    v1::VerifyAuditRequest request;
    request.set_expect_head(options.expect_head);
    request.set_accept_unchained(options.accept_unchained);
    for (const v1::AuditCheckpoint& copy : options.exported)
      *request.add_exported() = copy;
    absl::StatusOr<v1::VerifyAuditReply> reply = (*client)->Call(
        &ControllerStub::VerifyAudit, request, absl::Minutes(10));
    if (!reply.ok())
      return CommandFailed(
          invocation,
          ExitCodeForControllerError(reply.status(), kExitAuditUnavailable),
          reply.status().message());
    PrintVerdict(
        invocation,
        absl::StrCat("audit log of the controller ", (*client)->address()),
        reply->ok(), reply->report());
    return reply->ok() ? kExitOk : kExitOperationFailed;
  }
  std::string path;
  absl::StatusOr<std::string> verified;
  if (args.Has("database")) {
    // A copy kept as evidence is read, never written: nothing is created
    // for a mistyped path, and an older schema is upgraded only when asked.
    path = args.Get("database");
    absl::StatusOr<int64_t> version = ReadSchemaVersion(path);
    if (!version.ok())
      return CommandFailed(invocation, kExitUsage, version.status().message());
    if (*version != kAuditSchemaVersion && !args.Has("upgrade")) {
      return CommandFailed(
          invocation, kExitUsage,
          absl::StrCat(path, " has schema version ", *version,
                       " and this opsctl verifies version ",
                       kAuditSchemaVersion,
                       ": give --upgrade to upgrade it in place first (it is "
                       "changed: verify a copy, keep the original)"));
    }
    if (*version != kAuditSchemaVersion) {
      absl::StatusOr<std::unique_ptr<AuditStore>> upgraded =
          AuditStore::Open(path);
      if (!upgraded.ok())
        return CommandFailed(invocation, kExitAuditUnavailable,
                             upgraded.status().message());
    }
    verified = VerifyAuditLog(path, options);
  } else {
    absl::StatusOr<AuditStore*> own = invocation.audit();
    if (!own.ok())
      return CommandFailed(invocation, kExitAuditUnavailable,
                           own.status().message());
    path = (*own)->path();
    verified = (*own)->Verify(options);
  }
  if (absl::IsFailedPrecondition(verified.status()))
    return CommandFailed(invocation, kExitUsage, verified.status().message());
  PrintVerdict(
      invocation, absl::StrCat("audit log ", path), verified.ok(),
      verified.ok() ? *verified : std::string(verified.status().message()));
  return verified.ok() ? kExitOk : kExitOperationFailed;
}

// One export line: a checkpoint, or a chain event with its row.
std::string ExportLine(const v1::ExportAuditItem& item) {
  nlohmann::ordered_json line = {{"cursor", item.cursor()}};
  if (item.has_checkpoint()) {
    line["checkpoint"] = EmbeddedJson(CheckpointJson(item.checkpoint()));
  } else {
    line["seq"] = item.seq();
    line["event"] = item.event();
    line["hash"] = item.hash();
    line["record"] = AuditRowJson(item.entry());
  }
  return DumpJson(line);
}

int RunExport(Invocation& invocation, const ParsedArgs& args) {
  absl::StatusOr<AuditCursor> cursor = AuditCursor::Parse(args.Get("after"));
  if (!cursor.ok())
    return CommandFailed(invocation, kExitUsage, cursor.status().message());
  int64_t remaining = -1;
  if (args.Has("limit") &&
      (!absl::SimpleAtoi(args.Get("limit"), &remaining) || remaining <= 0)) {
    return CommandFailed(invocation, kExitUsage,
                         "--limit takes a positive number");
  }
  const bool follow = args.Has("follow");
  constexpr int kPage = 1000;
  for (;;) {
    const int page =
        remaining < 0 ? kPage
                      : static_cast<int>(std::min<int64_t>(remaining, kPage));
    absl::StatusOr<std::vector<v1::ExportAuditItem>> items =
        FleetOf(invocation)->ExportAudit(*cursor, page);
    if (!items.ok()) {
      return CommandFailed(
          invocation,
          ExitCodeForControllerError(items.status(), kExitAuditUnavailable),
          items.status().message());
    }
    for (const v1::ExportAuditItem& item : *items) {
      std::fprintf(invocation.out(), "%s\n", ExportLine(item).c_str());
      *cursor = *AuditCursor::Parse(item.cursor());  // checked as received
    }
    // A reader that went away (a closed pipe) ends the export.
    if (std::fflush(invocation.out()) != 0) return kExitOk;
    if (remaining > 0) remaining -= static_cast<int64_t>(items->size());
    if (remaining == 0) return kExitOk;
    if (static_cast<int>(items->size()) < page) {
      if (!follow) return kExitOk;
      absl::SleepFor(absl::Seconds(2));
    }
  }
}

int RunAudit(Invocation& invocation, const ParsedArgs& args) {
  if (!args.positional().empty()) {
    if (args.positional()[0] == "verify") return RunVerify(invocation, args);
    if (args.positional()[0] == "export") return RunExport(invocation, args);
    if (args.positional()[0] == "reconcile")
      return RunAuditReconcile(invocation, args);
    return CommandFailed(invocation, kExitUsage,
                         "audit takes no argument but \"verify\", "
                         "\"export\" or \"reconcile\"");
  }
  v1::AuditQuery filter;
  for (auto [flag, set] :
       {std::pair{"since", &v1::AuditQuery::set_since_unix_ms},
        {"until", &v1::AuditQuery::set_until_unix_ms}}) {
    if (!args.Has(flag)) continue;
    absl::StatusOr<int64_t> ms = ParseTimeFlag(flag, args.Get(flag));
    if (!ms.ok()) {
      return CommandFailed(invocation, kExitUsage, ms.status().message());
    }
    (filter.*set)(*ms);
  }
  filter.set_host(args.Get("host"));
  filter.set_operator_name(args.Get("operator"));
  filter.set_operation(args.Get("operation"));
  filter.set_incident(args.Get("incident"));
  filter.set_ticket(args.Get("ticket"));
  filter.set_run_id(args.Get("run"));
  if (args.Has("outcome")) {
    std::optional<v1::Outcome> outcome = ParseOutcome(args.Get("outcome"));
    if (outcome.has_value()) filter.set_outcome(*outcome);
    if (!outcome.has_value()) {
      std::fprintf(invocation.err(),
                   "opsctl: --outcome: use ok, error, denied, unreachable, "
                   "unknown or pending\n");
      return kExitUsage;
    }
  }
  if (args.Has("limit")) {
    uint32_t limit = 0;
    if (!absl::SimpleAtoi(args.Get("limit"), &limit) || limit == 0)
      return CommandFailed(invocation, kExitUsage,
                           "--limit takes a positive number");
    filter.set_limit(limit);
  }
  absl::StatusOr<std::vector<v1::AuditEntry>> records =
      FleetOf(invocation)->QueryAudit(filter, /*without_results=*/false);
  if (!records.ok()) {
    return CommandFailed(
        invocation,
        ExitCodeForControllerError(records.status(), kExitAuditUnavailable),
        records.status().message());
  }
  if (invocation.output() == OutputFormat::kJson) {
    std::vector<std::string> rows;
    for (const v1::AuditEntry& r : *records)
      rows.push_back(DumpJson(AuditRowJson(r)));
    std::fprintf(invocation.out(), "[%s]\n",
                 absl::StrJoin(rows, ",\n").c_str());
    return kExitOk;
  }
  if (invocation.output() == OutputFormat::kCsv) {
    std::fprintf(
        invocation.out(),
        "id,started_at,outcome,os_user,os_uid,sudo_user_claimed,cert_identity,"
        "host,operation,parameters,"
        "incident,reason,"
        "duration_ms,error_code,message,summary,request_id,run_id,ticket\n");
    for (const v1::AuditEntry& r : *records) {
      const v1::AuditIntent& i = r.intent();
      std::vector<std::string> fields = {
          absl::StrCat(r.id()),
          Rfc3339Millis(i.started_at_ms()),
          std::string(OutcomeName(r.outcome())),
          i.os_user(),
          i.has_os_uid() ? absl::StrCat(i.os_uid()) : "",
          i.sudo_user(),
          i.cert_identity(),
          i.host(),
          i.operation(),
          i.parameters_json(),
          i.incident(),
          i.reason(),
          r.has_result()
              ? absl::StrCat(r.result().finished_at_ms() - i.started_at_ms())
              : "",
          r.has_result() ? r.result().error_code() : "",
          r.has_result() ? r.result().message() : "",
          r.has_result() ? r.result().summary() : "",
          i.request_id(),
          i.run_id(),
          i.ticket()};
      for (std::string& field : fields) field = CsvField(field);
      std::fprintf(invocation.out(), "%s\n",
                   absl::StrJoin(fields, ",").c_str());
    }
    return kExitOk;
  }
  TextTable table({"TIME (UTC)", "OUTCOME", "OPERATOR", "HOST", "OPERATION",
                   "MS", "INCIDENT/TICKET", "DETAIL"},
                  {5});
  for (const v1::AuditEntry& r : *records) {
    std::string detail =
        r.has_result() ? (r.result().message().empty() ? r.result().summary()
                                                       : r.result().message())
                       : "";
    std::replace(detail.begin(), detail.end(), '\n', ' ');
    table.AddRow({Rfc3339Millis(r.intent().started_at_ms()),
                  std::string(OutcomeName(r.outcome())),
                  OperatorLabel(r.intent()), r.intent().host(),
                  r.intent().operation(),
                  r.has_result() ? absl::StrCat(r.result().finished_at_ms() -
                                                r.intent().started_at_ms())
                                 : "-",
                  IncidentAndTicket(r.intent()), detail});
  }
  std::fprintf(invocation.out(), "%s", table.Render().c_str());
  return kExitOk;
}

}  // namespace

namespace {

std::vector<Command> AuditCommands() {
  return {
      {"audit",
       "[verify|export]",
       "query the audit log: who did what, where, when, and how it went",
       "Every action is recorded before it is sent (outcome "
       "\"pending\")\n"
       "and completed after (ok, error, denied, unreachable, unknown). A "
       "row left\n"
       "pending means opsctl died before learning the outcome.\n\n"
       "Examples:\n"
       "  opsctl audit --since 24h --host xqwatcher-1\n"
       "  opsctl audit --incident INC-42 --output csv > inc-42.csv\n"
       "  opsctl audit --outcome denied --output json\n"
       "  opsctl audit verify      # check the hash chain: edited, deleted "
       "or reordered rows\n"
       "  opsctl audit verify --expect-head HASH   # and that the head "
       "printed\n"
       "                           # earlier (kept elsewhere) is still "
       "there\n"
       "  opsctl audit verify --checkpoints siem-copy.jsonl  # and that the "
       "log holds\n"
       "                           # every checkpoint exported (an older "
       "copy does not)\n"
       "  opsctl audit verify --database copy.db --checkpoint-key "
       "checkpoint.pub\n"
       "                           # a copy of the log, offline, with "
       "opsctld's public key\n"
       "  opsctl audit export --after 1234.5 --follow  # JSON lines for a "
       "SIEM; each line's\n"
       "                           # \"cursor\" is where to resume\n"
       "  opsctl audit reconcile --since 24h [--host TARGET]\n"
       "                           # the team log against every agent's own "
       "journal,\n"
       "                           # read through the controller, signed by "
       "each host\n\n"
       "reconcile reports, call by call (exit 7 for any but unlogged_read):\n"
       "  unlogged_change   the agent changed the host on a --direct call; no "
       "row\n"
       "  missing_row       the controller relayed a call the agent ran; its "
       "row is gone\n"
       "  unlogged_refusal  the agent refused a relayed call the log does not "
       "know\n"
       "                    (forged or replayed by the controller)\n"
       "  not_run           the log says it reached the agent; the agent has "
       "no record\n"
       "  outcome_differs   the outcomes disagree (or the log says unknown and "
       "the\n"
       "                    agent knows how it ended)\n"
       "  request_differs   who asked, why, or with what parameters differs "
       "from what\n"
       "                    the agent received\n"
       "  result_differs    the answer the log recorded is not the one the "
       "agent signed\n"
       "  unlogged_read     a --direct read the log has no row for (listed "
       "only)\n\n"
       "The controller signs the chain's head every N events or M minutes "
       "(audit\n"
       "checkpoints, Ed25519, a key kept apart from the database) and "
       "exports each\n"
       "checkpoint; verify checks the signatures, that no checkpoint is "
       "missing, and\n"
       "that no signed event was rewritten or cut off the end.\n\n"
       "With a controller configured this is the team's log, kept by the "
       "controller;\n"
       "with --direct (or none configured) it is this operator's local "
       "one.\n\n"
       "OPERATOR shows the real OS user and the certificate identity; "
       "SUDO_USER,\n"
       "which any caller can set, is shown as a claim.\n\n"
       "The global --incident ID filters by incident here, and --ticket REF "
       "by\nticket (an outside reference: a change, a drill).\n",
       {{"since", "WHEN",
         "only actions at or after WHEN (24h, 7d, 2026-11-25T14:00)"},
        {"until", "WHEN", "only actions before WHEN"},
        {"host", "HOST", "only actions on HOST"},
        {"operator", "NAME",
         "only actions by NAME (OS user or certificate identity)"},
        {"operation", "OP",
         "only this operation (memory, filesystems, disk_usage, info)"},
        {"outcome", "OUTCOME",
         "ok, error, denied, unreachable, unknown or pending"},
        {"run", "ID", "only actions of one runbook run or fan-out"},
        {"limit", "N",
         "at most the newest N rows (default 100); export: at most N "
         "lines"},
        {"expect-head", "HASH",
         "verify: a head printed by an earlier verify must still be in "
         "the chain"},
        {"accept-unchained", "N",
         "verify: accept N rows from before the chain (a log upgraded "
         "from schema 1)"},
        {"checkpoints", "FILE",
         "verify: checkpoints kept outside the log (opsctld's export "
         "file, or `audit export` output); the log must hold each"},
        {"checkpoint-key", "FILE",
         "verify --database: opsctld's checkpoint public key (PEM)"},
        {"max-unsigned-age", "DURATION",
         "verify --database: the oldest event no checkpoint covers may be "
         "this old (default 6m: opsctld's every_seconds and a minute)"},
        {"upgrade", "",
         "verify: upgrade a --database copy of an older schema in place "
         "first"},
        {"database", "FILE",
         "verify: a copy of an audit log instead of the controller's"},
        {"after", "CURSOR",
         "export: start after this cursor (SEQ.CHECKPOINT, from the last "
         "line read); default the start"},
        {"follow", "",
         "export: keep waiting for new events (every 2 s) until "
         "interrupted"}},
       0,
       1,
       RunAudit,
       {OutputFormat::kTable, OutputFormat::kJson, OutputFormat::kCsv}}};
}

}  // namespace

OPSCTL_COMMANDS(kAudit, AuditCommands);

}  // namespace opsagent
