#include "controller/opsctld/incident_parts.h"

#include "absl/strings/str_cat.h"
#include "controller/pages/incident_pages.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

absl::Status InSection(absl::string_view section, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(section, ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<IncidentParts>> MakeIncidentParts(
    const v1::OpsctldConfig& config, IncidentStore* incidents,
    AuditStore* audit_reader, MetricRegistry& metrics) {
  auto parts = std::make_unique<IncidentParts>();
  if (config.has_alertmanager()) {
    absl::StatusOr<std::unique_ptr<AlertmanagerSilences>> silences =
        AlertmanagerSilences::Create(config.alertmanager());
    if (!silences.ok()) return InSection("alertmanager", silences.status());
    parts->silences = *std::move(silences);
  }
  if (config.has_pages()) {
    absl::StatusOr<std::unique_ptr<PageLinks>> links =
        PageLinks::Create(config.pages());
    if (!links.ok()) return InSection("pages", links.status());
    parts->page_links = *std::move(links);
  }
  if (config.has_chat()) {
    absl::StatusOr<std::unique_ptr<ChatNotifier>> chat =
        ChatNotifier::Create(config.chat(), incidents, audit_reader,
                             parts->page_links.get(), metrics);
    if (!chat.ok()) return InSection("chat", chat.status());
    parts->chat = *std::move(chat);
  }
  parts->services.store = incidents;
  parts->services.silences = parts->silences.get();
  parts->services.pages = parts->page_links.get();
  parts->services.events = parts->chat.get();
  if (incidents != nullptr) {
    metrics.AddGauge("opsagent_controller_open_incidents",
                     "Incidents open now.", [incidents] {
                       absl::StatusOr<int64_t> open = incidents->CountOpen();
                       return open.ok() ? static_cast<double>(*open) : -1.0;
                     });
    parts->services.first_response = &metrics.AddHistogram(
        "opsagent_controller_first_response_seconds",
        "From an incident's opening to the first thing a person did with it "
        "(acknowledge, note, resolve, silence, ...), by that action.",
        {"action"});
  }
  return parts;
}

absl::StatusOr<std::unique_ptr<HttpListener>> ServePages(
    const v1::OpsctldConfig& config, const IncidentParts& parts,
    AuditStore* audit_reader) {
  if (parts.page_links == nullptr) return nullptr;
  absl::StatusOr<std::unique_ptr<HttpListener>> serving =
      ServeIncidentPages(config.pages(), parts.page_links.get(),
                         parts.services.store, audit_reader);
  if (!serving.ok()) return serving.status();
  spdlog::info("incident pages: GET https://{}/incidents (port {}), as {}",
               config.pages().listen_address(), (*serving)->port(),
               config.pages().base_url());
  return serving;
}

}  // namespace opsagent
