#include "controller/audit/audit_entry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/proto_utf8.h"

namespace opsagent {

v1::AuditEntry ToAuditEntry(const AuditRecord& record) {
  v1::AuditEntry entry;
  const AuditIntent& i = record.intent;
  entry.set_id(record.id);
  entry.set_request_id(i.request_id);
  entry.set_run_id(i.run_id);
  entry.set_started_at_ms(i.started_at_ms);
  entry.set_os_user(i.os_user);
  entry.set_os_uid(i.os_uid);
  entry.set_sudo_user(i.sudo_user);
  entry.set_cert_identity(i.cert_identity);
  entry.set_host(i.host);
  entry.set_address(i.address);
  entry.set_operation(i.operation);
  entry.set_parameters_json(i.parameters_json);
  entry.set_reason(i.reason);
  entry.set_incident(i.incident);
  entry.set_ticket(i.ticket);
  entry.set_dry_run(i.dry_run);
  entry.set_mutating(i.mutating);
  entry.set_outcome(record.outcome);
  if (record.result.has_value()) {
    const AuditResult& r = *record.result;
    entry.set_finished(true);
    entry.set_finished_at_ms(r.finished_at_ms);
    entry.set_error_code(r.error_code);
    entry.set_message(r.message);
    entry.set_summary(r.summary);
    entry.set_result_json(r.result_json);
    entry.set_agent_result_sha256(r.agent_result_sha256);
    entry.set_agent_signature(r.agent_signature);
  }
  // A row someone edited may hold bytes Protobuf will not carry.
  ReplaceInvalidUtf8(&entry);
  return entry;
}

absl::StatusOr<AuditRecord> FromAuditEntry(const v1::AuditEntry& entry) {
  AuditRecord record;
  if (!v1::Outcome_IsValid(entry.outcome())) {
    return absl::DataLossError(absl::StrCat("audit row ", entry.id(),
                                            " has an unknown outcome (",
                                            entry.outcome(), ")"));
  }
  record.id = entry.id();
  record.outcome = entry.outcome();
  AuditIntent& i = record.intent;
  i.request_id = entry.request_id();
  i.run_id = entry.run_id();
  i.started_at_ms = entry.started_at_ms();
  i.os_user = entry.os_user();
  i.os_uid = entry.os_uid();
  i.sudo_user = entry.sudo_user();
  i.cert_identity = entry.cert_identity();
  i.host = entry.host();
  i.address = entry.address();
  i.operation = entry.operation();
  i.parameters_json = entry.parameters_json();
  i.reason = entry.reason();
  i.incident = entry.incident();
  i.ticket = entry.ticket();
  i.dry_run = entry.dry_run();
  i.mutating = entry.mutating();
  if (entry.finished()) {
    AuditResult r;
    r.outcome = entry.outcome();
    r.finished_at_ms = entry.finished_at_ms();
    r.error_code = entry.error_code();
    r.message = entry.message();
    r.summary = entry.summary();
    r.result_json = entry.result_json();
    r.agent_result_sha256 = entry.agent_result_sha256();
    r.agent_signature = entry.agent_signature();
    record.result = std::move(r);
  }
  return record;
}

v1::AuditQuery ToAuditQuery(const AuditFilter& filter) {
  v1::AuditQuery query;
  if (filter.since_ms) query.set_since_unix_ms(*filter.since_ms);
  if (filter.until_ms) query.set_until_unix_ms(*filter.until_ms);
  query.set_host(filter.host);
  query.set_operator_name(filter.operator_name);
  query.set_operation(filter.operation);
  if (filter.outcome) query.set_outcome(*filter.outcome);
  query.set_incident(filter.incident);
  query.set_ticket(filter.ticket);
  query.set_run_id(filter.run_id);
  if (filter.id) query.set_id(*filter.id);
  query.set_limit(filter.limit);
  return query;
}

absl::StatusOr<AuditFilter> FromAuditQuery(const v1::AuditQuery& query) {
  AuditFilter filter;
  if (query.since_unix_ms() != 0) filter.since_ms = query.since_unix_ms();
  if (query.until_unix_ms() != 0) filter.until_ms = query.until_unix_ms();
  filter.host = query.host();
  filter.operator_name = query.operator_name();
  filter.operation = query.operation();
  if (query.has_outcome()) {
    if (!v1::Outcome_IsValid(query.outcome()))
      return absl::InvalidArgumentError(
          absl::StrCat("unknown outcome (", query.outcome(), ")"));
    filter.outcome = query.outcome();
  }
  filter.incident = query.incident();
  filter.ticket = query.ticket();
  filter.run_id = query.run_id();
  if (query.id() != 0) filter.id = query.id();
  // A reply stays a reply, not a dump of the whole log.
  filter.limit =
      query.limit() == 0
          ? 100
          : static_cast<int>(std::min<uint32_t>(query.limit(), 100000));
  return filter;
}

v1::AuditCheckpoint ToProto(const AuditCheckpoint& c) {
  v1::AuditCheckpoint proto;
  proto.set_number(c.number);
  proto.set_first_seq(c.first_seq);
  proto.set_last_seq(c.last_seq);
  proto.set_head_hash(c.head_hash);
  proto.set_previous_signature(c.previous_signature);
  proto.set_signed_at_ms(c.signed_at_ms);
  proto.set_key_id(c.key_id);
  proto.set_signature(c.signature);
  return proto;
}

AuditCheckpoint FromProto(const v1::AuditCheckpoint& p) {
  return {p.number(),    p.first_seq(),          p.last_seq(),
          p.head_hash(), p.previous_signature(), p.signed_at_ms(),
          p.key_id(),    p.signature()};
}

v1::ExportAuditItem ToExportItem(const AuditExportItem& item) {
  v1::ExportAuditItem proto;
  proto.set_cursor(item.cursor.ToString());
  if (item.checkpoint) {
    *proto.mutable_checkpoint() = ToProto(*item.checkpoint);
    return proto;
  }
  proto.set_seq(item.seq);
  proto.set_event(item.event);
  proto.set_hash(item.hash);
  *proto.mutable_entry() = ToAuditEntry(item.record);
  return proto;
}

absl::StatusOr<AuditExportItem> FromExportItem(
    const v1::ExportAuditItem& proto) {
  absl::StatusOr<AuditCursor> cursor = AuditCursor::Parse(proto.cursor());
  if (!cursor.ok()) return cursor.status();
  AuditExportItem item;
  item.cursor = *cursor;
  if (proto.has_checkpoint()) {
    item.checkpoint = FromProto(proto.checkpoint());
    return item;
  }
  absl::StatusOr<AuditRecord> record = FromAuditEntry(proto.entry());
  if (!record.ok()) return record.status();
  item.seq = proto.seq();
  item.event = proto.event();
  item.hash = proto.hash();
  item.record = *std::move(record);
  return item;
}

}  // namespace opsagent
