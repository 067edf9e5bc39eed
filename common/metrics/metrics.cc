#include "common/metrics/metrics.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace opsagent {
namespace {

// Label values escaped as the exposition format asks.
std::string LabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// {a="x",b="y"} plus `extra` (le="0.5"), or "" with no labels at all.
std::string Labels(const std::vector<std::string>& names,
                   const std::vector<std::string>& values,
                   const std::string& extra = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "" : ",", names[i], "=\"",
                    LabelValue(i < values.size() ? values[i] : ""), "\"");
  }
  if (!extra.empty()) absl::StrAppend(&out, out.empty() ? "" : ",", extra);
  return out.empty() ? "" : absl::StrCat("{", out, "}");
}

// 15 significant digits: decimal bounds print as written ("0.1"), and counts
// stay exact to 10^15.
std::string Number(double value) { return absl::StrFormat("%.15g", value); }

void Header(std::string& out, const std::string& name, const std::string& help,
            const char* type) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ",
                  type, "\n");
}

}  // namespace

void Counter::Increment(const std::vector<std::string>& label_values,
                        double by) {
  absl::MutexLock lock(&mutex_);
  values_[label_values] += by;
}

void Counter::Render(std::string& out) const {
  Header(out, name_, help_, "counter");
  absl::MutexLock lock(&mutex_);
  // A family without labels shows 0 before its first increment.
  if (values_.empty() && labels_.empty()) absl::StrAppend(&out, name_, " 0\n");
  for (const auto& [values, value] : values_)
    absl::StrAppend(&out, name_, Labels(labels_, values), " ", Number(value),
                    "\n");
}

void Histogram::Observe(const std::vector<std::string>& label_values,
                        absl::Duration duration) {
  const double seconds = absl::ToDoubleSeconds(duration);
  absl::MutexLock lock(&mutex_);
  Series& series = series_[label_values];
  series.buckets.resize(bounds_.size());
  const size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), seconds) -
      bounds_.begin();
  if (bucket < bounds_.size()) ++series.buckets[bucket];
  ++series.count;
  series.sum += seconds;
}

void Histogram::Render(std::string& out) const {
  Header(out, name_, help_, "histogram");
  absl::MutexLock lock(&mutex_);
  for (const auto& [values, series] : series_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += series.buckets[i];
      absl::StrAppend(&out, name_, "_bucket",
                      Labels(labels_, values,
                             absl::StrCat("le=\"", Number(bounds_[i]), "\"")),
                      " ", cumulative, "\n");
    }
    absl::StrAppend(&out, name_, "_bucket",
                    Labels(labels_, values, "le=\"+Inf\""), " ", series.count,
                    "\n", name_, "_sum", Labels(labels_, values), " ",
                    Number(series.sum), "\n", name_, "_count",
                    Labels(labels_, values), " ", series.count, "\n");
  }
}

const std::vector<double>& MetricRegistry::DurationBuckets() {
  static const std::vector<double>* const kBuckets = new std::vector<double>{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
  return *kBuckets;
}

Counter& MetricRegistry::AddCounter(std::string name, std::string help,
                                    std::vector<std::string> labels) {
  absl::MutexLock lock(&mutex_);
  counters_.push_back(std::unique_ptr<Counter>(
      new Counter(std::move(name), std::move(help), std::move(labels))));
  return *counters_.back();
}

Histogram& MetricRegistry::AddHistogram(std::string name, std::string help,
                                        std::vector<std::string> labels,
                                        std::vector<double> bounds) {
  absl::MutexLock lock(&mutex_);
  histograms_.push_back(std::unique_ptr<Histogram>(new Histogram(
      std::move(name), std::move(help), std::move(labels), std::move(bounds))));
  return *histograms_.back();
}

void MetricRegistry::AddGauge(std::string name, std::string help,
                              std::function<double()> read) {
  absl::MutexLock lock(&mutex_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read)});
}

std::string MetricRegistry::Render() const {
  std::string out;
  absl::MutexLock lock(&mutex_);
  for (const auto& counter : counters_) counter->Render(out);
  for (const auto& histogram : histograms_) histogram->Render(out);
  for (const Gauge& gauge : gauges_) {
    Header(out, gauge.name, gauge.help, "gauge");
    absl::StrAppend(&out, gauge.name, " ", Number(gauge.read()), "\n");
  }
  return out;
}

}  // namespace opsagent
