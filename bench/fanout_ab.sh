#!/usr/bin/env bash
# Fan-out through the controller, two builds side by side: `opsctl mem` on
# N real agents (bench/fanout_vs_ssh.sh's fleet) for an earlier commit and
# for the working tree, each with its own opsctld and agents, both fleets up
# at once, the runs alternating (A B, then B A) so that a machine that slows
# down mid-run slows both. Prints mean ± stdev and the ratio per level.
#   bench/fanout_ab.sh COMMIT [N]    (default 200; needs root)
# Builds COMMIT in a git worktree under $BENCH_DIR (another Bazel output
# base). All "hosts" share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
commit=${1:?usage: bench/fanout_ab.sh COMMIT [N]}
n=${2:-200}
work=${BENCH_DIR:-/tmp/opsagent-bench}/ab
mkdir -p "$work"
if [ ! -d "$work/old" ]; then git worktree add -f "$work/old" "$commit" >/dev/null; fi
git -C "$work/old" checkout -q --detach "$commit"
[ -e "$work/shared" ] || ln -s "$(pwd)/../shared" "$work/shared"
# Before 2026-12-07 the two mains were //controller:opsctl and :opsctld.
layout() {  # a checkout's targets, then its binaries' paths in bazel-bin
  if [ -f "$1/controller/opsctl/BUILD.bazel" ]; then
    echo "//controller/opsctl //controller/opsctld controller/opsctl/opsctl controller/opsctld/opsctld"
  else
    echo "//controller:opsctl //controller:opsctld controller/opsctl controller/opsctld"
  fi
}
build_and_copy() {  # checkout $1, its binaries into $2 in today's layout
  set -- "$1" "$2" $(layout "$1")
  (cd "$1" && bazel build -c opt //agent:opsagent "$3" "$4" >/dev/null 2>&1)
  mkdir -p "$2/agent" "$2/controller/opsctl" "$2/controller/opsctld"
  cp -f "$1/bazel-out/k8-opt/bin/agent/opsagent" "$2/agent/"
  cp -f "$1/bazel-out/k8-opt/bin/$5" "$2/controller/opsctl/opsctl"
  cp -f "$1/bazel-out/k8-opt/bin/$6" "$2/controller/opsctld/opsctld"
}
build_and_copy "$work/old" "$work/bin-a"
build_and_copy "$(pwd)" "$work/bin-b"

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
for side in a b; do
  port=$([ "$side" = a ] && echo 21000 || echo 24000)
  BENCH_BIN_DIR=$work/bin-$side BENCH_DIR=$work/$side BENCH_BASE_PORT=$port \
    BENCH_FLEET_ONLY=1 bash bench/fanout_vs_ssh.sh "$n" >"$work/fleet-$side.out" 2>&1 &
  pids+=($!)
done
for side in a b; do
  until grep -q "fleet ready" "$work/fleet-$side.out"; do sleep 1; done
done
python3 - "$work" "$n" "$commit" "${BENCH_CONCURRENCY:-50 200}" "${BENCH_RUNS:-12}" <<'PY'
import os, statistics, subprocess, sys, time
work, n, commit, levels, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
sides = {s: (f"{work}/{s}/fanout/opsctl-controller.textproto", f"{work}/bin-{s}/controller/opsctl/opsctl") for s in "ab"}
for level in map(int, levels.split()):
    times = {"a": [], "b": []}
    for i in range(runs + 1):
        for s in ("ab" if i % 2 == 0 else "ba"):
            config, opsctl = sides[s]
            start = time.time()
            out = subprocess.run([opsctl, "mem", "role:bench", "--concurrency", str(level), "--output", "json"],
                                 env=dict(os.environ, OPSCTL_CONFIG=config), capture_output=True).stdout
            took = time.time() - start
            if i > 0 and out.count(b'"outcome":"ok"') == n:  # the first round warms up
                times[s].append(took)
    a, b = times["a"], times["b"]
    ms = lambda t: f"{statistics.mean(t)*1000:.0f} ms ± {statistics.stdev(t)*1000:.0f} ({len(t)} runs, all {n} ok)"
    print(f"| `opsctl mem` on {n} agents through opsctld, --concurrency {level} | {commit}: {ms(a)} | this tree: {ms(b)} | {statistics.mean(b)/statistics.mean(a):.2f} |")
PY
