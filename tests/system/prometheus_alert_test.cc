// From a filling disk to a resolved incident, with the real monitoring
// stack the team runs: Debian's prometheus-node-exporter watches a small
// tmpfs (mounted in this test's own mount namespace; needs root), Debian's
// prometheus evaluates a rule shaped like the team's DiskUsageWarning with
// node_exporter's metric names and short intervals, and Debian's
// prometheus-alertmanager sends its webhook (HTTPS, bearer token file) to
// the real opsctld. The incident must appear with the automatic df/du that
// names the big file; truncating the file through opsctl must resolve it.
// The same Prometheus scrapes opsctld's and the agent's /metrics.
//
// Prometheus, Alertmanager and node_exporter take a fixed address, so their
// ports are picked free beforehand and may, rarely, be taken in between.
//
// node_exporter finds filesystems in /proc/1/mounts, which is PID 1's
// namespace, not this one: its --path.procfs points at a directory whose
// "1" links to /proc/self, so it reads its own (this namespace's) mounts.
// The sizes it reports come from a real statfs of the real tmpfs.

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/alerting_fleet.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/prometheus_query.h"

namespace opsagent {
namespace {

using ::opsagent::testing::AlertingFleet;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::PickFreePort;
using ::opsagent::testing::PrometheusQuery;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::StartLogged;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;

class PrometheusAlertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
    for (const char* program :
         {"/usr/bin/prometheus", "/usr/bin/prometheus-alertmanager",
          "/usr/bin/prometheus-node-exporter"}) {
      if (access(program, X_OK) != 0)
        GTEST_SKIP() << program << " is not installed (Debian packages "
                     << "prometheus, prometheus-alertmanager, "
                        "prometheus-node-exporter)";
    }
    ASSERT_EQ(unshare(CLONE_NEWNS), 0);
    ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
    dir_ = std::getenv("TEST_TMPDIR");
    small_ = dir_ + "/small";
    mkdir(small_.c_str(), 0700);
    ASSERT_EQ(mount("tmpfs", small_.c_str(), "tmpfs", 0, "size=16m,mode=0700"),
              0);
    log_ = small_ + "/app.log";
    WriteFileOrDie(log_, std::string(1 << 20, 'x'));

    auto fleet = AlertingFleet::Start({dir_, small_, ""});
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);

    const std::string procfs = dir_ + "/procfs";
    mkdir(procfs.c_str(), 0700);
    ASSERT_EQ(symlink("/proc/self", (procfs + "/1").c_str()), 0);
    node_port_ = PickFreePort();
    node_ = StartLogged(
        dir_, "node_exporter",
        {"/usr/bin/prometheus-node-exporter",
         absl::StrCat("--web.listen-address=127.0.0.1:", node_port_),
         "--collector.disable-defaults", "--collector.filesystem",
         "--path.procfs=" + procfs});

    alertmanager_port_ = PickFreePort();
    WriteFileOrDie(
        dir_ + "/alertmanager.yml",
        absl::StrCat(
            "route:\n  receiver: opsctld\n"
            "  group_by: [alertname, environment, instance]\n"
            "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 4h\n"
            "receivers:\n- name: opsctld\n  webhook_configs:\n"
            "  - url: https://127.0.0.1:",
            fleet_->intake_port,
            "/v1/alerts\n    send_resolved: true\n    http_config:\n"
            "      authorization:\n        type: Bearer\n"
            "        credentials_file: ",
            dir_, "/alert-token\n      tls_config:\n        ca_file: ",
            fleet_->ca->certificate_path(), "\n"));
    alertmanager_ = StartLogged(
        dir_, "alertmanager",
        {"/usr/bin/prometheus-alertmanager",
         "--config.file=" + dir_ + "/alertmanager.yml",
         "--storage.path=" + dir_ + "/alertmanager-data",
         absl::StrCat("--web.listen-address=127.0.0.1:", alertmanager_port_),
         "--cluster.listen-address="});

    // The team's rule with node_exporter's names: used ratio * 100 > 80.
    WriteFileOrDie(
        dir_ + "/rules.yml",
        absl::StrCat(
            "groups:\n- name: host\n  rules:\n  - alert: DiskUsageWarning\n"
            "    expr: (1 - node_filesystem_avail_bytes{mountpoint=\"",
            small_, "\"} / node_filesystem_size_bytes{mountpoint=\"", small_,
            "\"}) * 100 > 80\n    for: 2s\n"
            "    labels:\n      severity: warning\n      environment: test\n"
            "    annotations:\n      description: \"Filesystem on {{ "
            "$labels.device }} at {{ $labels.instance }} is {{ printf "
            "\\\"%.2f\\\" $value }}% full.\"\n"));
    prometheus_port_ = PickFreePort();
    WriteFileOrDie(
        dir_ + "/prometheus.yml",
        absl::StrCat(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "rule_files: [",
            dir_,
            "/rules.yml]\n"
            "alerting:\n  alertmanagers:\n  - static_configs:\n"
            "    - targets: ['127.0.0.1:",
            alertmanager_port_,
            "']\n"
            "scrape_configs:\n"
            "- job_name: integrations/linux_host\n  static_configs:\n"
            "  - targets: ['127.0.0.1:",
            node_port_,
            "']\n"
            "    labels: {instance: web-1}\n"
            "- job_name: opsctld\n  static_configs:\n"
            "  - targets: ['127.0.0.1:",
            fleet_->controller_metrics_port,
            "']\n"
            "- job_name: opsagent\n  static_configs:\n"
            "  - targets: ['127.0.0.1:",
            fleet_->agent_metrics_port, "']\n"));
    prometheus_ = StartLogged(
        dir_, "prometheus",
        {"/usr/bin/prometheus", "--config.file=" + dir_ + "/prometheus.yml",
         "--storage.tsdb.path=" + dir_ + "/prometheus-data",
         absl::StrCat("--web.listen-address=127.0.0.1:", prometheus_port_)});
  }

  std::string Logs() const {
    std::string all;
    for (const char* name : {"prometheus", "alertmanager", "node_exporter"})
      absl::StrAppend(
          &all, "--- ", name, ":\n",
          ReadFileOrDie(dir_ + "/" + name + ".log").substr(0, 4000));
    return absl::StrCat(all, "--- opsctld:\n", fleet_->controller->Log());
  }

  std::string dir_, small_, log_;
  std::unique_ptr<AlertingFleet> fleet_;
  int node_port_ = 0, alertmanager_port_ = 0, prometheus_port_ = 0;
  std::unique_ptr<Subprocess> node_, alertmanager_, prometheus_;
};

