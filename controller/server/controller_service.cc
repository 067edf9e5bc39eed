#include "controller/server/controller_service.h"

#include <algorithm>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/connection_guard.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/operation_catalog.h"
#include "common/proto_utf8.h"
#include "common/request_meta.h"
#include "common/unknown_fields.h"
#include "controller/audit/audit_entry.h"
#include "controller/auditing_caller.h"
#include "controller/runbook/guided_step_record.h"
#include "controller/runbook/runbook_library.h"
#include "controller/server/incident_page_link.h"
#include "controller/server/incident_response.h"
#include "controller/server/live_inventory.h"
#include "controller/server/operator_claims.h"
#include "controller/server/relay_run.h"
#include "controller/server/rpc_permission.h"
#include "controller/server/run_incident.h"
#include "controller/server/run_reactor.h"
#include "controller/target_set.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// Export pages: what one call returns unless asked, and at most.
constexpr int kDefaultExportItems = 1000;
constexpr uint32_t kMaxExportItems = 10000;
// Reads of the whole audit log (AnswerDetached) running at once, per
// identity and in all: each may hold up to 100,000 rows in memory (about
// 450 MB for rows of 1 KiB), and a controller killed for its memory serves
// nobody, while a refused read is tried again.
constexpr int kWholeLogReadsPerIdentity = 2;
constexpr int kWholeLogReadsAtOnce = 4;
// Replies stay well under what opsctl takes (64 MiB).
constexpr size_t kMaxReplyBytes = 8 << 20;

}  // namespace

ControllerService::ControllerService(
    const v1::OpsctldConfig& config, AgentRegistry* registry,
    Inventory inventory, AuditStore* audit, AuditStore* audit_reader,
    const AuditCheckpointer* checkpoints, const IncidentServices& incidents,
    RelayMetrics* metrics, WriteBudget* budget, RunbookReader runbooks,
    HostEnrollment* enrollment)
    : config_(config),
      registry_(registry),
      inventory_(std::move(inventory)),
      audit_(audit),
      audit_reader_(audit_reader),
      checkpoints_(checkpoints),
      incidents_(incidents),
      metrics_(metrics),
      budget_(budget),
      runbooks_(std::move(runbooks)),
      enrollment_(enrollment),
      access_(std::vector<v1::ControllerAccessRule>(config.access().begin(),
                                                    config.access().end())) {}

ControllerService::~ControllerService() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](int* running) { return *running == 0; }, &detached_));
}

void ControllerService::Detach(std::function<void()> work) {
  {
    absl::MutexLock lock(&mutex_);
    ++detached_;
  }
  std::thread([this, work = std::move(work)] {
    work();
    absl::MutexLock lock(&mutex_);
    --detached_;
  }).detach();
}

absl::StatusOr<PeerIdentity> ControllerService::Authorize(
    const grpc::CallbackServerContext& context, absl::string_view permission) {
  absl::StatusOr<PeerIdentity> caller =
      identities_.Read(*context.auth_context());
  if (!caller.ok()) {
    spdlog::warn("refused a {} call from {}: {}", permission, context.peer(),
                 caller.status().message());
    return caller.status();
  }
  VouchForPeer(context.peer());  // it showed a certificate of ours
  if (absl::Status allowed = access_.Check(*caller, permission);
      !allowed.ok()) {
    spdlog::warn("refused: {}", allowed.message());
    return allowed;
  }
  return caller;
}

absl::StatusOr<PeerIdentity> ControllerService::Authorize(
    const grpc::CallbackServerContext& context, absl::string_view rpc,
    const google::protobuf::Message& request) {
  absl::StatusOr<PeerIdentity> caller =
      Authorize(context, DeclaredPermission(rpc));
  if (!caller.ok()) return caller;
  if (absl::Status known = RefuseUnknownFields(request, "this opsctld");
      !known.ok())
    return known;
  return caller;
}

