#include "controller/chat/chat_notifier.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/regular_file.h"
#include "controller/chat/chat_message.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

constexpr absl::Duration kFirstPause = absl::Seconds(1);
constexpr absl::Duration kLongestPause = absl::Seconds(60);
// The diagnosis' steps quoted in a message.
constexpr int kHeadlineSteps = 4;

absl::StatusOr<std::string> ReadUrl(const std::string& field,
                                    const std::string& path) {
  absl::StatusOr<std::string> text = ReadSecretFile(path, 4096);
  if (!text.ok()) return text.status();
  std::string url(absl::StripAsciiWhitespace(*text));
  if (absl::Status checked = CheckOutgoingUrl(url); !checked.ok())
    return absl::FailedPreconditionError(
        absl::StrCat(field, " (", path, "): ", checked.message()));
  return url;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChatNotifier>> ChatNotifier::Create(
    const v1::ChatConfig& config, IncidentStore* incidents, AuditStore* audit,
    const PageLinks* pages, MetricRegistry& metrics) {
  std::vector<Receiver> receivers;
  for (const auto& [name, field, path] :
       {std::tuple{"slack", "chat.slack_webhook_url_file",
                   &config.slack_webhook_url_file()},
        {"webhook", "chat.webhook_url_file", &config.webhook_url_file()}}) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> url = ReadUrl(field, *path);
    if (!url.ok()) return url.status();
    receivers.push_back({name, *std::move(url)});
  }
  HttpsClientOptions options;
  options.ca_file = config.ca_file();
  options.timeout = absl::Seconds(
      config.timeout_seconds() == 0 ? 10 : config.timeout_seconds());
  options.max_reply_bytes = 64 << 10;
  return std::unique_ptr<ChatNotifier>(new ChatNotifier(
      std::move(receivers), std::move(options),
      config.max_attempts() == 0 ? 5 : static_cast<int>(config.max_attempts()),
      incidents, audit, pages, metrics));
}

ChatNotifier::ChatNotifier(std::vector<Receiver> receivers,
                           HttpsClientOptions options, int max_attempts,
                           IncidentStore* incidents, AuditStore* audit,
                           const PageLinks* pages, MetricRegistry& metrics)
    : receivers_(std::move(receivers)),
      options_(std::move(options)),
      max_attempts_(max_attempts),
      incidents_(incidents),
      audit_(audit),
      pages_(pages),
      posts_(metrics.AddCounter(
          "opsagent_controller_chat_posts_total",
          "Messages about incidents posted to chat and incident tools, by "
          "receiver and outcome (ok, failed after every attempt, dropped "
          "from a full queue).",
          {"receiver", "outcome"})),
      delay_(metrics.AddHistogram(
          "opsagent_controller_chat_post_delay_seconds",
          "From an incident's event to its message accepted by the receiver.",
          {"receiver"})),
      worker_([this] { Work(); }) {}

ChatNotifier::~ChatNotifier() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  worker_.join();
}

void ChatNotifier::Happened(const std::string& incident, IncidentEvent event) {
  absl::MutexLock lock(&mutex_);
  if (stopping_) return;
  if (queue_.size() == kMaxQueued) {
    spdlog::warn("chat: {} events waiting; the message of {} {} is dropped",
                 kMaxQueued, queue_.front().incident,
                 std::string(IncidentEventName(queue_.front().event)));
    for (const Receiver& receiver : receivers_)
      posts_.Increment({receiver.name, "dropped"});
    queue_.pop_front();
  }
  queue_.push_back({incident, event, absl::Now()});
}

void ChatNotifier::Drain() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(
      +[](ChatNotifier* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
        return self->queue_.empty() && !self->posting_;
      },
      this));
}

void ChatNotifier::Work() {
  while (true) {
    Pending next;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(
          +[](ChatNotifier* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      if (stopping_) return;
      next = queue_.front();
      queue_.pop_front();
      posting_ = true;
    }
    Post(next);
    absl::MutexLock lock(&mutex_);
    posting_ = false;
  }
}

void ChatNotifier::Post(const Pending& pending) {
  absl::StatusOr<v1::Incident> incident =
      incidents_->Get(pending.incident, "", 64 << 10);
  if (!incident.ok()) {
    spdlog::error("chat: {} {}: cannot read the incident: {}", pending.incident,
                  std::string(IncidentEventName(pending.event)),
                  std::string(incident.status().message()));
    for (const Receiver& receiver : receivers_)
      posts_.Increment({receiver.name, "failed"});
    return;
  }
  ChatMessageFacts facts;
  facts.event = pending.event;
  facts.incident = *std::move(incident);
  facts.incident.clear_alerts();
  const std::string& run = facts.incident.diagnosis().run_id();
  if (!run.empty() && audit_ != nullptr) {
    v1::AuditQuery steps;
    steps.set_run_id(run);
    steps.set_limit(kHeadlineSteps);
    steps.set_omit_result_json(true);
    absl::StatusOr<std::vector<v1::AuditEntry>> rows = audit_->Query(steps);
    if (rows.ok()) {
      std::sort(rows->begin(), rows->end(),
                [](const v1::AuditEntry& a, const v1::AuditEntry& b) {
                  return a.id() < b.id();
                });
      for (const v1::AuditEntry& row : *rows) {
        if (row.has_result() && !row.result().summary().empty())
          facts.diagnosis_headline.push_back(row.result().summary());
      }
    }
  }
  if (pages_ != nullptr)
    facts.page_url =
        pages_->Url(facts.incident.id(), absl::Now() + pages_->default_life());
  const std::string about =
      absl::StrCat(facts.incident.id(), " ", IncidentEventName(pending.event));
  for (const Receiver& receiver : receivers_) {
    const std::string body =
        receiver.name == "slack" ? SlackMessage(facts) : WebhookMessage(facts);
    if (Deliver(receiver, body, about)) {
      posts_.Increment({receiver.name, "ok"});
      delay_.Observe({receiver.name}, absl::Now() - pending.happened);
    } else {
      posts_.Increment({receiver.name, "failed"});
    }
  }
}

bool ChatNotifier::Deliver(const Receiver& receiver, const std::string& body,
                           const std::string& about) {
  absl::Duration pause = kFirstPause;
  for (int attempt = 1; attempt <= max_attempts_; ++attempt) {
    OutgoingRequest request;
    request.method = "POST";
    request.url = receiver.url;
    request.body = body;
    absl::StatusOr<OutgoingReply> reply = SendHttpsRequest(request, options_);
    std::string failure;
    bool retry = true;
    if (!reply.ok()) {
      failure = std::string(reply.status().message());
    } else if (reply->status >= 200 && reply->status < 300) {
      return true;
    } else {
      failure = absl::StrCat("answered ", reply->status);
      // Refused as it is (a revoked webhook, a malformed body): trying
      // again changes nothing. Throttled or failing: it may.
      retry =
          reply->status == 408 || reply->status == 429 || reply->status >= 500;
    }
    spdlog::warn("chat: {} to {} (attempt {} of {}): {}", about, receiver.name,
                 attempt, max_attempts_, failure);
    if (!retry || attempt == max_attempts_) break;
    absl::MutexLock lock(&mutex_);
    if (mutex_.AwaitWithTimeout(
            absl::Condition(
                +[](bool* stopping) { return *stopping; }, &stopping_),
            pause))
      return false;
    pause = std::min(pause * 2, kLongestPause);
  }
  spdlog::error("chat: {} not posted to {}; the incident is unchanged", about,
                receiver.name);
  return false;
}

}  // namespace opsagent
