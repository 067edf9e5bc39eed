#!/usr/bin/env bash
# Builds the Debian packages opsagent, opsctl and opsctld (and their -dbgsym
# packages of debug symbols) the Debian way: the debian/ directory beside
# this script, driven by debhelper (dh), over binaries built with
# `bazel build --config=release` (optimized and hardened: see .bazelrc).
#
#   bash deploy/debian/build-debs.sh [--version VERSION] OUTDIR \
#       [OPSAGENT_BINARY OPSCTL_BINARY OPSCTLD_BINARY]
#
# Without binaries it builds them with Bazel first, and runs lintian on the
# result (no error, no warning but the overridden). The package version is
# the one in common/version.h, which must be the version of the newest entry
# of debian/changelog; --version VERSION (greater, such as 0.1.0+1) adds an
# entry above it in the staged copy only, for a rebuild of the same source
# (the install/upgrade test builds the tree twice this way).
#
# dh installs the binaries, the systemd units (not enabled: each needs its
# certificates first; restarted on upgrade if running, stopped on remove),
# the conffiles, the man pages (deploy/debian/man) and the docs; dh_strip
# splits the debug information into -dbgsym .ddeb packages; dh_shlibdeps
# derives Depends from the binaries' shared libraries (libssl3, zlib1g...).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
usage="usage: build-debs.sh [--version VERSION] OUTDIR [OPSAGENT_BINARY OPSCTL_BINARY OPSCTLD_BINARY]"
version_override=""
if [ "${1:-}" = --version ]; then
  version_override="${2:?$usage}"
  shift 2
fi
out="${1:?$usage}"
given_binaries=""
if [ $# -ge 4 ]; then
  opsagent_bin="$2" opsctl_bin="$3" opsctld_bin="$4" given_binaries=yes
elif [ $# -eq 1 ]; then
  targets=(//agent:opsagent //controller/opsctl //controller/opsctld)
  (cd "$root" && bazel build --config=release --jobs=2 "${targets[@]}")
  bin="$(cd "$root" && bazel info --config=release bazel-bin 2>/dev/null)"
  opsagent_bin="$bin/agent/opsagent"
  opsctl_bin="$bin/controller/opsctl/opsctl"
  opsctld_bin="$bin/controller/opsctld/opsctld"
else
  echo "$usage" >&2
  exit 2
fi

# One version, said once: common/version.h, which the binaries print and
# the newest changelog entry must name.
version="$("$opsagent_bin" --version | awk '{print $2}')"
changelog_version="$(dpkg-parsechangelog -l "$root/deploy/debian/debian/changelog" -S Version)"
if [ "$version" != "$changelog_version" ]; then
  echo "the binaries are version $version (common/version.h), deploy/debian/debian/changelog's newest entry $changelog_version: add a changelog entry (dch -v $version)" >&2
  exit 1
fi
for binary in "$opsctl_bin" "$opsctld_bin"; do
  reported="$("$binary" --version | awk '{print $2}')"
  if [ "$reported" != "$version" ]; then
    echo "$binary reports version $reported, opsagent $version: rebuild them together" >&2
    exit 1
  fi
done
package_version="${version_override:-$version}"
if ! dpkg --compare-versions "$package_version" ge "$version"; then
  echo "--version $package_version is older than $version" >&2
  exit 2
fi

mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- the staged source tree: debian/ and what debian/*.install names
src="$work/opsagent-$package_version"
mkdir -p "$src"
cp -rL "$root/deploy/debian/debian" "$src/debian"
cp "$root/deploy/systemd/opsagent.service" "$src/debian/opsagent.service"
cp "$root/deploy/systemd/opsctld.service" "$src/debian/opsctld.service"
install -D -m 0755 "$opsagent_bin" "$src/build/opsagent"
install -D -m 0755 "$opsctl_bin" "$src/build/opsctl"
install -D -m 0755 "$opsctld_bin" "$src/build/opsctld"
install -D -m 0644 "$root/deploy/examples/agent.textproto" "$src/conf/opsagent/agent.textproto"
install -D -m 0644 "$root/deploy/examples/opsctld.textproto" "$src/conf/opsctld/opsctld.textproto"
mkdir -p "$src/man" "$src/doc" "$src/examples/runbooks"
cp "$root"/deploy/debian/man/* "$src/man/"
cp "$root/README.md" "$root/docs/SECURITY.md" "$root/docs/AUDIT.md" "$root/docs/DEPLOY.md" "$src/doc/"
cp "$root/deploy/examples/opsctl.textproto" "$root/deploy/examples/inventory.textproto" "$src/examples/"
cp "$root"/runbooks/*.textproto "$src/examples/runbooks/"
if [ -n "$version_override" ] && [ "$version_override" != "$version" ]; then
  {
    printf 'opsagent (%s) unstable; urgency=medium\n\n' "$version_override"
    printf '  * Rebuild of %s.\n\n' "$version"
    printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l "$src/debian/changelog" -S Maintainer)" \
      "$(date -R)"
    cat "$src/debian/changelog"
  } >"$work/changelog"
  mv "$work/changelog" "$src/debian/changelog"
fi

# -b: binary packages only (the source is this repository, not a tarball).
# OPSAGENT_DEB_LOG=FILE keeps dpkg-buildpackage's output.
log="${OPSAGENT_DEB_LOG:-$work/build.log}"
if ! (cd "$src" && dpkg-buildpackage -b -us -uc) >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
# The packages and their -dbgsym packages of debug symbols.
cp "$work"/*_"$package_version"_amd64.deb "$out/"
ls "$out"/*_"$package_version"_amd64.deb
# What ships (built here with --config=release) passes lintian: no error,
# no warning but those overridden with a reason (debian/*.lintian-overrides).
if [ -z "$given_binaries" ]; then
  lintian --fail-on error,warning --tag-display-limit 0 "$out"/*_"$package_version"_amd64.deb
fi