grpc::ServerUnaryReactor* ControllerService::Answer(
    grpc::CallbackServerContext* context, absl::string_view rpc,
    const google::protobuf::Message& request,
    const std::function<absl::Status(const PeerIdentity&)>& answer) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<PeerIdentity> caller = Authorize(*context, rpc, request);
  reactor->Finish(
      ToGrpcStatus(caller.ok() ? answer(*caller) : caller.status()));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::AnswerDetached(
    grpc::CallbackServerContext* context, absl::string_view rpc,
    const google::protobuf::Message& request,
    const std::function<absl::StatusOr<Work>(const PeerIdentity&)>& prepare) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<PeerIdentity> caller = Authorize(*context, rpc, request);
  absl::StatusOr<Work> work =
      caller.ok() ? prepare(*caller) : absl::StatusOr<Work>(caller.status());
  if (!work.ok()) {
    reactor->Finish(ToGrpcStatus(work.status()));
    return reactor;
  }
  // A few such reads at once per identity, so that one reader in a loop
  // takes neither the controller's memory nor the other readers' turn, and
  // a few in all, so that many certificates cannot either.
  {
    absl::MutexLock lock(&mutex_);
    int& reading = whole_log_reads_[caller->name];
    if (reading >= kWholeLogReadsPerIdentity ||
        whole_log_reads_running_ >= kWholeLogReadsAtOnce) {
      const std::string who =
          reading >= kWholeLogReadsPerIdentity
              ? absl::StrCat(caller->name, " already has ", reading)
              : absl::StrCat("the controller already has ",
                             whole_log_reads_running_);
      if (reading == 0) whole_log_reads_.erase(caller->name);
      reactor->Finish(ToGrpcStatus(absl::ResourceExhaustedError(
          absl::StrCat(who,
                       " reads of the audit log running; try again when one is "
                       "done"))));
      return reactor;
    }
    ++reading;
    ++whole_log_reads_running_;
  }
  Detach([this, reactor, name = caller->name, work = *std::move(work)] {
    reactor->Finish(ToGrpcStatus(work()));
    absl::MutexLock lock(&mutex_);
    --whole_log_reads_running_;
    if (--whole_log_reads_[name] == 0) whole_log_reads_.erase(name);
  });
  return reactor;
}

grpc::ServerWriteReactor<v1::RunEvent>* ControllerService::Run(
    grpc::CallbackServerContext* context, const v1::RunRequest* request) {
  RunServing serving;
  serving.config = &config_;
  serving.registry = registry_;
  serving.inventory = &inventory_;
  serving.audit = audit_;
  serving.metrics = metrics_;
  serving.budget = budget_;
  serving.incidents = incidents_.store;
  serving.detach = [this](std::function<void()> work) {
    Detach(std::move(work));
  };
  return StartRun(serving, Authorize(*context, "Run", *request), context,
                  request);
}

