#ifndef OPSAGENT_CONTROLLER_ALERTS_ALERT_INTAKE_H_
#define OPSAGENT_CONTROLLER_ALERTS_ALERT_INTAKE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/http_listener.h"
#include "common/metrics/metrics.h"
#include "controller/alerts/auto_diagnosis.h"
#include "controller/alerts/incident_events.h"
#include "controller/alerts/incident_store.h"
#include "controller/audit/write_budget.h"
#include "controller/inventory.h"
#include "controller/runbook/runbook_library.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// An HTTP answer: status code and a JSON body.
struct IntakeAnswer {
  int status = 200;
  std::string body;
};

// A sender of notifications as alert_intake names it: its name (recorded
// with its alerts) and the SHA-256 of its bearer token.
struct AlertSenderKey {
  std::string name;
  std::string token_sha256;
};

// Turns alert notifications into incidents. Each alert is triaged from its
// labels, not its text: `instance` (or the host its description names)
// against the live inventory, then the alert name plus that host's roles
// (and `application`/`service`) against the runbook entries. New incidents
// whose entry has automatic steps are handed to `diagnosis` (null: off).
// Thread-safe.
class AlertIntake {
 public:
  // `budget` (null: none) is charged, for each sender, with the bodies of
  // the notifications that recorded something.
  AlertIntake(RunbookLibrary runbooks,
              std::function<Inventory()> live_inventory,
              IncidentStore* incidents, AutoDiagnosis* diagnosis,
              IncidentEvents* events, WriteBudget* budget,
              MetricRegistry& metrics);

  // Handles one webhook body that `sender` (its name) posted: 400 for a
  // body that is not a notification (saying why), 503 if the incidents
  // cannot be stored or the sender has written more than its write budget
  // allows (the sender retries; nothing was recorded), else 200 with what
  // changed, including what was refused or not opened.
  IntakeAnswer Receive(absl::string_view body, const std::string& sender);

  // Serves POST /v1/alerts over HTTPS as `config` says. The bearer token is
  // checked once the headers are in, before any body is read, and names the
  // sender.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Serve(
      const v1::AlertIntakeConfig& config, AlertIntake* intake);

  // The senders of `config` with their tokens: `bearer_token_file` as one
  // named "default", and each of `senders`. Each file must be opsctld's
  // alone, each token at least 32 characters of [A-Za-z0-9._~+/=-]
  // (`openssl rand -hex 32`), and no two alike. For --check_config too.
  static absl::StatusOr<std::vector<AlertSenderKey>> ReadSenders(
      const v1::AlertIntakeConfig& config);

 private:
  TriagedAlert Triage(const ReceivedAlert& alert, const std::string& source,
                      const Inventory& inventory) const;

  const RunbookLibrary runbooks_;
  const std::function<Inventory()> live_inventory_;
  IncidentStore* const incidents_;
  AutoDiagnosis* const diagnosis_;
  IncidentEvents* const events_;  // null: nobody is told
  WriteBudget* const budget_;
  Counter& alerts_received_;
  Counter& notifications_;
  Counter& alerts_refused_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_ALERTS_ALERT_INTAKE_H_
