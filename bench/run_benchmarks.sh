#!/usr/bin/env bash
# Side-by-side benchmarks, one run, against what on-call uses today:
#   1. `opsctl mem HOST` vs `ssh HOST free -h` (OpenSSH on loopback, key auth),
#      and `opsctl load HOST` vs `ssh HOST 'uptime; cat /proc/pressure/*'`
#   2. `opsctl du HOST TREE` vs `du -x TREE | sort -hr | head` on 200,000 files
#   3. opsagent RSS after start-up and after the calls this run made (at
#      least 1,000, counted from this agent's own log)
#   4. truncating a 1 GiB log held open by a writer: the agent's
#      LogTruncator vs what coreutils truncate does (open + ftruncate), both
#      in one process, several repetitions each
# Prints a Markdown report (also written to bench/results/latest.md).
# Needs root (sshd); installs openssh-server and hyperfine from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/dev/local_env.sh
source bench/loopback_sshd.sh

export DEBIAN_FRONTEND=noninteractive
bash deploy/dev/install-deps.sh
for p in openssh-server openssh-client hyperfine python3 sqlite3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    { apt-get update -qq; apt-get install -y -qq --no-install-recommends "$p" >/dev/null; }
done
targets="//agent:opsagent //controller/opsctl //bench:truncate_held_log //tests/testing:log_writer"
bazel build -c opt $targets >/dev/null 2>&1 || bazel build -c opt $targets

work=${BENCH_DIR:-/tmp/opsagent-bench}
files=${BENCH_FILES:-200000}
runs=${BENCH_RUNS:-20}
mkdir -p "$work" bench/results
tree=$work/tree

# --- a tree of $files files: 200 directories of files, two levels deep
if [ ! -f "$tree/.complete-$files" ]; then
  rm -rf "$tree"
  mkdir -p "$tree"
  per_dir=$((files / 200))
  python3 - "$tree" 200 "$per_dir" <<'PY'
import os, sys
root, dirs, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(dirs):
    path = os.path.join(root, f"app{d % 20}", f"d{d}")
    os.makedirs(path, exist_ok=True)
    for f in range(per):
        with open(os.path.join(path, f"f{f}.log"), "wb") as out:
            out.write(b"x" * ((f * 37 + d) % 9000))
PY
  touch "$tree/.complete-$files"
fi

local_env_setup "$work/env" "${BENCH_PORT:-9543}" "$tree"
local_env_start_agent
rss_start=$(awk '/VmRSS/{print $2}' /proc/$agent_pid/status)

# --- sshd on loopback with key auth
start_loopback_sshd "$work/ssh" "${BENCH_SSH_PORT:-2222}"
trap 'kill $agent_pid $sshd_pid 2>/dev/null; wait 2>/dev/null || true' EXIT
$ssh_cmd free -h >/dev/null

hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/mem.json" \
  -n "opsctl mem" "$opsctl_bin mem localhost" \
  -n "ssh free -h" "$ssh_cmd free -h" >/dev/null
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/load.json" \
  -n "opsctl load" "$opsctl_bin load localhost" \
  -n "ssh uptime; cat /proc/pressure/*" "$ssh_cmd 'uptime; cat /proc/pressure/cpu /proc/pressure/memory /proc/pressure/io'" >/dev/null
hyperfine --warmup 2 --runs "$((runs / 2 > 3 ? runs / 2 : 3))" --export-json "$work/du.json" \
  -n "opsctl du" "$opsctl_bin du localhost $tree" \
  -n "GNU du | sort | head" "du -x $tree | sort -hr | head" >/dev/null

# --- RSS after the calls of this run: the agent started afresh above and
# logs one "done" line per call, so its own log counts them (the audit
# database may hold rows from earlier runs).
served() { grep -c ' done ' "$work/env/agent.log"; }
calls=$(served)
while [ "$calls" -lt 1000 ]; do
  "$opsctl_bin" mem localhost >/dev/null
  calls=$((calls + 1))
done
rss_after=$(awk '/VmRSS/{print $2}' /proc/$agent_pid/status)
calls=$(served)

mean() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join('%.4f %.4f' % (x['mean'], x['stddev']) for x in r))" "$1"; }
read -r mem_ops mem_ops_sd mem_ssh mem_ssh_sd <<<"$(mean "$work/mem.json")"
read -r du_ops du_ops_sd du_gnu du_gnu_sd <<<"$(mean "$work/du.json")"
read -r load_ops load_ops_sd load_ssh load_ssh_sd <<<"$(mean "$work/load.json")"
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
ms() { python3 -c "print('%.1f' % ($1 * 1000))"; }

report=bench/results/latest.md
{
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r); $files files; hyperfine $runs runs (du: fewer), warm caches."
  echo
  echo "| benchmark | opsagent | baseline | ratio (opsagent / baseline) | goal |"
  echo "| --- | --- | --- | --- | --- |"
  echo "| \`opsctl mem localhost\` vs \`ssh localhost free -h\` (whole process) | $(ms "$mem_ops") ms ± $(ms "$mem_ops_sd") | $(ms "$mem_ssh") ms ± $(ms "$mem_ssh_sd") | $(ratio "$mem_ops" "$mem_ssh") | ≤ 0.20 |"
  echo "| \`opsctl load localhost\` vs \`ssh localhost 'uptime; cat /proc/pressure/{cpu,memory,io}'\` | $(ms "$load_ops") ms ± $(ms "$load_ops_sd") | $(ms "$load_ssh") ms ± $(ms "$load_ssh_sd") | $(ratio "$load_ops" "$load_ssh") | ≤ 0.20 |"
  echo "| \`opsctl du localhost TREE\` vs \`du -x TREE \| sort -hr \| head\` | $(ms "$du_ops") ms ± $(ms "$du_ops_sd") | $(ms "$du_gnu") ms ± $(ms "$du_gnu_sd") | $(ratio "$du_ops" "$du_gnu") | ≤ 1.0 |"
  echo "| opsagent VmRSS after start-up | $((rss_start / 1024)).$(( (rss_start % 1024) * 10 / 1024 )) MiB | | | < 20 MiB |"
  echo "| opsagent VmRSS after the $calls calls this agent served in this run | $((rss_after / 1024)).$(( (rss_after % 1024) * 10 / 1024 )) MiB | | | < 20 MiB |"
  echo
  mkdir -p "$work/truncate"
  bazel-bin/bench/truncate_held_log "$work/truncate" bazel-bin/tests/testing/log_writer \
    "${BENCH_TRUNCATE_MIB:-1024}" "${BENCH_TRUNCATE_RUNS:-3}"
} | tee "$report"
