// load: what `uptime` shows of the load (its averages, and the CPUs they
// compare against; `info` has the uptime), with the kernel's pressure stall
// information, which says what the load is waiting for: CPU, memory or I/O.

#include <unistd.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/ops/operation.h"
#include "agent/ops/registry.h"
#include "agent/system/proc_file.h"
#include "opsagent/v1/agent.pb.h"

namespace opsagent {
namespace {

// /proc/loadavg: "0.52 0.58 0.59 3/721 12345".
absl::Status ParseLoadAverage(absl::string_view text, v1::LoadReply* reply) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(text, absl::ByAnyChar(" \n"), absl::SkipEmpty());
  double load[3];
  std::vector<absl::string_view> tasks;
  if (fields.size() >= 4) tasks = absl::StrSplit(fields[3], '/');
  uint32_t runnable = 0;
  uint32_t total = 0;
  if (fields.size() < 4 || !absl::SimpleAtod(fields[0], &load[0]) ||
      !absl::SimpleAtod(fields[1], &load[1]) ||
      !absl::SimpleAtod(fields[2], &load[2]) || tasks.size() != 2 ||
      !absl::SimpleAtoi(tasks[0], &runnable) ||
      !absl::SimpleAtoi(tasks[1], &total)) {
    return absl::InternalError("/proc/loadavg is not in the kernel's format");
  }
  reply->set_load1(load[0]);
  reply->set_load5(load[1]);
  reply->set_load15(load[2]);
  reply->set_runnable_tasks(runnable);
  reply->set_total_tasks(total);
  return absl::OkStatus();
}

// One /proc/pressure file: "some avg10=0.00 avg60=0.00 avg300=0.00
// total=0", then the same for "full". False when the kernel keeps none.
bool ReadPressure(const std::string& path, v1::Pressure* pressure) {
  absl::StatusOr<std::string> text = ReadProcFile(path);
  if (!text.ok()) return false;
  bool found = false;
  for (absl::string_view line :
       absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 4) continue;
    const bool some = fields[0] == "some";
    if (!some && fields[0] != "full") continue;
    double averages[3];
    bool parsed = true;
    for (int i = 0; i < 3; ++i) {
      std::pair<absl::string_view, absl::string_view> named =
          absl::StrSplit(fields[i + 1], '=');
      parsed = parsed && absl::SimpleAtod(named.second, &averages[i]);
    }
    if (!parsed) continue;
    found = true;
    if (some) {
      pressure->set_some_avg10(averages[0]);
      pressure->set_some_avg60(averages[1]);
      pressure->set_some_avg300(averages[2]);
    } else {
      pressure->set_full_avg10(averages[0]);
      pressure->set_full_avg60(averages[1]);
      pressure->set_full_avg300(averages[2]);
    }
  }
  return found;
}

absl::Status RunLoad(const OperationContext& /*context*/,
                     const v1::LoadRequest& /*request*/, v1::LoadReply* reply) {
  absl::StatusOr<std::string> loadavg = ReadProcFile("/proc/loadavg");
  if (!loadavg.ok()) return loadavg.status();
  if (absl::Status parsed = ParseLoadAverage(*loadavg, reply); !parsed.ok())
    return parsed;
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  reply->set_cpus(cpus > 0 ? static_cast<uint32_t>(cpus) : 0);
  if (!ReadPressure("/proc/pressure/cpu", reply->mutable_cpu()))
    reply->clear_cpu();
  if (!ReadPressure("/proc/pressure/memory", reply->mutable_memory()))
    reply->clear_memory();
  if (!ReadPressure("/proc/pressure/io", reply->mutable_io()))
    reply->clear_io();
  return absl::OkStatus();
}

}  // namespace

OPSAGENT_OPERATION(GetLoad, RunLoad);

}  // namespace opsagent
