#!/usr/bin/env bash
# Installs what building and testing opsagent needs on Debian 12 (as root).
set -euo pipefail
packages=(
  bazel-bootstrap g++ pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libspdlog-dev libfmt-dev libsqlite3-dev libssl-dev libsystemd-dev
  libgtest-dev libgmock-dev libre2-dev libpq-dev postgresql-15
  openssl sqlite3 clang-format clang-14 libclang-rt-14-dev
  systemd supervisor
  libmicrohttpd-dev nlohmann-json3-dev curl libcpp-httplib-dev libcurl4-gnutls-dev
  prometheus prometheus-alertmanager prometheus-node-exporter
  chromium
  build-essential debhelper devscripts lintian fakeroot
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
