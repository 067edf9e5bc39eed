#include "controller/alerts/auto_diagnosis.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace opsagent {
namespace {

// How often parked diagnoses look for their host's link.
constexpr absl::Duration kLinkPoll = absl::Milliseconds(200);

template <typename T>
T OrDefault(T value, T fallback) {
  return value == 0 ? fallback : value;
}

}  // namespace

AutoDiagnosis::AutoDiagnosis(
    const v1::AutomationConfig& config, IncidentStore* incidents,
    IncidentEvents* events,
    std::function<bool(const std::string& host)> connected, Runner run,
    MetricRegistry& metrics)
    : config_(config),
      incidents_(incidents),
      events_(events),
      connected_(std::move(connected)),
      run_(std::move(run)),
      diagnoses_(metrics.AddCounter(
          "opsagent_controller_diagnoses_total",
          "Automatic diagnoses of incidents, by outcome (done, failed, "
          "rate_limited, host_down).",
          {"outcome"})),
      alert_to_diagnosis_(metrics.AddHistogram(
          "opsagent_controller_alert_to_diagnosis_seconds",
          "From an incident's first alert (its start, or its arrival when "
          "later) to its automatic diagnosis ended, by outcome.",
          {"outcome"})) {
  const uint32_t workers = OrDefault(config_.max_concurrent(), 2u);
  for (uint32_t i = 0; i < workers; ++i)
    workers_.emplace_back([this] { Work(); });
  watcher_ = std::thread([this] { WatchParked(); });
}

AutoDiagnosis::~AutoDiagnosis() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  for (std::thread& worker : workers_) worker.join();
  watcher_.join();
}

void AutoDiagnosis::Enqueue(const v1::Incident& incident) {
  const absl::Duration interval =
      absl::Seconds(OrDefault(config_.min_interval_seconds(), 300u));
  const absl::Time now = absl::Now();
  // Asked before the lock is taken (the registry has its own).
  const bool linked = connected_(incident.host());
  {
    absl::MutexLock lock(&mutex_);
    const std::string key =
        absl::StrCat(incident.host(), " ", incident.entry());
    auto last = last_by_host_.find(key);
    if (last == last_by_host_.end() || now - last->second >= interval) {
      last_by_host_[key] = now;
      if (linked) {
        queue_.push_back(incident);
      } else {
        spdlog::info(
            "incident {}: {} holds no link; its diagnosis waits for it "
            "(up to {})",
            incident.id(), incident.host(), absl::FormatDuration(kParkFor));
        parked_.push_back({incident, now + kParkFor});
      }
      return;
    }
  }
  v1::IncidentDiagnosis limited;
  limited.set_state("rate_limited");
  limited.set_output(absl::StrCat(
      "not run: ", incident.host(), " had an automatic diagnosis for ",
      incident.entry(), " less than ", absl::FormatDuration(interval),
      " ago (automation.min_interval_seconds); run `opsctl runbook run ",
      incident.entry(), " --host ", incident.host(), " --incident ",
      incident.id(), " --diagnosis-only` to diagnose now"));
  diagnoses_.Increment({"rate_limited"});
  Store(incident.id(), limited);
}

void AutoDiagnosis::WatchParked() {
  absl::Time next_retry = absl::Now() + kRecordRetry;
  for (;;) {
    std::deque<Parked> parked;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.AwaitWithTimeout(absl::Condition(&stopping_), kLinkPoll);
      if (stopping_) return;  // parked ones stay "pending" for Resume
      parked.swap(parked_);
    }
    const absl::Time now = absl::Now();
    std::deque<Parked> waiting;
    std::vector<v1::Incident> linked, gone;
    for (Parked& one : parked) {
      if (connected_(one.incident.host())) {
        linked.push_back(std::move(one.incident));
      } else if (now >= one.give_up) {
        gone.push_back(std::move(one.incident));
      } else {
        waiting.push_back(std::move(one));
      }
    }
    {
      absl::MutexLock lock(&mutex_);
      // Those parked meanwhile came later: they stay behind.
      for (Parked& one : parked_) waiting.push_back(std::move(one));
      parked_.swap(waiting);
      for (v1::Incident& incident : linked) {
        spdlog::info("incident {}: {} linked; its diagnosis is queued",
                     incident.id(), incident.host());
        queue_.push_back(std::move(incident));
      }
    }
    for (const v1::Incident& incident : gone) GiveUp(incident);
    if (now >= next_retry) {
      RetryUnrecorded();
      next_retry = now + kRecordRetry;
    }
  }
}

void AutoDiagnosis::RetryUnrecorded() {
  absl::flat_hash_map<std::string, v1::IncidentDiagnosis> unrecorded;
  std::vector<v1::Incident> not_started;
  {
    absl::MutexLock lock(&mutex_);
    unrecorded.swap(unrecorded_);
    not_started.swap(not_started_);
    for (v1::Incident& incident : not_started)
      queue_.push_back(std::move(incident));
  }
  for (const auto& [id, diagnosis] : unrecorded) Store(id, diagnosis);
}