TEST_F(PrometheusAlertTest,
       AFillingDiskBecomesAnIncidentAndTruncatingResolvesIt) {
  ASSERT_TRUE(Eventually(
      [&] {
        return PrometheusQuery(prometheus_port_,
                               "up{job=\"integrations/linux_host\"}") == "1";
      },
      absl::Seconds(60)))
      << Logs();
  EXPECT_EQ(PrometheusQuery(prometheus_port_,
                            "count(node_filesystem_size_bytes{mountpoint=\"" +
                                small_ + "\"})"),
            "1")
      << Logs();

  // The log grows to 15 of the filesystem's 16 MiB.
  WriteFileOrDie(log_, std::string(15 << 20, 'x'));
  ASSERT_TRUE(Eventually(
      [&] {
        return absl::StrContains(fleet_->alice->Run({"incidents"}).stdout_text,
                                 "ready");
      },
      absl::Seconds(90)))
      << fleet_->alice->Run({"incidents"}).stdout_text << Logs();
  ProgramResult shown = fleet_->alice->Run({"incident", "show", "INC-1"});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  EXPECT_THAT(shown.stdout_text, HasSubstr("DiskUsageWarning on web-1"));
  EXPECT_THAT(shown.stdout_text, HasSubstr("web-disk"));
  EXPECT_THAT(
      shown.stdout_text,
      HasSubstr("alert fired: DiskUsageWarning on web-1 (alertmanager"));
  EXPECT_THAT(shown.stdout_text, HasSubstr("mountpoint     " + small_));
  // df sees the full tmpfs, du names the big file.
  EXPECT_THAT(shown.stdout_text, HasSubstr(small_));
  EXPECT_THAT(shown.stdout_text, HasSubstr("15M\t" + log_));

  ProgramResult truncated =
      fleet_->alice->Run({"truncate", "web-1", log_, "--yes", "--incident",
                          "INC-1", "--reason", "DiskUsageWarning web"});
  ASSERT_EQ(truncated.exit_code, 0) << truncated.stderr_text;
  ASSERT_TRUE(Eventually(
      [&] {
        ProgramResult json = fleet_->alice->Run(
            {"incident", "show", "INC-1", "--output", "json"});
        return JsonField(JsonField(ParseJson(json.stdout_text), "incident"),
                         "status")
                   .string_value() == "resolved";
      },
      absl::Seconds(90)))
      << Logs();
  ProgramResult markdown =
      fleet_->alice->Run({"incident", "show", "INC-1", "--output", "markdown"});
  EXPECT_THAT(markdown.stdout_text, HasSubstr("alert resolved"));
  EXPECT_THAT(markdown.stdout_text, HasSubstr("alice: truncate_log on web-1"));

  // Prometheus scraped both daemons' /metrics and sees the alert and the
  // truncation counted. Scrapes run on Prometheus's own clock, so the figures
  // are waited for, not read once.
  const std::string truncations =
      "sum(opsagent_agent_requests_total{operation=\"truncate_log\","
      "outcome=\"ok\"})";
  const std::string resolved_alerts =
      "sum(opsagent_controller_alerts_received_total{status=\"resolved\"})";
  ASSERT_TRUE(Eventually(
      [&] {
        return PrometheusQuery(prometheus_port_, "up{job=\"opsctld\"}") ==
                   "1" &&
               PrometheusQuery(prometheus_port_, "up{job=\"opsagent\"}") ==
                   "1" &&
               PrometheusQuery(prometheus_port_, resolved_alerts) == "1" &&
               PrometheusQuery(prometheus_port_, truncations) == "1" &&
               PrometheusQuery(prometheus_port_,
                               "opsagent_controller_connected_agents") == "1";
      },
      absl::Seconds(30)))
      << "resolved alerts: "
      << PrometheusQuery(prometheus_port_, resolved_alerts)
      << ", truncations: " << PrometheusQuery(prometheus_port_, truncations)
      << ", connected agents: "
      << PrometheusQuery(prometheus_port_,
                         "opsagent_controller_connected_agents")
      << "\n"
      << Logs();
}

}  // namespace
}  // namespace opsagent