grpc::ServerUnaryReactor* ControllerService::SelectHosts(
    grpc::CallbackServerContext* context, const v1::SelectHostsRequest* request,
    v1::SelectHostsReply* reply) {
  return Answer(
      context, __func__, *request, [&](const PeerIdentity&) -> absl::Status {
        absl::StatusOr<std::vector<v1::Host>> hosts = opsagent::SelectHosts(
            LiveInventory(*registry_, inventory_), request->target());
        if (!hosts.ok()) return hosts.status();
        for (const v1::Host& host : *hosts) reply->add_hosts(host.name());
        reply->set_max_concurrency(config_.max_concurrency());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ControllerService::ListHosts(
    grpc::CallbackServerContext* context, const v1::ListHostsRequest* request,
    v1::ListHostsReply* reply) {
  return Answer(context, __func__, *request,
                [&](const PeerIdentity&) -> absl::Status {
                  *reply = ListHostStates(*registry_, inventory_);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* ControllerService::QueryAudit(
    grpc::CallbackServerContext* context, const v1::AuditQuery* request,
    v1::AuditQueryReply* reply) {
  return AnswerDetached(
      context, __func__, *request,
      [&](const PeerIdentity&) -> absl::StatusOr<Work> {
        absl::StatusOr<v1::AuditQuery> filter = BoundedQuery(*request);
        if (!filter.ok()) return filter.status();
        return [this, reply, filter = *std::move(filter),
                omit_results = request->omit_result_json()]() -> absl::Status {
          absl::StatusOr<std::vector<v1::AuditEntry>> records =
              audit_reader_->Query(filter);
          if (!records.ok()) return records.status();
          for (const v1::AuditEntry& record : *records) {
            v1::AuditEntry* entry = reply->add_entries();
            *entry = record;
            if (omit_results && entry->has_result())
              entry->mutable_result()->clear_result_json();
          }
          ReplaceInvalidUtf8(reply);  // rows someone edited still answer
          return absl::OkStatus();
        };
      });
}

grpc::ServerUnaryReactor* ControllerService::VerifyAudit(
    grpc::CallbackServerContext* context, const v1::VerifyAuditRequest* request,
    v1::VerifyAuditReply* reply) {
  return AnswerDetached(
      context, __func__, *request,
      [&](const PeerIdentity&) -> absl::StatusOr<Work> {
        VerifyOptions options;
        options.expect_head = request->expect_head();
        options.accept_unchained = request->accept_unchained();
        for (const v1::AuditCheckpoint& copy : request->exported())
          options.exported.push_back(copy);
        return [this, reply, options]() mutable -> absl::Status {
          if (checkpoints_ != nullptr) {
            options.checkpoint_key = &checkpoints_->verifier();
            options.max_unsigned_age = checkpoints_->max_unsigned_age();
            absl::StatusOr<std::vector<v1::AuditCheckpoint>> exported =
                checkpoints_->Exported();
            if (!exported.ok()) {
              reply->set_ok(false);
              reply->set_report(std::string(exported.status().message()));
              return absl::OkStatus();
            }
            options.exported.insert(options.exported.end(), exported->begin(),
                                    exported->end());
          }
          absl::StatusOr<std::string> report = audit_reader_->Verify(options);
          reply->set_ok(report.ok());
          reply->set_report(
              report.ok() ? *report : std::string(report.status().message()));
          ReplaceInvalidUtf8(reply);
          return absl::OkStatus();
        };
      });
}

grpc::ServerUnaryReactor* ControllerService::ExportAudit(
    grpc::CallbackServerContext* context, const v1::ExportAuditRequest* request,
    v1::ExportAuditReply* reply) {
  return AnswerDetached(
      context, __func__, *request,
      [&](const PeerIdentity&) -> absl::StatusOr<Work> {
        absl::StatusOr<AuditCursor> after =
            AuditCursor::Parse(request->after());
        if (!after.ok()) return after.status();
        const int limit = request->limit() == 0
                              ? kDefaultExportItems
                              : static_cast<int>(std::min<uint32_t>(
                                    request->limit(), kMaxExportItems));
        return [this, reply, after = *after, limit]() -> absl::Status {
          absl::StatusOr<std::vector<v1::ExportAuditItem>> items =
              audit_reader_->Export(after, limit);
          if (!items.ok()) return items.status();
          size_t bytes = 0;
          for (const v1::ExportAuditItem& item : *items) {
            v1::ExportAuditItem* added = reply->add_items();
            *added = item;
            bytes += added->ByteSizeLong();
            if (bytes > kMaxReplyBytes) break;  // the rest from its cursor
          }
          ReplaceInvalidUtf8(reply);
          return absl::OkStatus();
        };
      });
}

absl::StatusOr<IncidentStore*> ControllerService::ServedIncidents() const {
  if (incidents_.store == nullptr) {
    return absl::FailedPreconditionError(
        "this controller receives no alerts (no alert_intake in opsctld's "
        "configuration), so it has no incidents");
  }
  return incidents_.store;
}

grpc::ServerUnaryReactor* ControllerService::ListIncidents(
    grpc::CallbackServerContext* context,
    const v1::ListIncidentsRequest* request, v1::ListIncidentsReply* reply) {
  return Answer(context, __func__, *request,
                [&](const PeerIdentity&) -> absl::Status {
                  absl::StatusOr<IncidentStore*> incidents = ServedIncidents();
                  if (!incidents.ok()) return incidents.status();
                  // One page, bounded in count and bytes (IncidentStore::List).
                  absl::StatusOr<v1::ListIncidentsReply> listed =
                      (*incidents)->List(*request);
                  if (!listed.ok()) return listed.status();
                  *reply = *std::move(listed);
                  ReplaceInvalidUtf8(reply);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* ControllerService::GetIncident(
    grpc::CallbackServerContext* context, const v1::GetIncidentRequest* request,
    v1::Incident* reply) {
  return Answer(context, __func__, *request,
                [&](const PeerIdentity&) -> absl::Status {
                  absl::StatusOr<IncidentStore*> incidents = ServedIncidents();
                  if (!incidents.ok()) return incidents.status();
                  // One page of its alerts, under
                  // IncidentStore::kMaxReplyBytes.
                  absl::StatusOr<v1::Incident> incident =
                      (*incidents)->Get(request->id(), request->alerts_after());
                  if (!incident.ok()) return incident.status();
                  *reply = *std::move(incident);
                  ReplaceInvalidUtf8(reply);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* ControllerService::RespondToIncident(
    grpc::CallbackServerContext* context, const v1::IncidentResponse* request,
    v1::IncidentResponseRecorded* reply) {
  return Answer(context, __func__, *request,
                [&](const PeerIdentity& caller) -> absl::Status {
                  absl::StatusOr<IncidentStore*> incidents = ServedIncidents();
                  if (!incidents.ok()) return incidents.status();
                  IncidentResponseServing serving;
                  serving.incidents = incidents_;
                  serving.audit = audit_;
                  serving.budget = budget_;
                  absl::StatusOr<v1::IncidentResponseRecorded> recorded =
                      opsagent::RespondToIncident(serving, caller, *request);
                  if (!recorded.ok()) return recorded.status();
                  *reply = *std::move(recorded);
                  ReplaceInvalidUtf8(reply);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* ControllerService::LinkIncidentPage(
    grpc::CallbackServerContext* context,
    const v1::IncidentPageLinkRequest* request, v1::IncidentPageLink* reply) {
  return Answer(context, __func__, *request,
                [&](const PeerIdentity& caller) -> absl::Status {
                  absl::StatusOr<v1::IncidentPageLink> link =
                      GiveIncidentPageLink(incidents_, caller, *request);
                  if (!link.ok()) return link.status();
                  *reply = *std::move(link);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* ControllerService::RecordGuidedStep(
    grpc::CallbackServerContext* context, const v1::GuidedStepRecord* request,
    v1::GuidedStepRecorded* reply) {
  // A person's word that work outside opsctl was done goes into the team's
  // log: a permission of its own ("confirm": "run" is also a viewer's, for
  // reads), and "incidents" too to write onto one.
  return Answer(
      context, __func__, *request,
      [&](const PeerIdentity& caller) -> absl::Status {
        if (!request->incident().empty()) {
          absl::StatusOr<PeerIdentity> reader =
              Authorize(*context, "incidents");
          if (!reader.ok()) return reader.status();
        }
        const std::string& phase = request->phase();
        if (request->entry().empty() || request->step().empty() ||
            request->run_id().empty() ||
            (phase != "diagnosis" && phase != "mitigation" &&
             phase != "verification"))
          return absl::InvalidArgumentError(
              "a guided step's record needs its entry, step, run id and phase "
              "(diagnosis, mitigation or verification)");
        for (auto [field, value, max] :
             {std::tuple{"entry", &request->entry(), size_t{128}},
              {"step", &request->step(), size_t{1024}},
              {"run_id", &request->run_id(), kMaxRequestIdBytes},
              {"ticket", &request->ticket(), kMaxRequestIdBytes},
              {"reason", &request->reason(), size_t{1024}}}) {
          if (absl::Status text = CheckCallerText(field, *value, max);
              !text.ok())
            return text;
        }
        if (absl::Status claims = CheckOperatorClaims(request->claims());
            !claims.ok())
          return claims;
        if (absl::Status known =
                CheckNamedIncident(request->incident(), incidents_.store);
            !known.ok())
          return known;
        if (absl::Status step = CheckGuidedStep(*request); !step.ok())
          return step;
        if (absl::Status admitted = budget_->Admit(caller.name); !admitted.ok())
          return admitted;
        v1::AuditIntent intent =
            GuidedStepIntent(request->entry(), phase, request->step());
        intent.set_request_id(NewRequestId());
        intent.set_run_id(request->run_id());
        intent.set_started_at_ms(absl::ToUnixMillis(absl::Now()));
        intent.set_os_user(request->claims().os_user());
        intent.set_os_uid(request->claims().os_uid());
        intent.set_sudo_user(request->claims().sudo_user());
        intent.set_cert_identity(caller.name);
        intent.set_reason(request->reason());
        intent.set_incident(request->incident());
        intent.set_ticket(request->ticket());
        const v1::AuditResult result = GuidedStepResult(request->confirmed());
        absl::StatusOr<int64_t> row = audit_->RecordIntent(intent);
        absl::Status recorded =
            row.ok() ? audit_->RecordResult(*row, result) : row.status();
        if (!recorded.ok()) {
          spdlog::error("cannot record a guided step in the audit log: {}",
                        std::string(recorded.message()));
          return absl::FailedPreconditionError(
              absl::StrCat("the team's audit log cannot record the step: ",
                           recorded.message()));
        }
        budget_->Charge(caller.name, RecordedBytes({intent}, {{*row, result}}));
        spdlog::info("guided step \"{}\" of {} {} by {} (run {}{}{})",
                     request->step(), request->entry(),
                     request->confirmed() ? "confirmed" : "not confirmed",
                     caller.name, request->run_id(),
                     request->incident().empty() ? "" : ", ",
                     request->incident());
        reply->set_audit_id(*row);
        return absl::OkStatus();
      });
}

absl::Status ControllerService::CheckGuidedStep(
    const v1::GuidedStepRecord& record) const {
  if (!runbooks_) return absl::OkStatus();  // nothing to check against
  absl::StatusOr<v1::Runbook> runbooks = runbooks_();
  if (!runbooks.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the controller's runbooks do not load, so the step "
                     "cannot be checked: ",
                     runbooks.status().message()));
  }
  return FindGuidedStep(*runbooks, record);
}

grpc::ServerUnaryReactor* ControllerService::GetRunbooks(
    grpc::CallbackServerContext* context, const v1::GetRunbooksRequest* request,
    v1::Runbook* reply) {
  return Answer(
      context, __func__, *request,
      [&](const PeerIdentity& caller) -> absl::Status {
        if (!runbooks_) {
          return absl::NotFoundError(
              "this controller keeps no runbooks (alert_intake.runbooks)");
        }
        absl::StatusOr<v1::Runbook> runbooks = runbooks_();
        if (!runbooks.ok()) {
          // An edit that broke the one copy: said, not served half.
          spdlog::error("runbooks asked for by {}: {}", caller.ToString(),
                        std::string(runbooks.status().message()));
          return absl::FailedPreconditionError(
              absl::StrCat("the controller's runbooks do not load: ",
                           runbooks.status().message()));
        }
        *reply = *std::move(runbooks);
        return absl::OkStatus();
      });
}

}  // namespace opsagent
