#include "controller/audit/audit_reader.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "controller/audit/audit_rows.h"

namespace opsagent {

std::string AuditCursor::ToString() const {
  return absl::StrCat(seq, ".", checkpoint);
}

absl::StatusOr<AuditCursor> AuditCursor::Parse(absl::string_view text) {
  AuditCursor cursor;
  if (text.empty()) return cursor;
  const size_t dot = text.find('.');
  if (dot == absl::string_view::npos ||
      !absl::SimpleAtoi(text.substr(0, dot), &cursor.seq) ||
      !absl::SimpleAtoi(text.substr(dot + 1), &cursor.checkpoint) ||
      cursor.seq < 0 || cursor.checkpoint < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text,
        "\" is not an export cursor (SEQ.CHECKPOINT, as the last line "
        "exported gave it)"));
  }
  return cursor;
}

AuditQuerySql BuildAuditQuery(const v1::AuditQuery& filter, char placeholder,
                              bool shared) {
  AuditQuerySql query;
  // The next parameter's placeholder, for `value`.
  const auto param = [&](std::variant<int64_t, std::string> value) {
    query.params.push_back(std::move(value));
    return absl::StrCat(std::string(1, placeholder), query.params.size());
  };
  std::string where = "1=1";
  if (filter.since_unix_ms() != 0)
    absl::StrAppend(&where,
                    " AND started_at_ms >= ", param(filter.since_unix_ms()));
  if (filter.until_unix_ms() != 0)
    absl::StrAppend(&where, " AND started_at_ms < ",
                    param(filter.until_unix_ms()));
  if (!filter.host().empty())
    absl::StrAppend(&where, " AND host = ", param(filter.host()));
  if (!filter.operator_name().empty()) {
    const std::string name = param(filter.operator_name());
    absl::StrAppend(&where, " AND (os_user = ", name,
                    " OR cert_identity = ", name, " OR sudo_user = ", name,
                    ")");
  }
  if (!filter.operation().empty())
    absl::StrAppend(&where, " AND operation = ", param(filter.operation()));
  if (filter.has_outcome())
    absl::StrAppend(&where, " AND outcome = ",
                    param(std::string(OutcomeName(filter.outcome()))));
  // The literal != '' lets SQLite use the partial indexes on incident and
  // run id (it cannot prove it of a bound parameter): a lookup instead of a
  // scan of the whole log. PostgreSQL's planner reads it alike.
  if (!filter.incident().empty())
    absl::StrAppend(&where, " AND incident = ", param(filter.incident()),
                    " AND incident != ''");
  if (!filter.run_id().empty())
    absl::StrAppend(&where, " AND run_id = ", param(filter.run_id()),
                    " AND run_id != ''");
  if (!filter.ticket().empty())
    absl::StrAppend(&where, " AND ticket = ", param(filter.ticket()),
                    " AND ticket != ''");
  if (filter.id() != 0)
    absl::StrAppend(&where, " AND id = ", param(filter.id()));
  const std::string limit =
      param(int64_t{filter.limit() == 0 ? 100 : filter.limit()});
  query.sql = absl::StrCat("SELECT * FROM (SELECT ",
                           shared ? kSharedRecordColumns : kRecordColumns,
                           " FROM actions a WHERE ", where,
                           " ORDER BY started_at_ms DESC, id DESC LIMIT ",
                           limit, ") AS newest ORDER BY started_at_ms, id");
  return query;
}

std::vector<v1::ExportAuditItem> MergeExport(
    const std::vector<ChainEvent>& events,
    const std::vector<v1::AuditCheckpoint>& checkpoints,
    const AuditCursor& after, int limit) {
  // A checkpoint follows the event it signs; one that signs an event not
  // read yet waits for the next call.
  const bool all_events = static_cast<int>(events.size()) < limit;
  const int64_t read_to = events.empty() ? after.seq : events.back().seq;
  std::vector<v1::ExportAuditItem> items;
  AuditCursor cursor = after;
  size_t next_event = 0;
  // Emits the events up to `seq`.
  auto emit_events = [&](int64_t seq) {
    for (; next_event < events.size() && events[next_event].seq <= seq;
         ++next_event) {
      const ChainEvent& event = events[next_event];
      cursor.seq = event.seq;
      v1::ExportAuditItem item;
      item.set_cursor(cursor.ToString());
      item.set_seq(event.seq);
      item.set_event(event.event);
      item.set_hash(event.hash);
      if (event.record.has_value()) *item.mutable_entry() = *event.record;
      if (event.event == "intent") {  // as the intent recorded it
        item.mutable_entry()->clear_result();
        item.mutable_entry()->set_outcome(v1::OUTCOME_PENDING);
      }
      items.push_back(std::move(item));
    }
  };
  for (const v1::AuditCheckpoint& checkpoint : checkpoints) {
    if (checkpoint.last_seq() > read_to && !all_events) break;
    emit_events(checkpoint.last_seq());
    cursor.checkpoint = checkpoint.number();
    v1::ExportAuditItem item;
    item.set_cursor(cursor.ToString());
    *item.mutable_checkpoint() = checkpoint;
    items.push_back(std::move(item));
  }
  emit_events(read_to);
  if (static_cast<int>(items.size()) > limit && limit >= 0) items.resize(limit);
  return items;
}

}  // namespace opsagent
