#!/usr/bin/env bash
# Installs, upgrades, removes and purges the Debian packages on a clean root
# under real systemd, as an administrator would:
#   - the packages are built twice from the binaries under test, as 0.1.0 and
#     as 0.1.0+1 (build-debs.sh --version);
#   - the root is an overlay over the host's / (writes go to a tmpfs), in a
#     private mount namespace; Debian's systemd boots as PID 1 of a private
#     PID namespace chrooted into it (a target with journald only), so the
#     maintainer scripts' deb-systemd-helper and deb-systemd-invoke act on a
#     real service manager and nothing reaches the host's;
#   - install: both units present, neither enabled nor started, the user
#     opsctld made, the configuration readable by its group;
#   - with certificates and an edited conffile, both services enabled and
#     running (opsctld as the user opsctld);
#   - upgrade: each service runs the new binary (a new process whose
#     /proc/PID/exe is the installed file, not the deleted old one), the
#     edited conffile kept;
#   - remove: both daemons stopped, their state kept;
#   - purge: state, logs and conffiles gone.
# Needs root, overlayfs and namespaces: tagged no-sandbox and exclusive.
set -uo pipefail

if [ "${1:-}" != --inside ]; then
  exec unshare --mount --propagation private -- "$0" --inside
fi

failures=0
check() {  # DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then
    echo "ok: $what"
  else
    echo "FAILED: $what" >&2
    failures=$((failures + 1))
  fi
}
die() { echo "FATAL: $*" >&2; exit 1; }
not() { ! "$@" >/dev/null 2>&1; }
quiet() { "$@" >/dev/null 2>&1; }

repo=$PWD
bin_agent=$(readlink -f agent/opsagent)
bin_opsctl=$(readlink -f controller/opsctl/opsctl)
bin_opsctld=$(readlink -f controller/opsctld/opsctld)
work=${TEST_TMPDIR:-$(mktemp -d)}/lifecycle
mkdir -p "$work"

# --- two builds of the same tree
bash deploy/debian/build-debs.sh "$work/debs" "$bin_agent" "$bin_opsctl" "$bin_opsctld" >/dev/null ||
  die "building 0.1.0 failed"
bash deploy/debian/build-debs.sh --version 0.1.0+1 "$work/debs" "$bin_agent" "$bin_opsctl" "$bin_opsctld" >/dev/null ||
  die "building 0.1.0+1 failed"

# --- the clean root: an overlay over / whose writes land on a tmpfs
layers=$work/layers
mkdir -p "$layers"
mount -t tmpfs -o size=4g,mode=0755 tmpfs "$layers" || die "tmpfs"
mkdir -p "$layers/upper" "$layers/work" "$layers/root"
root=$layers/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$layers/upper,workdir=$layers/work" "$root" ||
  die "cannot mount an overlay over /"
mount --rbind /dev "$root/dev" && mount --rbind /sys "$root/sys" &&
  mount -t tmpfs -o mode=0755 tmpfs "$root/run" &&
  mount -t tmpfs -o mode=1777 tmpfs "$root/tmp" || die "mounts in the root"
