# Sourced by the benchmarks: a real OpenSSH server on loopback with key auth,
# the baseline on-call uses today. Logins go to a dedicated user "opsbench"
# whose shell is /bin/sh, so that nothing but the remote command runs (on
# this build machine root's ~/.bashrc starts pyenv on every ssh command,
# which a production host would not do and which would flatter opsctl).
#   start_loopback_sshd DIR PORT [MAX_STARTUPS]
# Afterwards: $sshd_pid, and $ssh_cmd, the ssh command line (add the remote
# command after it).
start_loopback_sshd() {
  local dir=$1 port=$2 max_startups=${3:-10}
  mkdir -p "$dir" /run/sshd
  if ! id opsbench >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir / --shell /bin/sh opsbench
    usermod -p '*' opsbench  # no password, but not "locked" for sshd
  fi
  [ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N "" -f "$dir/host_key"
  [ -f "$dir/user_key" ] || ssh-keygen -q -t ed25519 -N "" -f "$dir/user_key"
  cp "$dir/user_key.pub" "$dir/authorized_keys"
  cat >"$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups $max_startups
PidFile $dir/sshd.pid
CONF
  /usr/sbin/sshd -f "$dir/sshd_config" -D -E "$dir/sshd.log" &
  sshd_pid=$!
  ssh_cmd="ssh -p $port -i $dir/user_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR opsbench@127.0.0.1"
  for _ in $(seq 50); do
    $ssh_cmd true 2>/dev/null && return 0
    sleep 0.1
  done
  echo "sshd on 127.0.0.1:$port did not come up" >&2
  return 1
}
