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

absl::StatusOr<std::vector<v1::AuditEntry>> QueryAuditRows(
    sqlite3* db, const v1::AuditQuery& filter) {
  std::string where = "1=1";
  if (filter.since_unix_ms() != 0)
    absl::StrAppend(&where, " AND started_at_ms >= ?1");
  if (filter.until_unix_ms() != 0)
    absl::StrAppend(&where, " AND started_at_ms < ?2");
  if (!filter.host().empty()) absl::StrAppend(&where, " AND host = ?3");
  if (!filter.operator_name().empty())
    absl::StrAppend(&where,
                    " AND (os_user = ?4 OR cert_identity = ?4 OR "
                    "sudo_user = ?4)");
  if (!filter.operation().empty())
    absl::StrAppend(&where, " AND operation = ?5");
  if (filter.has_outcome()) absl::StrAppend(&where, " AND outcome = ?6");
  // The literal != '' lets SQLite use the partial indexes on incident and
  // run id (it cannot prove it of a bound parameter): a lookup instead of a
  // scan of the whole log.
  if (!filter.incident().empty())
    absl::StrAppend(&where, " AND incident = ?7 AND incident != ''");
  if (!filter.run_id().empty())
    absl::StrAppend(&where, " AND run_id = ?8 AND run_id != ''");
  if (!filter.ticket().empty())
    absl::StrAppend(&where, " AND ticket = ?11 AND ticket != ''");
  if (filter.id() != 0) absl::StrAppend(&where, " AND id = ?10");
  Statement select(
      db, absl::StrCat("SELECT * FROM (SELECT ", kRecordColumns,
                       " FROM actions a WHERE ", where,
                       " ORDER BY started_at_ms DESC, id DESC LIMIT ?9) "
                       "ORDER BY started_at_ms, id"));
  if (!select.status().ok()) return select.status();
  if (filter.since_unix_ms() != 0) select.Bind(1, filter.since_unix_ms());
  if (filter.until_unix_ms() != 0) select.Bind(2, filter.until_unix_ms());
  select.Bind(3, filter.host());
  select.Bind(4, filter.operator_name());
  select.Bind(5, filter.operation());
  if (filter.has_outcome())
    select.Bind(6, std::string(OutcomeName(filter.outcome())));
  select.Bind(7, filter.incident());
  select.Bind(8, filter.run_id());
  select.Bind(9, int64_t{filter.limit() == 0 ? 100 : filter.limit()});
  if (filter.id() != 0) select.Bind(10, filter.id());
  select.Bind(11, filter.ticket());

  std::vector<v1::AuditEntry> records;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW)
    records.push_back(ReadRecord(select, 0));
  if (rc != SQLITE_DONE) return select.Error("querying");
  return records;
}

absl::StatusOr<std::vector<v1::ExportAuditItem>> ExportAuditEvents(
    sqlite3* db, const AuditCursor& after, int limit) {
  Statement select(db, ChainEventQuery());
  if (!select.status().ok()) return select.status();
  select.Bind(1, after.seq);
  select.Bind(2, int64_t{limit});
  std::vector<ChainEvent> events;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW)
    events.push_back(ReadEvent(select, /*whole_rows=*/true));
  if (rc != SQLITE_DONE) return select.Error("reading the chain");
  absl::StatusOr<std::vector<v1::AuditCheckpoint>> checkpoints =
      ReadCheckpoints(db, after.checkpoint);
  if (!checkpoints.ok()) return checkpoints.status();
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
  for (const v1::AuditCheckpoint& checkpoint : *checkpoints) {
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

absl::StatusOr<CheckpointState> ReadCheckpointState(sqlite3* db) {
  CheckpointState state;
  Statement last(db, absl::StrCat("SELECT ", kCheckpointColumns,
                                  " FROM audit_checkpoints ORDER BY number "
                                  "DESC LIMIT 1"));
  if (!last.status().ok()) return last.status();
  int rc = last.Step();
  if (rc == SQLITE_ROW) state.last = ReadCheckpoint(last);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return last.Error("reading the checkpoints");
  Statement count(db, "SELECT count(*) FROM audit_chain WHERE seq > ?1");
  if (!count.status().ok()) return count.status();
  count.Bind(1, state.last ? state.last->last_seq() : 0);
  if (count.Step() != SQLITE_ROW) return count.Error("reading the chain");
  state.unsigned_events = count.Int(0);
  return state;
}

}  // namespace opsagent