[ -d "$root/var/log/journal" ] && mount -t tmpfs -o mode=0755 tmpfs "$root/var/log/journal"
debs=/var/cache/opsagent-lifecycle-debs
mkdir -p "$root$debs"
cp "$work"/debs/*.deb "$root$debs/"
# The host's units stay off: only journald and what the test starts run,
# and nothing may pull in the network targets (the network is the host's).
cat >"$root/etc/systemd/system/lifecycle.target" <<'UNIT'
[Unit]
Description=opsagent package lifecycle test
DefaultDependencies=no
Wants=systemd-journald.socket systemd-journald.service
UNIT
# A container image's policy-rc.d (Docker's exits 101) forbids every
# service action of maintainer scripts; a real host has none.
rm -f "$root/usr/sbin/policy-rc.d"
ln -sf /dev/null "$root/etc/systemd/system/network-online.target"
ln -sf /dev/null "$root/etc/systemd/system/network.target"

unshare --pid --fork --root="$root" /lib/systemd/systemd --system \
  --unit=lifecycle.target --log-target=console --show-status=no \
  >"$work/systemd.log" 2>&1 &
launcher=$!
init=""
for _ in $(seq 100); do
  init=$(pgrep -P "$launcher" -x systemd || true)
  [ -n "$init" ] && break
  sleep 0.1
done
[ -n "$init" ] || die "systemd did not start: $(cat "$work/systemd.log")"
trap 'kill -KILL "$init" 2>/dev/null; wait "$launcher" 2>/dev/null' EXIT

inside() {  # COMMAND...: in the namespace's mounts, PIDs and root
  nsenter -t "$init" -m -p -r -w -- env -i \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"
}
for _ in $(seq 100); do
  state=$(inside systemctl is-system-running 2>/dev/null)
  [ "$state" = running ] || [ "$state" = degraded ] && break
  sleep 0.2
done
inside systemctl is-system-running >/dev/null 2>&1 ||
  [ "$(inside systemctl is-system-running 2>/dev/null)" = degraded ] ||
  die "systemd did not come up: $(inside systemctl is-system-running 2>&1)"

main_pid() { inside systemctl show -p MainPID --value "$1"; }
# The binary a service's main process runs, as the namespace sees it.
exe_of() { inside readlink "/proc/$1/exe"; }
same_file() {  # PID FILE: the process runs exactly the file now installed
  [ "$(inside stat -L -c %d:%i "/proc/$1/exe")" = "$(inside stat -c %d:%i "$2")" ]
}
wait_active() {
  for _ in $(seq 100); do
    [ "$(inside systemctl is-active "$1")" = active ] && return 0
    sleep 0.1
  done
  inside systemctl status "$1" >&2
  inside journalctl -u "$1" --no-pager >&2
  return 1
}

# --- install
inside dpkg -i $debs/opsagent_0.1.0_amd64.deb $debs/opsctl_0.1.0_amd64.deb \
  $debs/opsctld_0.1.0_amd64.deb >"$work/install.log" 2>&1 ||
  die "dpkg -i 0.1.0 failed: $(cat "$work/install.log")"
check "0.1.0 installed" [ "$(inside dpkg-query -W -f '${Version}' opsagent)" = 0.1.0 ]
for unit in opsagent opsctld; do
  check "$unit.service is installed" inside test -f "/lib/systemd/system/$unit.service"
  check "$unit.service is not enabled on install" \
    [ "$(inside systemctl is-enabled "$unit" 2>&1)" = disabled ]
  check "$unit.service is not started on install" \
    [ "$(inside systemctl is-active "$unit" 2>&1)" = inactive ]
done
check "the system user opsctld exists" quiet inside getent passwd opsctld
check "opsctld's configuration is root:opsctld 0640" \
  [ "$(inside stat -c '%U:%G %a' /etc/opsctld/opsctld.textproto)" = "root:opsctld 640" ]
check "opsctld's tls directory is root:opsctld 0750" \
  [ "$(inside stat -c '%U:%G %a' /etc/opsctld/tls)" = "root:opsctld 750" ]

# --- certificates, an edited configuration, and both services started
# A CA, the agent's certificate and the controller's (a host certificate
# naming the role controller), as deploy/pki/make-dev-pki.sh makes them.
pki=$work/pki
mkdir -p "$pki"
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
issue() {  # NAME SUBJECT EXTENDED_KEY_USAGE
  new_key "$pki/$1.key"
  openssl req -new -key "$pki/$1.key" -subj "$2" -out "$pki/$1.csr" &&
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' "$3" >"$pki/$1.ext" &&
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
      -days 2 -sha256 -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
}
new_key "$pki/ca.key"
openssl req -x509 -new -key "$pki/ca.key" -sha256 -days 2 -subj "/O=opsagent test/CN=lifecycle CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$pki/ca.crt" || die "no CA"
issue agent-localhost "/O=opsagent/CN=localhost" serverAuth,clientAuth || die "no agent certificate"
issue controller-localhost "/O=opsagent/OU=controller/CN=localhost" serverAuth || die "no controller certificate"
install -m 0644 "$pki/ca.crt" "$root/etc/opsagent/tls/ca.crt"
install -m 0644 "$pki/agent-localhost.crt" "$root/etc/opsagent/tls/agent.crt"
install -m 0600 "$pki/agent-localhost.key" "$root/etc/opsagent/tls/agent.key"
marker="# edited by the administrator before the upgrade"
cat >"$root/etc/opsagent/agent.textproto" <<CONF
$marker
listen_address: "127.0.0.1:0"
tls {
  certificate: "/etc/opsagent/tls/agent.crt"
  private_key: "/etc/opsagent/tls/agent.key"
  ca_certificate: "/etc/opsagent/tls/ca.crt"
}
hostname: "localhost"
journal_path: "/var/lib/opsagent/journal.jsonl"
inspection_roots: "/var/log"
authorization { roles: "oncall" operations: "*" }
CONF
for file in ca.crt controller-localhost.crt controller-localhost.key; do
  install -m 0640 "$pki/$file" "$root/etc/opsctld/tls/$file"
  inside chgrp opsctld "/etc/opsctld/tls/$file"
done
cat >"$root/etc/opsctld/opsctld.textproto" <<CONF
$marker
listen_address: "127.0.0.1:0"
tls {
  certificate: "/etc/opsctld/tls/controller-localhost.crt"
  private_key: "/etc/opsctld/tls/controller-localhost.key"
  ca_certificate: "/etc/opsctld/tls/ca.crt"
}
audit_database: "/var/lib/opsctld/audit.db"
access { roles: "oncall" permissions: "*" }
CONF
inside systemctl enable --now opsagent opsctld >"$work/enable.log" 2>&1
check "the agent starts once enabled" wait_active opsagent
check "the controller starts once enabled" wait_active opsctld
agent_before=$(main_pid opsagent)
controller_before=$(main_pid opsctld)
check "the agent runs /usr/sbin/opsagent" same_file "$agent_before" /usr/sbin/opsagent
check "opsctld runs as the user opsctld, not root" \
  [ "$(inside ps -o user= -p "$controller_before")" = opsctld ]
check "opsctld wrote its audit log as opsctld" \
  [ "$(inside stat -c %U /var/lib/opsctld/audit.db 2>&1)" = opsctld ]

# --- upgrade
inside dpkg -i $debs/opsagent_0.1.0+1_amd64.deb $debs/opsctl_0.1.0+1_amd64.deb \
  $debs/opsctld_0.1.0+1_amd64.deb >"$work/upgrade.log" 2>&1 ||
  die "dpkg -i 0.1.0+1 failed: $(cat "$work/upgrade.log")"
check "0.1.0+1 installed" [ "$(inside dpkg-query -W -f '${Version}' opsagent)" = 0.1.0+1 ]
check "the agent runs again after the upgrade" wait_active opsagent
check "the controller runs again after the upgrade" wait_active opsctld
agent_after=$(main_pid opsagent)
controller_after=$(main_pid opsctld)
check "the agent was restarted by the upgrade" [ "$agent_after" != "$agent_before" ]
check "the controller was restarted by the upgrade" [ "$controller_after" != "$controller_before" ]
check "the agent runs the new binary (not a deleted one: $(exe_of "$agent_after"))" \
  same_file "$agent_after" /usr/sbin/opsagent
check "the controller runs the new binary (not a deleted one: $(exe_of "$controller_after"))" \
  same_file "$controller_after" /usr/sbin/opsctld
check "the edited agent configuration survived the upgrade" \
  inside grep -qx "$marker" /etc/opsagent/agent.textproto
check "the edited controller configuration survived the upgrade" \
  inside grep -qx "$marker" /etc/opsctld/opsctld.textproto
check "the controller's configuration is still readable by its group" \
  [ "$(inside stat -c '%G %a' /etc/opsctld/opsctld.textproto)" = "opsctld 640" ]
check "the units stay enabled across the upgrade" \
  [ "$(inside systemctl is-enabled opsagent opsctld | sort -u)" = enabled ]

# --- remove: daemons stopped, state kept
inside dpkg -r opsagent opsctld >"$work/remove.log" 2>&1 || die "dpkg -r failed: $(cat "$work/remove.log")"
check "the agent is stopped on remove" [ "$(inside systemctl is-active opsagent)" != active ]
check "the controller is stopped on remove" [ "$(inside systemctl is-active opsctld)" != active ]
check "no agent process is left" not inside kill -0 "$agent_after"
check "no controller process is left" not inside kill -0 "$controller_after"
check "remove keeps the agent's journal" inside test -d /var/lib/opsagent
check "remove keeps the team's audit log" inside test -f /var/lib/opsctld/audit.db
check "remove keeps the conffile" inside test -f /etc/opsagent/agent.textproto

# --- purge: state, logs and configuration gone
inside dpkg -P opsagent opsctld opsctl >"$work/purge.log" 2>&1 || die "dpkg -P failed: $(cat "$work/purge.log")"
for gone in /var/lib/opsagent /var/lib/opsctld /var/log/opsctld \
  /etc/opsagent/agent.textproto /etc/opsctld/opsctld.textproto; do
  check "purge removes $gone" not inside test -e "$gone"
done
check "purge leaves no package state" not inside dpkg-query -W -f '${Status}' opsagent

if [ $failures -gt 0 ]; then
  echo "$failures checks failed; systemd's log: $work/systemd.log" >&2
  exit 1
fi
echo "all checks passed"
