#!/usr/bin/env bash
# Builds the Debian packages opsagent_VERSION_amd64.deb,
# opsctl_VERSION_amd64.deb and opsctld_VERSION_amd64.deb with dpkg-deb.
#
#   bash deploy/debian/build-debs.sh OUTDIR [OPSAGENT_BINARY OPSCTL_BINARY OPSCTLD_BINARY]
#
# Without binaries it builds them with Bazel first. opsagent installs the
# binary, the hardened systemd unit (not enabled: it needs certificates
# first), a default configuration as a conffile, its man page and the docs.
# opsctl installs the CLI, its man page (every command's --help) and example
# configuration, inventory and runbooks. opsctld installs the controller, its
# hardened unit (not enabled), a default configuration as a conffile and its
# man page.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:?usage: build-debs.sh OUTDIR [OPSAGENT_BINARY OPSCTL_BINARY]}"
if [ $# -ge 4 ]; then
  opsagent_bin="$2" opsctl_bin="$3" opsctld_bin="$4"
else
  (cd "$root" && bazel build //agent:opsagent //controller/opsctl //controller/opsctld)
  opsagent_bin="$root/bazel-bin/agent/opsagent"
  opsctl_bin="$root/bazel-bin/controller/opsctl/opsctl"
  opsctld_bin="$root/bazel-bin/controller/opsctld/opsctld"
fi
version="$("$opsagent_bin" --version | awk '{print $2}')"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Debian packages providing the shared libraries a binary links directly.
depends_of() {
  readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while read -r soname; do
    lib="$(ldconfig -p | awk -v n="$soname" '$1 == n && /x86-64/ {print $NF; exit}')"
    dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib"
  done | cut -d: -f1 | sort -u | paste -sd, | sed 's/,/, /g'
}

# A man page whose body is the program's own help text, verbatim.
man_page() {  # NAME SECTION SUMMARY HELP_TEXT_FILE
  printf '.TH %s %s "" "opsagent %s" "opsagent"\n' \
    "$(echo "$1" | tr a-z A-Z)" "$2" "$version"
  printf '.SH NAME\n%s \\- %s\n.SH DESCRIPTION\n.nf\n' "$1" "$3"
  sed -e 's/\\/\\e/g' -e 's/^[.'\'']/\\\&&/' "$4"
  printf '.fi\n.SH SEE ALSO\n/usr/share/doc/opsagent/\n'
}

control() {  # PACKAGE DEPENDS DESCRIPTION
  cat <<CONTROL
Package: $1
Version: $version
Architecture: amd64
Maintainer: opsagent maintainers <opsagent@localhost>
Section: admin
Priority: optional
Depends: $2
Description: $3
CONTROL
}

# --- opsagent
pkg="$work/opsagent"
install -D -m 0755 "$opsagent_bin" "$pkg/usr/sbin/opsagent"
install -D -m 0644 "$root/deploy/systemd/opsagent.service" \
  "$pkg/lib/systemd/system/opsagent.service"
install -D -m 0640 "$root/deploy/examples/agent.textproto" \
  "$pkg/etc/opsagent/agent.textproto"
install -d -m 0700 "$pkg/etc/opsagent/tls"
for doc in README.md docs/SECURITY.md docs/AUDIT.md; do
  install -D -m 0644 "$root/$doc" "$pkg/usr/share/doc/opsagent/$(basename "$doc")"
done
"$pkg/usr/sbin/opsagent" --help >"$work/opsagent.help" 2>&1 || true
"$pkg/usr/sbin/opsagent" --list_operations >>"$work/opsagent.help"
install -d "$pkg/usr/share/man/man8"
man_page opsagent 8 "vetted, audited host operations over mutual TLS" \
  "$work/opsagent.help" | gzip -9n >"$pkg/usr/share/man/man8/opsagent.8.gz"
install -d "$pkg/DEBIAN"
control opsagent "$(depends_of "$opsagent_bin"), systemd" \
  "vetted host operations for on-call over mutual TLS
 A small daemon exposing only vetted operations (memory and disk
 inspection, truncation of allow-listed logs, restarts with verification,
 declared commands with validated parameters) to opsctl. No shell, deny by
 default, identities from verified client certificates, and an append-only
 journal of every change. Place certificates in /etc/opsagent/tls, edit
 /etc/opsagent/agent.textproto, then: systemctl enable --now opsagent" \
  >"$pkg/DEBIAN/control"
echo /etc/opsagent/agent.textproto >"$pkg/DEBIAN/conffiles"
cat >"$pkg/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
POSTINST
chmod 0755 "$pkg/DEBIAN/postinst"
dpkg-deb --root-owner-group --build "$pkg" "$out/opsagent_${version}_amd64.deb" >/dev/null

# --- opsctl
pkg="$work/opsctl"
install -D -m 0755 "$opsctl_bin" "$pkg/usr/bin/opsctl"
examples="$pkg/usr/share/doc/opsctl/examples"
install -D -m 0644 "$root/deploy/examples/opsctl.textproto" "$examples/opsctl.textproto"
install -D -m 0644 "$root/deploy/examples/inventory.textproto" "$examples/inventory.textproto"
install -d "$examples/runbooks"
install -m 0644 "$root"/runbooks/*.textproto "$examples/runbooks/"
install -D -m 0644 "$root/docs/AUDIT.md" "$pkg/usr/share/doc/opsctl/AUDIT.md"
{
  "$opsctl_bin" --help
  for command in $("$opsctl_bin" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}'); do
    printf '\n'
    "$opsctl_bin" "$command" --help
  done
} >"$work/opsctl.help" 2>&1
install -d "$pkg/usr/share/man/man1"
man_page opsctl 1 "run vetted operations and runbooks on opsagent hosts, audited" \
  "$work/opsctl.help" | gzip -9n >"$pkg/usr/share/man/man1/opsctl.1.gz"
install -d "$pkg/DEBIAN"
control opsctl "$(depends_of "$opsctl_bin")" \
  "on-call CLI for opsagent hosts, with a SQLite audit log
 Targets one host or many (names, globs, roles, environments), runs vetted
 operations and whole runbook entries, triages pasted alerts, and records
 every action before and after it runs in a tamper-evident SQLite audit log." \
  >"$pkg/DEBIAN/control"
dpkg-deb --root-owner-group --build "$pkg" "$out/opsctl_${version}_amd64.deb" >/dev/null

# --- opsctld
pkg="$work/opsctld"
install -D -m 0755 "$opsctld_bin" "$pkg/usr/sbin/opsctld"
install -D -m 0644 "$root/deploy/systemd/opsctld.service" \
  "$pkg/lib/systemd/system/opsctld.service"
install -D -m 0640 "$root/deploy/examples/opsctld.textproto" \
  "$pkg/etc/opsctld/opsctld.textproto"
install -d -m 0700 "$pkg/etc/opsctld/tls"
for doc in README.md docs/SECURITY.md docs/AUDIT.md; do
  install -D -m 0644 "$root/$doc" "$pkg/usr/share/doc/opsctld/$(basename "$doc")"
done
"$pkg/usr/sbin/opsctld" --help >"$work/opsctld.help" 2>&1 || true
install -d "$pkg/usr/share/man/man8"
man_page opsctld 8 "the team's opsagent controller" \
  "$work/opsctld.help" | gzip -9n >"$pkg/usr/share/man/man8/opsctld.8.gz"
install -d "$pkg/DEBIAN"
control opsctld "$(depends_of "$opsctld_bin"), systemd" \
  "the team's controller for opsagent hosts
 Agents dial in and hold one mutual-TLS link each; operators' opsctl run
 operations on one host or many through it, and every action is recorded
 in one tamper-evident SQLite audit log before and after it runs. It
 relays; each agent verifies and authorizes the operator itself. Place
 certificates in /etc/opsctld/tls, edit /etc/opsctld/opsctld.textproto,
 then: systemctl enable --now opsctld" \
  >"$pkg/DEBIAN/control"
echo /etc/opsctld/opsctld.textproto >"$pkg/DEBIAN/conffiles"
cat >"$pkg/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
POSTINST
chmod 0755 "$pkg/DEBIAN/postinst"
dpkg-deb --root-owner-group --build "$pkg" "$out/opsctld_${version}_amd64.deb" >/dev/null

ls "$out"/*.deb
