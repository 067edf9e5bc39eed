#ifndef OPSAGENT_CONTROLLER_CHAT_CHAT_NOTIFIER_H_
#define OPSAGENT_CONTROLLER_CHAT_CHAT_NOTIFIER_H_

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/http/https_client.h"
#include "common/metrics/metrics.h"
#include "controller/alerts/incident_events.h"
#include "controller/alerts/incident_store.h"
#include "controller/audit/audit_store.h"
#include "controller/pages/page_links.h"
#include "opsagent/v1/opsctld_config.pb.h"

namespace opsagent {

// Tells the team's chat (a Slack-compatible incoming webhook) and an
// incident tool (a generic JSON webhook) when an incident opens, its
// diagnosis is ready, someone acknowledges it, and it resolves or reopens
// (chat_message.h says what a message holds). Happened() only queues: a
// worker thread posts, each message with its own deadline and up to
// `max_attempts` tries with doubling pauses (1 s, 2 s, 4 s, ... at most
// 60 s), so a slow or dead receiver never holds up the intake or a
// caller, and never loses an incident, which is in the database whatever
// becomes of its message. The queue holds at most kMaxQueued events; past
// it the oldest are dropped, counted and logged. The webhook URLs are
// secrets: read from files readable by opsctld alone, never logged (errors
// name the scheme, host and port). Destruction posts nothing more and
// waits for the post in progress. Thread-safe.
class ChatNotifier : public IncidentEvents {
 public:
  static constexpr size_t kMaxQueued = 1000;

  // `incidents`, `audit` (a reader, for the diagnosis' headline) and
  // `pages` (may be null: messages carry no link) must outlive it.
  static absl::StatusOr<std::unique_ptr<ChatNotifier>> Create(
      const v1::ChatConfig& config, IncidentStore* incidents, AuditStore* audit,
      const PageLinks* pages, MetricRegistry& metrics);
  ~ChatNotifier() override;

  void Happened(const std::string& incident, IncidentEvent event) override;

  // Waits until every event queued so far was posted or given up (tests,
  // and a stopping controller that wants them out).
  void Drain();

 private:
  struct Receiver {
    std::string name;  // "slack", "webhook": the metric's label
    std::string url;   // its secret
  };
  struct Pending {
    std::string incident;
    IncidentEvent event;
    absl::Time happened;
  };
  ChatNotifier(std::vector<Receiver> receivers, HttpsClientOptions options,
               int max_attempts, IncidentStore* incidents, AuditStore* audit,
               const PageLinks* pages, MetricRegistry& metrics);
  void Work();
  // Posts one event to every receiver, with retries.
  void Post(const Pending& pending);
  // Whether `receiver` took `body` within the attempts (false once
  // stopping).
  bool Deliver(const Receiver& receiver, const std::string& body,
               const std::string& about);

  const std::vector<Receiver> receivers_;
  const HttpsClientOptions options_;
  const int max_attempts_;
  IncidentStore* const incidents_;
  AuditStore* const audit_;
  const PageLinks* const pages_;
  Counter& posts_;
  Histogram& delay_;

  absl::Mutex mutex_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mutex_);
  bool posting_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread worker_;
};

}  // namespace opsagent

#endif  // OPSAGENT_CONTROLLER_CHAT_CHAT_NOTIFIER_H_
