// The night of issue 21, on one machine: three hosts of the team's fleet,
// each a real opsagent linked to the real opsctld, watched by the team's
// monitoring stack (Debian's prometheus, prometheus-alertmanager and
// prometheus-node-exporter), answered with the team's own runbooks.
//   ip-10-1-3-88   role salt-master: its salt-master.service is a real
//                  program under a real supervisord (no systemd is PID 1
//                  here, so supervisord restarts it; the agent restarts
//                  supervisord programs and systemd units alike);
//   ip-10-7-0-78   role xqwatcher: a small tmpfs stands for its /edx/var,
//                  with xqwatcher.log held open by a real writer, and its
//                  agent's journal on that same tmpfs (a journal reserve);
//   ip-10-13-1-59  role reddit: a vetted slow command for the drills.
// One node_exporter is scraped under the three hosts' `instance` labels;
// the tmpfs is the xqwatcher host's alone (the other two drop its series).
// The runbooks are runbooks/*.textproto as shipped, with one substitution:
// "/edx/var" becomes the tmpfs (this machine has no /edx, and the test may
// not create one outside its own mount namespace).
//
// The night, in order (the cases share one fleet and run in this order):
// the memory and disk alerts open incidents with their entries and
// automatic diagnosis; the salt-memory runbook, run from its incident,
// restarts the alerting master only; truncating xqwatcher.log resolves the
// disk alert; the clean part reconciles with 0 discrepancies and every
// action the agents recorded for an incident is in `incident show`; then
// the drills: a full disk under the journal, `--direct`, the controller
// killed mid-change, an agent down.
//
// Prometheus, Alertmanager and node_exporter take a fixed address, so their
// ports are picked free beforehand and may, rarely, be taken in between.
// Needs root (a mount namespace and tmpfs), as prometheus_alert_test does.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "agent/system/supervisor_program_controller.h"
#include "common/subprocess.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "opsagent/v1/journal.pb.h"
#include "tests/testing/agent_process.h"
#include "tests/testing/alerting_fleet.h"
#include "tests/testing/opsctl_runner.h"
#include "tests/testing/prometheus_query.h"

