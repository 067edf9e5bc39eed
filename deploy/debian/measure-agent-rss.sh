#!/usr/bin/env bash
# The agent's resident memory (VmRSS of /proc/PID/status) as
# docs/BENCHMARKS.md reports it: after start-up, idle, and after CALLS calls
# (`opsctl mem` over mutual TLS), with the development configuration of
# deploy/dev/local_env.sh (the one demo.sh and the benchmarks use):
#   bash deploy/debian/measure-agent-rss.sh OPSAGENT OPSCTL [CALLS]
# Compare two builds with the same opsctl, e.g. the packaged build
# (bazel build --config=release) against `bazel build -c opt`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
source "$repo/deploy/dev/local_env.sh"
agent="$(readlink -f "${1:?usage: measure-agent-rss.sh OPSAGENT OPSCTL [CALLS]}")"
opsctl="$(readlink -f "${2:?usage: measure-agent-rss.sh OPSAGENT OPSCTL [CALLS]}")"
calls=${3:-200}
dev="$(mktemp -d)"
local_env_setup "$dev/env" "${RSS_PORT:-9643}" "$dev"
agent_bin=$agent opsctl_bin=$opsctl
local_env_start_agent
trap 'kill "$agent_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dev"' EXIT
mib() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$agent_pid/status"; }
# Of which file-backed (the binary and shared libraries' pages, shared with
# every process mapping the same files) and anonymous (the agent's own).
split() { awk '/RssAnon/ { a = $2 } /RssFile/ { f = $2 } END { printf "anon %.1f, file %.1f", a / 1024, f / 1024 }' "/proc/$agent_pid/status"; }
sleep 2
idle="$(mib) MiB ($(split))"
for _ in $(seq "$calls"); do "$opsctl_bin" mem localhost >/dev/null; done
sleep 1
echo "$agent: VmRSS idle after start-up $idle, after $calls calls $(mib) MiB ($(split))"
