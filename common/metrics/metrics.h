#ifndef OPSAGENT_COMMON_METRICS_METRICS_H_
#define OPSAGENT_COMMON_METRICS_METRICS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace opsagent {

// A counter family: one monotonically growing value per combination of its
// label values. Label values must come from a small fixed set (operation
// and outcome names), never from a caller, a path or a parameter, so that a
// scrape stays small. Thread-safe.
class Counter {
 public:
  void Increment(const std::vector<std::string>& label_values = {},
                 double by = 1);

 private:
  friend class MetricRegistry;
  Counter(std::string name, std::string help, std::vector<std::string> labels)
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)) {}
  void Render(std::string& out) const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> labels_;
  mutable absl::Mutex mutex_;
  std::map<std::vector<std::string>, double> values_ ABSL_GUARDED_BY(mutex_);
};

// A histogram family of durations, in seconds, with fixed buckets.
// Thread-safe.
class Histogram {
 public:
  void Observe(const std::vector<std::string>& label_values,
               absl::Duration duration);

 private:
  friend class MetricRegistry;
  struct Series {
    std::vector<uint64_t> buckets;  // counts per upper bound, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  Histogram(std::string name, std::string help, std::vector<std::string> labels,
            std::vector<double> bounds)
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        bounds_(std::move(bounds)) {}
  void Render(std::string& out) const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;
  mutable absl::Mutex mutex_;
  std::map<std::vector<std::string>, Series> series_ ABSL_GUARDED_BY(mutex_);
};

// The metrics of one process, rendered in Prometheus's text exposition
// format (0.0.4) for GET /metrics. Names follow Prometheus's conventions:
// base units (seconds, bytes), counters end in _total. Metrics are added
// once at start-up and live as long as the registry.
class MetricRegistry {
 public:
  // Default buckets for operation durations: 5 ms to 5 minutes.
  static const std::vector<double>& DurationBuckets();

  Counter& AddCounter(std::string name, std::string help,
                      std::vector<std::string> labels = {});
  Histogram& AddHistogram(std::string name, std::string help,
                          std::vector<std::string> labels,
                          std::vector<double> bounds = DurationBuckets());
  // A gauge read when scraped (connected agents).
  void AddGauge(std::string name, std::string help,
                std::function<double()> read);

  std::string Render() const;

 private:
  struct Gauge {
    std::string name;
    std::string help;
    std::function<double()> read;
  };
  mutable absl::Mutex mutex_;
  std::vector<std::unique_ptr<Counter>> counters_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::unique_ptr<Histogram>> histograms_ ABSL_GUARDED_BY(mutex_);
  std::vector<Gauge> gauges_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace opsagent

#endif  // OPSAGENT_COMMON_METRICS_METRICS_H_