namespace opsagent {
namespace {

namespace fs = std::filesystem;
using ::opsagent::testing::AbsolutePath;
using ::opsagent::testing::AlertingFleet;
using ::opsagent::testing::Eventually;
using ::opsagent::testing::JsonField;
using ::opsagent::testing::LinkedAgentOptions;
using ::opsagent::testing::OpsctlRunner;
using ::opsagent::testing::ParseJson;
using ::opsagent::testing::PickFreePort;
using ::opsagent::testing::PrometheusQuery;
using ::opsagent::testing::ReadFileOrDie;
using ::opsagent::testing::StartLogged;
using ::opsagent::testing::TestAgent;
using ::opsagent::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSalt[] = "ip-10-1-3-88";
constexpr char kXqwatcher[] = "ip-10-7-0-78";
constexpr char kReddit[] = "ip-10-13-1-59";

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// Every record of an agent's journal.
std::vector<v1::JournalRecord> Journal(const std::string& path) {
  std::vector<v1::JournalRecord> records;
  for (const std::string& line : Lines(ReadFileOrDie(path))) {
    v1::JournalRecord record;
    if (google::protobuf::util::JsonStringToMessage(line, &record).ok())
      records.push_back(record);
  }
  return records;
}

// The operations an agent's journal says it started.
std::set<std::string> StartedOperations(const std::string& journal) {
  std::set<std::string> operations;
  for (const v1::JournalRecord& record : Journal(journal))
    if (record.event() == v1::JournalRecord::STARTED)
      operations.insert(record.operation());
  return operations;
}

uint64_t FreeBytes(const std::string& path) {
  struct statvfs st;
  if (statvfs(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

// MemAvailable of this machine, in bytes (the three hosts share it).
uint64_t MemAvailable() {
  for (const std::string& line : Lines(ReadFileOrDie("/proc/meminfo"))) {
    uint64_t kib = 0;
    if (absl::StartsWith(line, "MemAvailable:") &&
        absl::SimpleAtoi(
            absl::StripSuffix(absl::StripAsciiWhitespace(line.substr(13)),
                              " kB"),
            &kib))
      return kib << 10;
  }
  return 0;
}

std::string RequestId(const std::string& json) {
  const size_t at = json.find("\"request_id\":\"");
  if (at == std::string::npos) return "";
  return json.substr(at + 14, json.find('"', at + 14) - at - 14);
}

// Everything the night needs, started once for all its cases.
struct Night {
  std::string dir, edx_var, log_dir, log, socket_dir, supervisord_conf;
  std::unique_ptr<Subprocess> supervisord, writer;
  std::unique_ptr<AlertingFleet> fleet;
  std::unique_ptr<TestAgent> xqwatcher, reddit;
  int node_port = 0, alertmanager_port = 0, prometheus_port = 0;
  std::unique_ptr<Subprocess> node, alertmanager, prometheus;

  TestAgent& salt() const { return *fleet->agent; }
  std::string JournalOf(const TestAgent& agent) const {
    return &agent == xqwatcher.get() ? edx_var + "/journal.jsonl"
                                     : agent.dir + "/journal.jsonl";
  }
  int SaltMasterPid() const {
    SupervisorProgramController program(
        "/usr/bin/supervisorctl", supervisord_conf, "salt-master.service");
    absl::StatusOr<ServiceStatus> status = program.Status();
    return status.ok() && status->active_state == "RUNNING" ? status->main_pid
                                                            : -1;
  }
  std::string Logs() const {
    std::string all;
    for (const char* name : {"prometheus", "alertmanager", "node_exporter"})
      absl::StrAppend(&all, "--- ", name, ":\n",
                      ReadFileOrDie(dir + "/" + name + ".log").substr(0, 3000));
    return absl::StrCat(all, "--- opsctld:\n", fleet->controller->Log());
  }
};

class SeedNightTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) {
      skip_ = new std::string("needs root to mount a tmpfs");
      return;
    }
    for (const char* program :
         {"/usr/bin/prometheus", "/usr/bin/prometheus-alertmanager",
          "/usr/bin/prometheus-node-exporter", "/usr/bin/supervisord"}) {
      if (access(program, X_OK) != 0) {
        skip_ = new std::string(absl::StrCat(program, " is not installed"));
        return;
      }
    }
    night_ = new Night();
    Night& n = *night_;
    ASSERT_EQ(unshare(CLONE_NEWNS), 0);
    ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
    n.dir = AbsolutePath(std::getenv("TEST_TMPDIR"));

    // The xqwatcher host's /edx/var: 32 MiB, its log held open by a writer.
    n.edx_var = n.dir + "/edx-var";
    mkdir(n.edx_var.c_str(), 0700);
    ASSERT_EQ(
        mount("tmpfs", n.edx_var.c_str(), "tmpfs", 0, "size=32m,mode=0700"), 0);
    n.log_dir = n.edx_var + "/log/xqwatcher";
    fs::create_directories(n.log_dir);
    n.log = n.log_dir + "/xqwatcher.log";
    WriteFileOrDie(n.log, std::string(1 << 20, '#'));
    n.writer = StartLogged(n.dir, "log_writer",
                           {AbsolutePath("tests/testing/log_writer"), n.log});
    ASSERT_NE(n.writer, nullptr);

    // The Salt master's salt-master.service, under supervisord.
    char socket_dir[] = "/tmp/opsagent-night-XXXXXX";
    ASSERT_NE(mkdtemp(socket_dir), nullptr);
    n.socket_dir = socket_dir;
    n.supervisord_conf = n.dir + "/supervisord.conf";
    const std::string socket = n.socket_dir + "/supervisor.sock";
    WriteFileOrDie(
        n.supervisord_conf,
        absl::StrCat(
            "[unix_http_server]\nfile=", socket, "\n[supervisord]\nlogfile=",
            n.dir, "/supervisord.log\npidfile=", n.dir,
            "/supervisord.pid\nnodaemon=true\n[rpcinterface:supervisor]\n"
            "supervisor.rpcinterface_factory = "
            "supervisor.rpcinterface:make_main_rpcinterface\n"
            "[supervisorctl]\nserverurl=unix://",
            socket, "\n[program:salt-master.service]\ncommand=",
            AbsolutePath("tests/testing/flaky_service"), "\nstartsecs=0\n"));
    n.supervisord =
        StartLogged(n.dir, "supervisord",
                    {"/usr/bin/supervisord", "-n", "-c", n.supervisord_conf});
    ASSERT_NE(n.supervisord, nullptr);
    ASSERT_TRUE(Eventually([&] { return n.SaltMasterPid() > 0; }))
        << ReadFileOrDie(n.dir + "/supervisord.log");

    // The team's runbooks, /edx/var being the tmpfs.
    const std::string runbooks = n.dir + "/runbooks";
    mkdir(runbooks.c_str(), 0700);
    int copied = 0;
    for (const fs::directory_entry& file : fs::directory_iterator("runbooks")) {
      if (file.path().extension() != ".textproto") continue;
      const std::string copy =
          absl::StrCat(runbooks, "/", file.path().filename().string());
      WriteFileOrDie(copy, absl::StrReplaceAll(ReadFileOrDie(file.path()),
                                               {{"/edx/var", n.edx_var}}));
      chmod(copy.c_str(), 0600);
      ++copied;
    }
    ASSERT_GT(copied, 0) << "no runbooks/*.textproto in the runfiles";

    // The team's inventory: roles and environment per host.
    const std::string inventory = n.dir + "/inventory.textproto";
    std::string hosts;
    for (const auto& [host, role] :
         {std::pair{kSalt, "salt-master"}, std::pair{kXqwatcher, "xqwatcher"},
          std::pair{kReddit, "reddit"}})
      absl::StrAppend(&hosts, "host { name: \"", host,
                      "\" address: \"127.0.0.1:1\" roles: \"", role,
                      "\" environment: \"test\" }\n");
    WriteFileOrDie(inventory, hosts);
    chmod(inventory.c_str(), 0600);

    AlertingFleet::Options options;
    options.dir = n.dir;
    options.logs = n.edx_var;
    options.runbooks = runbooks;
    options.controller_config =
        absl::StrCat("inventory: \"", inventory, "\"\n");
    options.host_name = kSalt;
    options.first_agent.roles = {"salt-master"};
    options.first_agent.extra_config = absl::StrCat(
        "supervisor { config: \"", n.supervisord_conf,
        "\" }\nrestartable { name: \"salt-master.service\" manager: "
        "SUPERVISOR_PROGRAM settle_seconds: 1 }\n");
    auto fleet = AlertingFleet::Start(options);
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    n.fleet = *std::move(fleet);

    LinkedAgentOptions xqwatcher;
    xqwatcher.roles = {"xqwatcher"};
    // The journal on the filesystem the alert is about, with the smallest
    // reserve allowed (the default 4 MiB would be an eighth of this disk).
    xqwatcher.journal_path = n.edx_var + "/journal.jsonl";
    xqwatcher.extra_config =
        absl::StrCat("truncatable_logs: \"", n.log_dir,
                     "/*.log\"\nlimits { journal_reserve_bytes: 65536 }\n");
    auto started = n.fleet->StartLinkedAgent(kXqwatcher, xqwatcher);
    ASSERT_TRUE(started.ok()) << started.status();
    n.xqwatcher = *std::move(started);

    LinkedAgentOptions reddit;
    reddit.roles = {"reddit"};
    reddit.extra_config =
        "command { name: \"slow\" argv: \"/bin/sleep\" argv: \"4\" "
        "timeout_seconds: 20 }\n";
    started = n.fleet->StartLinkedAgent(kReddit, reddit);
    ASSERT_TRUE(started.ok()) << started.status();
    n.reddit = *std::move(started);

    // node_exporter reads this namespace's mounts (see
    // prometheus_alert_test): /proc/1 is made to be /proc/self.
    const std::string procfs = n.dir + "/procfs";
    mkdir(procfs.c_str(), 0700);
    ASSERT_EQ(symlink("/proc/self", (procfs + "/1").c_str()), 0);
    ASSERT_EQ(symlink("/proc/meminfo", (procfs + "/meminfo").c_str()), 0);
    n.node_port = PickFreePort();
    n.node = StartLogged(
        n.dir, "node_exporter",
        {"/usr/bin/prometheus-node-exporter",
         absl::StrCat("--web.listen-address=127.0.0.1:", n.node_port),
         "--collector.disable-defaults", "--collector.filesystem",
         "--collector.meminfo", "--path.procfs=" + procfs});

    n.alertmanager_port = PickFreePort();
    WriteFileOrDie(
        n.dir + "/alertmanager.yml",
        absl::StrCat(
            "route:\n  receiver: opsctld\n"
            "  group_by: [alertname, environment, instance]\n"
            "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 4h\n"
            "receivers:\n- name: opsctld\n  webhook_configs:\n"
            "  - url: https://127.0.0.1:",
            n.fleet->intake_port,
            "/v1/alerts\n    send_resolved: true\n    http_config:\n"
            "      authorization:\n        type: Bearer\n"
            "        credentials_file: ",
            n.dir, "/alert-token\n      tls_config:\n        ca_file: ",
            n.fleet->ca->certificate_path(), "\n"));
    n.alertmanager = StartLogged(
        n.dir, "alertmanager",
        {"/usr/bin/prometheus-alertmanager",
         "--config.file=" + n.dir + "/alertmanager.yml",
         "--storage.path=" + n.dir + "/alertmanager-data",
         absl::StrCat("--web.listen-address=127.0.0.1:", n.alertmanager_port),
         "--cluster.listen-address="});

    // The team's Grafana-managed rules with node_exporter's names, short
    // intervals. DiskUsageWarning as the team has it (used > 80%), on the
    // xqwatcher host's filesystem. MemoryUsageWarning's threshold is the
    // one fake: the team's fires above 80% used, which this machine may
    // never reach; "> 0" holds on any running machine, so it fires for
    // every host, and only the Salt master's incident may pick salt-memory.
    WriteFileOrDie(
        n.dir + "/rules.yml",
        absl::StrCat(
            "groups:\n- name: host\n  rules:\n"
            "  - alert: DiskUsageWarning\n"
            "    expr: (1 - node_filesystem_avail_bytes{mountpoint=\"",
            n.edx_var, "\"} / node_filesystem_size_bytes{mountpoint=\"",
            n.edx_var,
            "\"}) * 100 > 80\n    for: 2s\n"
            "    labels:\n      severity: warning\n      environment: test\n"
            "    annotations:\n      description: \"Filesystem on {{ "
            "$labels.device }} at {{ $labels.instance }} is {{ printf "
            "\\\"%.2f\\\" $value }}% full.\"\n"
            "  - alert: MemoryUsageWarning\n"
            "    expr: (1 - node_memory_MemAvailable_bytes / "
            "node_memory_MemTotal_bytes) * 100 > 0\n    for: 2s\n"
            "    labels:\n      severity: warning\n      environment: test\n"
            "    annotations:\n      description: \"Memory at {{ "
            "$labels.instance }} is {{ printf \\\"%.2f\\\" $value }}% "
            "used.\"\n"));
    std::string targets;
    for (const char* host : {kSalt, kXqwatcher, kReddit})
      absl::StrAppend(&targets, "  - targets: ['127.0.0.1:", n.node_port,
                      "']\n    labels: {instance: ", host, "}\n");
    n.prometheus_port = PickFreePort();
    WriteFileOrDie(
        n.dir + "/prometheus.yml",
        absl::StrCat(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "rule_files: [",
            n.dir,
            "/rules.yml]\n"
            "alerting:\n  alertmanagers:\n  - static_configs:\n"
            "    - targets: ['127.0.0.1:",
            n.alertmanager_port,
            "']\n"
            "scrape_configs:\n"
            "- job_name: integrations/linux_host\n  static_configs:\n",
            targets,
            // The tmpfs is the xqwatcher host's: the others do not have it.
            "  metric_relabel_configs:\n"
            "  - source_labels: [instance, mountpoint]\n"
            "    regex: '(",
            kSalt, "|", kReddit,
            ");.*/edx-var'\n"
            "    action: drop\n"));
    n.prometheus = StartLogged(
        n.dir, "prometheus",
        {"/usr/bin/prometheus", "--config.file=" + n.dir + "/prometheus.yml",
         "--storage.tsdb.path=" + n.dir + "/prometheus-data",
         absl::StrCat("--web.listen-address=127.0.0.1:", n.prometheus_port)});
  }

  static void TearDownTestSuite() {
    if (night_ != nullptr) {
      Night& n = *night_;
      n.prometheus.reset();
      n.alertmanager.reset();
      n.node.reset();
      n.reddit.reset();
      n.xqwatcher.reset();
      n.fleet.reset();
      n.writer.reset();
      if (n.supervisord != nullptr) {
        n.supervisord->Signal(SIGTERM);  // it stops its program
        if (!n.supervisord->Wait(absl::Seconds(20)).ok())
          n.supervisord->Signal(SIGKILL);
      }
      n.supervisord.reset();
      if (!n.socket_dir.empty()) fs::remove_all(n.socket_dir);
      umount(n.edx_var.c_str());
      delete night_;
      night_ = nullptr;
    }
    delete skip_;
    skip_ = nullptr;
  }

  void SetUp() override {
    if (skip_ != nullptr) GTEST_SKIP() << *skip_;
    ASSERT_NE(night_, nullptr);
    ASSERT_NE(night_->prometheus, nullptr) << "the night did not start";
  }

  static const OpsctlRunner& alice() { return *night_->fleet->alice; }

  // Every incident the controller holds, open or resolved.
  static std::vector<google::protobuf::Value> Incidents() {
    ProgramResult listed =
        alice().Run({"incidents", "--all", "--output", "json"});
    std::vector<google::protobuf::Value> incidents;
    const google::protobuf::Value parsed = ParseJson(listed.stdout_text);
    for (const google::protobuf::Value& incident :
         JsonField(parsed, "incidents").list_value().values())
      incidents.push_back(incident);
    return incidents;
  }
  // The incident for `alertname` on `host`, or an empty value.
  static google::protobuf::Value Incident(const std::string& alertname,
                                          const std::string& host) {
    for (const google::protobuf::Value& incident : Incidents())
      if (JsonField(incident, "alertname").string_value() == alertname &&
          JsonField(incident, "host").string_value() == host)
        return incident;
    return google::protobuf::Value();
  }
  // `incident show ID` as on-call reads it, with the automatic diagnosis's
  // output.
  static std::string Shown(const google::protobuf::Value& incident) {
    ProgramResult shown = alice().Run(
        {"incident", "show", JsonField(incident, "id").string_value()});
    EXPECT_EQ(shown.exit_code, 0) << shown.stderr_text;
    return shown.stdout_text;
  }
  // The hosts linked to the controller now.
  static int ConnectedHosts() {
    ProgramResult hosts = alice().Run({"hosts", "--output", "json"});
    int connected = 0;
    const google::protobuf::Value parsed = ParseJson(hosts.stdout_text);
    for (const google::protobuf::Value& host : parsed.list_value().values())
      connected += JsonField(host, "connected").bool_value() ? 1 : 0;
    return connected;
  }
  static std::string Id(const google::protobuf::Value& incident) {
    return JsonField(incident, "id").string_value();
  }
  static std::string DiagnosisState(const google::protobuf::Value& incident) {
    return JsonField(JsonField(incident, "diagnosis"), "state").string_value();
  }
  // The team log's rows (`opsctl audit --output json`), one JSON line each.
  static std::vector<std::string> TeamRows(
      const std::vector<std::string>& filter = {}) {
    std::vector<std::string> args = {"audit", "--since", "1h", "--output",
                                     "json"};
    args.insert(args.end(), filter.begin(), filter.end());
    ProgramResult audit = alice().Run(args);
    EXPECT_EQ(audit.exit_code, 0) << audit.stderr_text;
    return Lines(audit.stdout_text);
  }

  static Night* night_;
  static std::string* skip_;
  // Found by the first case, used by the later ones.
  static std::string* memory_incident_;
  static std::string* disk_incident_;
};

Night* SeedNightTest::night_ = nullptr;
std::string* SeedNightTest::skip_ = nullptr;
std::string* SeedNightTest::memory_incident_ = nullptr;
std::string* SeedNightTest::disk_incident_ = nullptr;

TEST_F(SeedNightTest,
       TheAlertsOpenIncidentsWithTheirEntriesAndAutomaticDiagnosis) {
  Night& n = *night_;
  ASSERT_TRUE(Eventually(
      [&] {
        return PrometheusQuery(
                   n.prometheus_port,
                   "count(up{job=\"integrations/linux_host\"} == 1)") == "3";
      },
      absl::Seconds(30)))
      << n.Logs();
  // The log grows to 28 of the filesystem's 32 MiB while its writer runs.
  WriteFileOrDie(n.log, std::string(28 << 20, '#'));

  google::protobuf::Value memory, disk;
  ASSERT_TRUE(Eventually(
      [&] {
        memory = Incident("MemoryUsageWarning", kSalt);
        disk = Incident("DiskUsageWarning", kXqwatcher);
        return DiagnosisState(memory) == "done" &&
               DiagnosisState(disk) == "done";
      },
      absl::Seconds(40)))
      << alice().Run({"incidents", "--all"}).stdout_text << n.Logs();
  memory_incident_ = new std::string(JsonField(memory, "id").string_value());
  disk_incident_ = new std::string(JsonField(disk, "id").string_value());

  // The Salt master's memory alert picks salt-memory, whose automatic step
  // read memory on that host.
  EXPECT_EQ(JsonField(memory, "entry").string_value(), "salt-memory");
  const std::string memory_output = Shown(memory);
  EXPECT_THAT(memory_output, HasSubstr("Mem:")) << memory_output;
  EXPECT_EQ(StartedOperations(n.JournalOf(n.salt())).count("memory"), 1u);

  // The disk alert on the xqwatcher host picks xqwatcher-disk, with its
  // mountpoint; df shows the tmpfs, du names the big log first.
  EXPECT_EQ(JsonField(disk, "entry").string_value(), "xqwatcher-disk");
  EXPECT_EQ(JsonField(disk, "mountpoint").string_value(), n.edx_var);
  const std::string disk_output = Shown(disk);
  EXPECT_THAT(disk_output, HasSubstr(n.edx_var)) << disk_output;
  const size_t files = disk_output.find("largest files:\n");
  ASSERT_NE(files, std::string::npos) << disk_output;
  const std::string first = disk_output.substr(
      files + 15, disk_output.find('\n', files + 15) - files - 15);
  // 28 MiB and growing ("28M" or "29M" by now).
  int mib = 0;
  EXPECT_TRUE(absl::SimpleAtoi(first.substr(0, first.find('M')), &mib) &&
              mib >= 28)
      << disk_output;
  EXPECT_THAT(first, ::testing::EndsWith("\t" + n.log)) << disk_output;

  // The same memory alert from the other two hosts never picks the Salt
  // master's entry, and no other host has the full filesystem.
  ASSERT_TRUE(Eventually([&] {
    return !Id(Incident("MemoryUsageWarning", kXqwatcher)).empty() &&
           !Id(Incident("MemoryUsageWarning", kReddit)).empty();
  })) << alice().Run({"incidents", "--all"}).stdout_text;
  for (const char* host : {kXqwatcher, kReddit}) {
    const google::protobuf::Value other = Incident("MemoryUsageWarning", host);
    EXPECT_NE(JsonField(other, "entry").string_value(), "salt-memory") << host;
  }
  for (const char* host : {kSalt, kReddit})
    EXPECT_EQ(Id(Incident("DiskUsageWarning", host)), "")
        << host << "\n"
        << alice().Run({"incidents", "--all"}).stdout_text;
  EXPECT_EQ(StartedOperations(n.JournalOf(*n.reddit)).count("memory"), 0u);
}

TEST_F(SeedNightTest, TheSaltMemoryRunFromItsIncidentRestartsThatMasterOnly) {
  ASSERT_NE(memory_incident_, nullptr);
  Night& n = *night_;
  const int pid_before = n.SaltMasterPid();
  ASSERT_GT(pid_before, 0);
  ProgramResult run =
      alice().Run({"runbook", "run", "salt-memory", "--incident",
                   *memory_incident_, "--yes", "--reason", "seed night"});
  // Each change step names the one host it acts on.
  EXPECT_THAT(run.stdout_text,
              HasSubstr(absl::StrCat("$ opsctl restart ", kSalt,
                                     " salt-master.service")))
      << run.stdout_text << run.stderr_text;
  // The verification step wants 1 GiB available; the three hosts share
  // this machine's memory.
  if (MemAvailable() > (uint64_t{5} << 28)) {
    EXPECT_EQ(run.exit_code, 0) << run.stdout_text << run.stderr_text;
    EXPECT_THAT(run.stdout_text,
                HasSubstr("runbook salt-memory: 3 steps done"));
  }
  // salt-master.service was restarted: a new process runs it.
  const int pid_after = n.SaltMasterPid();
  EXPECT_GT(pid_after, 0);
  EXPECT_NE(pid_after, pid_before);

  // Only the alerting master, for its incident: the other agents never
  // restarted anything.
  int restarts = 0;
  for (const v1::JournalRecord& record : Journal(n.JournalOf(n.salt())))
    if (record.event() == v1::JournalRecord::STARTED &&
        record.operation() == "restart_service") {
      ++restarts;
      EXPECT_EQ(record.incident(), *memory_incident_);
    }
  EXPECT_EQ(restarts, 1);
  for (const TestAgent* other : {n.xqwatcher.get(), n.reddit.get()}) {
    EXPECT_EQ(StartedOperations(n.JournalOf(*other)).count("restart_service"),
              0u)
        << other->host_name;
    EXPECT_THAT(other->process->Log(), Not(HasSubstr("restart_service")))
        << other->host_name;
  }
  for (const std::string& row : TeamRows({"--operation", "restart_service"}))
    EXPECT_THAT(row, HasSubstr(absl::StrCat("\"host\":\"", kSalt, "\"")));
}

TEST_F(SeedNightTest, TruncatingTheXqwatcherLogResolvesTheDiskAlert) {
  ASSERT_NE(disk_incident_, nullptr);
  Night& n = *night_;
  // The runbook's mitigation step as written (its other step restarts
  // supervisor.service, which this machine does not run).
  ProgramResult truncated =
      alice().Run({"truncate", kXqwatcher, n.log, "--keep-tail", "10M", "--yes",
                   "--incident", *disk_incident_, "--reason",
                   "DiskUsageWarning xqwatcher"});
  ASSERT_EQ(truncated.exit_code, 0) << truncated.stderr_text;
  // Its last 10 MiB are kept; the writer goes on appending.
  EXPECT_LT(fs::file_size(n.log), uintmax_t{11} << 20);
  ASSERT_TRUE(Eventually(
      [&] {
        ProgramResult json = alice().Run(
            {"incident", "show", *disk_incident_, "--output", "json"});
        return JsonField(JsonField(ParseJson(json.stdout_text), "incident"),
                         "status")
                   .string_value() == "resolved";
      },
      absl::Seconds(40)))
      << n.Logs();
  ProgramResult markdown = alice().Run(
      {"incident", "show", *disk_incident_, "--output", "markdown"});
  EXPECT_THAT(markdown.stdout_text, HasSubstr("alert resolved"));
  EXPECT_THAT(markdown.stdout_text,
              HasSubstr(absl::StrCat("alice: truncate_log on ", kXqwatcher)));
  for (const TestAgent* other : {&n.salt(), n.reddit.get()})
    EXPECT_EQ(StartedOperations(n.JournalOf(*other)).count("truncate_log"), 0u)
        << other->host_name;
}

TEST_F(SeedNightTest, TheCleanNightReconcilesAndEveryActionIsInItsIncident) {
  ASSERT_NE(memory_incident_, nullptr);
  Night& n = *night_;
  ProgramResult reconciled =
      alice().Run({"audit", "reconcile", "--since", "1h"});
  EXPECT_EQ(reconciled.exit_code, 0)
      << reconciled.stdout_text << reconciled.stderr_text;
  EXPECT_THAT(reconciled.stderr_text, HasSubstr(" 0 discrepancies"));

  // What the agents themselves recorded for each incident, every call, is
  // in the incident's record.
  for (const std::string* incident : {memory_incident_, disk_incident_}) {
    ProgramResult shown =
        alice().Run({"incident", "show", *incident, "--output", "json"});
    ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
    std::set<std::string> in_incident;
    const google::protobuf::Value parsed = ParseJson(shown.stdout_text);
    for (const google::protobuf::Value& action :
         JsonField(parsed, "actions").list_value().values()) {
      EXPECT_EQ(JsonField(action, "incident").string_value(), *incident);
      in_incident.insert(JsonField(action, "request_id").string_value());
    }
    int journaled = 0;
    for (const TestAgent* agent :
         {&n.salt(), n.xqwatcher.get(), n.reddit.get()}) {
      for (const v1::JournalRecord& record : Journal(n.JournalOf(*agent))) {
        if (record.event() != v1::JournalRecord::STARTED ||
            record.incident() != *incident)
          continue;
        ++journaled;
        EXPECT_EQ(in_incident.count(record.request_id()), 1u)
            << *incident << " lacks " << record.operation() << " on "
            << agent->host_name << "\n"
            << shown.stdout_text;
      }
    }
    // The automatic diagnosis and what on-call did after it.
    EXPECT_GE(journaled, 2) << *incident;
  }
}

TEST_F(SeedNightTest,
       AtAFullDiskTheXqwatcherHostAnswersAndRecordsTheTruncation) {
  Night& n = *night_;
  // The log fills the filesystem holding the agent's journal to the last
  // byte (its writer dies of ENOSPC, as loggers do).
  {
    const int fd = open(n.log.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    const std::string block(1 << 16, '#');
    while (write(fd, block.data(), block.size()) > 0) {
    }
    while (write(fd, "#", 1) > 0) {
    }
    close(fd);
  }
  ASSERT_EQ(FreeBytes(n.edx_var), 0u);

  ProgramResult df = alice().Run({"df", kXqwatcher, "--all"});
  EXPECT_EQ(df.exit_code, 0) << df.stderr_text;
  EXPECT_THAT(df.stdout_text, HasSubstr(n.edx_var));
  EXPECT_THAT(df.stdout_text, HasSubstr("100%"));
  ProgramResult du = alice().Run({"du", kXqwatcher, n.edx_var});
  EXPECT_EQ(du.exit_code, 0) << du.stderr_text;
  EXPECT_THAT(du.stdout_text, HasSubstr(n.log));
  EXPECT_EQ(alice().Run({"mem", kXqwatcher}).exit_code, 0);

  ProgramResult truncated =
      alice().Run({"truncate", kXqwatcher, n.log, "--yes", "--output", "json",
                   "--reason", "full disk drill"});
  ASSERT_EQ(truncated.exit_code, 0)
      << truncated.stdout_text << truncated.stderr_text;
  EXPECT_GT(FreeBytes(n.edx_var), uint64_t{16} << 20);
  const std::string request_id = RequestId(truncated.stdout_text);
  ASSERT_FALSE(request_id.empty()) << truncated.stdout_text;
  int records = 0;
  for (const v1::JournalRecord& record : Journal(n.JournalOf(*n.xqwatcher)))
    records += record.request_id() == request_id ? 1 : 0;
  EXPECT_EQ(records, 2) << "the truncation's STARTED and FINISHED records";
  bool logged = false;
  for (const std::string& row : TeamRows({"--host", kXqwatcher})) {
    if (!absl::StrContains(row, request_id)) continue;
    logged = true;
    EXPECT_THAT(row, HasSubstr("\"outcome\":\"ok\""));
  }
  EXPECT_TRUE(logged) << request_id;
  // The host's journal and the team's log still agree.
  ProgramResult reconciled =
      alice().Run({"audit", "reconcile", "--host", kXqwatcher});
  EXPECT_EQ(reconciled.exit_code, 0)
      << reconciled.stdout_text << reconciled.stderr_text;
}

TEST_F(SeedNightTest, DirectBreakGlassReachesOneAgentAndIsAuditedLocally) {
  Night& n = *night_;
  auto cert =
      n.fleet->ca->Issue("operator-alice-laptop", {"alice", {"oncall"}});
  ASSERT_TRUE(cert.ok()) << cert.status();
  OpsctlRunner laptop(n.dir, "alice-laptop", cert->certificate,
                      cert->private_key, n.fleet->ca->certificate_path(), kSalt,
                      n.salt().port);
  laptop.AppendConfig(n.fleet->controller->OpsctlConfig());
  ProgramResult direct =
      laptop.Run({"--direct", "mem", kSalt, "--reason", "break-glass drill"});
  ASSERT_EQ(direct.exit_code, 0) << direct.stderr_text;
  std::vector<v1::AuditEntry> rows = laptop.AuditRows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].intent().host(), kSalt);
  EXPECT_EQ(rows[0].outcome(), v1::OUTCOME_OK);
  bool journaled = false;
  for (const v1::JournalRecord& record : Journal(n.JournalOf(n.salt())))
    if (record.event() == v1::JournalRecord::STARTED &&
        record.via() == "direct") {
      journaled = true;
      EXPECT_EQ(record.reason(), "break-glass drill");
      EXPECT_EQ(record.operation(), "memory");
    }
  EXPECT_TRUE(journaled);
  // Only the agent named: no other host saw a direct call.
  for (const TestAgent* other : {n.xqwatcher.get(), n.reddit.get()})
    for (const v1::JournalRecord& record : Journal(n.JournalOf(*other)))
      EXPECT_NE(record.via(), "direct") << other->host_name;
}

TEST_F(SeedNightTest, AControllerKilledMidChangeLeavesItUnknownAndExplained) {
  Night& n = *night_;
  auto run = alice().Start(
      {"exec", kReddit, "slow", "--yes", "--reason", "controller drill"},
      n.dir + "/slow.out", n.dir + "/slow.err");
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(Eventually([&] {
    return absl::StrContains(n.reddit->process->Log(), "start run_command");
  })) << n.reddit->process->Log();
  n.fleet->controller->Kill();
  absl::StatusOr<int> exit = run->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(*exit, 6) << ReadFileOrDie(n.dir + "/slow.err");

  ASSERT_TRUE(n.fleet->controller->Restart().ok());
  ASSERT_TRUE(
      Eventually([&] { return ConnectedHosts() == 3; }, absl::Seconds(30)))
      << alice().Run({"hosts"}).stdout_text;
  // The agent finishes the call on its own (it was never told to stop).
  const std::string journal = n.JournalOf(*n.reddit);
  std::string request_id;
  ASSERT_TRUE(Eventually(
      [&] {
        for (const v1::JournalRecord& record : Journal(journal))
          if (record.operation() == "run_command" &&
              record.event() == v1::JournalRecord::FINISHED)
            request_id = record.request_id();
        return !request_id.empty();
      },
      absl::Seconds(20)))
      << ReadFileOrDie(journal);
  // Not pending: unknown, with where its outcome is.
  std::string row;
  for (const std::string& line :
       TeamRows({"--host", kReddit, "--operation", "run_command"}))
    row = line;
  EXPECT_THAT(row, HasSubstr("\"outcome\":\"unknown\""));
  EXPECT_THAT(row, HasSubstr("opsctl audit reconcile"));
  // Reconcile reads the agent's journal: it knows how the call ended.
  ProgramResult reconciled =
      alice().Run({"audit", "reconcile", "--host", kReddit});
  EXPECT_EQ(reconciled.exit_code, 7)
      << reconciled.stdout_text << reconciled.stderr_text;
  const std::string report = reconciled.stdout_text + reconciled.stderr_text;
  EXPECT_THAT(report, HasSubstr("outcome_differs")) << report;
  EXPECT_EQ(RequestId(row), request_id) << row;
  EXPECT_THAT(report, HasSubstr(request_id)) << report;
}

TEST_F(SeedNightTest, AnAgentDownIsDisconnectedAndUnreachableOthersAnswer) {
  Night& n = *night_;
  n.reddit->process->process().Signal(SIGKILL);
  ASSERT_TRUE(n.reddit->process->process().Wait(absl::Seconds(10)).ok());
  EXPECT_TRUE(Eventually([&] {
    for (const std::string& line : Lines(alice().Run({"hosts"}).stdout_text))
      if (absl::StartsWith(line, absl::StrCat(kReddit, " ")))
        return absl::StrContains(line, "disconnected");
    return false;
  })) << alice().Run({"hosts"}).stdout_text;
  ProgramResult gone = alice().Run({"mem", kReddit});
  EXPECT_EQ(gone.exit_code, 4) << gone.stderr_text;
  EXPECT_THAT(gone.stderr_text, HasSubstr("not connected"));
  EXPECT_EQ(alice().Run({"mem", kSalt}).exit_code, 0);
  EXPECT_EQ(alice().Run({"df", kXqwatcher}).exit_code, 0);
}

}  // namespace
}  // namespace opsagent