void AutoDiagnosis::GiveUp(const v1::Incident& incident) {
  v1::IncidentDiagnosis down;
  down.set_state("host_down");
  down.set_finished_at_ms(absl::ToUnixMillis(absl::Now()));
  down.set_output(absl::StrCat(
      "not run: ", incident.host(), " did not link to the controller within ",
      absl::FormatDuration(kParkFor),
      " of the alert (is its agent running, and does it reach the "
      "controller?); when it is back, run `opsctl runbook run ",
      incident.entry(), " --host ", incident.host(), " --incident ",
      incident.id(), " --diagnosis-only`"));
  diagnoses_.Increment({"host_down"});
  spdlog::warn("incident {}: {}", incident.id(), down.output());
  Store(incident.id(), down);
  if (events_ != nullptr)
    events_->Happened(incident.id(), IncidentEvent::kDiagnosed);
}

void AutoDiagnosis::Store(const std::string& id,
                          const v1::IncidentDiagnosis& diagnosis) {
  absl::Status stored = incidents_->SetDiagnosis(id, diagnosis);
  if (stored.ok()) {
    absl::MutexLock lock(&mutex_);
    unrecorded_.erase(id);  // an older state must not come after it
    return;
  }
  spdlog::error(
      "incident {}: cannot record its diagnosis ({}): {}; trying again "
      "every {}",
      id, diagnosis.state(), std::string(stored.message()),
      absl::FormatDuration(kRecordRetry));
  absl::MutexLock lock(&mutex_);
  unrecorded_.insert_or_assign(id, diagnosis);
}

absl::Status AutoDiagnosis::Resume() {
  absl::StatusOr<std::vector<v1::Incident>> unfinished =
      incidents_->UnfinishedDiagnoses();
  if (!unfinished.ok()) return unfinished.status();
  for (const v1::Incident& incident : *unfinished) {
    spdlog::info(
        "incident {}: diagnosis {} when the controller stopped; "
        "running it again",
        incident.id(), incident.diagnosis().state());
    Enqueue(incident);
  }
  return absl::OkStatus();
}

std::deque<v1::Incident>::iterator AutoDiagnosis::NextReady() {
  return std::find_if(queue_.begin(), queue_.end(),
                      [this](const v1::Incident& incident)
                          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
                            return !diagnosing_.contains(incident.host());
                          });
}

void AutoDiagnosis::Work() {
  for (;;) {
    v1::Incident incident;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(
          +[](AutoDiagnosis* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
            return self->stopping_ || self->NextReady() != self->queue_.end();
          },
          this));
      if (stopping_) return;
      const auto next = NextReady();
      incident = std::move(*next);
      queue_.erase(next);
      diagnosing_.insert(incident.host());
    }
    Diagnose(incident);
    absl::MutexLock lock(&mutex_);
    diagnosing_.erase(incident.host());
  }
}

void AutoDiagnosis::Diagnose(const v1::Incident& incident) {
  v1::IncidentDiagnosis diagnosis;
  diagnosis.set_state("running");
  diagnosis.set_started_at_ms(absl::ToUnixMillis(absl::Now()));
  if (absl::Status stored = incidents_->SetDiagnosis(incident.id(), diagnosis);
      !stored.ok()) {
    spdlog::error(
        "incident {}: cannot record that its diagnosis starts: {}; trying "
        "again in {}",
        incident.id(), std::string(stored.message()),
        absl::FormatDuration(kRecordRetry));
    absl::MutexLock lock(&mutex_);
    not_started_.push_back(incident);
    return;
  }
  const std::vector<std::string> args = {
      "runbook", "run", incident.entry(), "--automatic", "--host",
      incident.host(), "--environment", incident.environment(), "--var",
      absl::StrCat("mountpoint=",
                   incident.mountpoint().empty() ? "/" : incident.mountpoint()),
      "--var", absl::StrCat("device=", incident.device()), "--config",
      config_.opsctl_config(), "--incident", incident.id(),
      // The reason is ours alone: an alert's text is not put in the
      // team's log as if someone had written it.
      "--reason", absl::StrCat("automatic diagnosis of ", incident.id())};
  const absl::Duration timeout =
      absl::Seconds(OrDefault(config_.timeout_seconds(), 120u));
  spdlog::info("incident {}: automatic diagnosis ({}) on {}", incident.id(),
               incident.entry(), incident.host());
  const v1::IncidentDiagnosis ran = run_(args, timeout);
  diagnosis.set_finished_at_ms(absl::ToUnixMillis(absl::Now()));
  diagnosis.set_exit_code(ran.exit_code());
  diagnosis.set_state(ran.exit_code() == 0 ? "done" : "failed");
  diagnosis.set_output(ran.output());
  // Ties the output to the audit rows.
  diagnosis.set_run_id(ran.run_id());
  diagnoses_.Increment({diagnosis.state()});
  spdlog::info("incident {}: automatic diagnosis {} (exit {})", incident.id(),
               diagnosis.state(), diagnosis.exit_code());
  alert_to_diagnosis_.Observe(
      {diagnosis.state()},
      absl::Milliseconds(diagnosis.finished_at_ms() - incident.opened_at_ms()));
  Store(incident.id(), diagnosis);
  if (events_ != nullptr)
    events_->Happened(incident.id(), IncidentEvent::kDiagnosed);
}

}  // namespace opsagent
