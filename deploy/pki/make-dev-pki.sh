#!/usr/bin/env bash
# Makes a development PKI for opsagent with openssl: a CA, agent certificates
# (SAN = host name and address; serverAuth and clientAuth), the controller's
# (SAN = its name; serverAuth; OU = controller, which agents and opsctl
# check) and operator certificates (CN = operator, OU = role; clientAuth
# only). For development and tests only; production certificates come from
# your real CA. Private keys are written with mode 0600 and never belong in
# the repository.
#
# Usage:
#   make-dev-pki.sh DIR ca
#   make-dev-pki.sh DIR agent HOSTNAME [IP ...]   (HOSTNAME may be *.DOMAIN)
#   make-dev-pki.sh DIR controller NAME [IP ...]
#   make-dev-pki.sh DIR operator NAME ROLE [ROLE ...]
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 2 ] || usage
dir=$1 kind=$2
shift 2
# Everything is created owner-only, whatever the caller's umask: opsagent
# refuses trust files (and directories on their way) that others can write.
umask 077
mkdir -p "$dir"
chmod go-w "$dir"

days=825
ca_key="$dir/ca.key" ca_crt="$dir/ca.crt"

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

sign() {  # sign NAME SUBJECT EXTFILE
  local name=$1 subject=$2 ext=$3
  [ -f "$ca_key" ] || { echo "no CA in $dir: run '$0 $dir ca' first" >&2; exit 1; }
  new_key "$dir/$name.key"
  openssl req -new -key "$dir/$name.key" -subj "$subject" -out "$dir/$name.csr"
  openssl x509 -req -in "$dir/$name.csr" -CA "$ca_crt" -CAkey "$ca_key" -CAcreateserial \
    -days "$days" -sha256 -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$ext"
  chmod 644 "$dir/$name.crt"
  echo "$dir/$name.crt  $subject"
}

case "$kind" in
  ca)
    if [ -f "$ca_crt" ]; then echo "$ca_crt exists; keeping it"; exit 0; fi
    new_key "$ca_key"
    openssl req -x509 -new -key "$ca_key" -sha256 -days "$days" \
      -subj "/O=opsagent development/CN=opsagent development CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$ca_crt"
    chmod 644 "$ca_crt"
    echo "$ca_crt  development CA"
    ;;
  agent)
    [ $# -ge 1 ] || usage
    host=$1; shift
    san="DNS:$host"
    for ip in "$@"; do san="$san,IP:$ip"; done
    ext=$(mktemp)
    # serverAuth for opsctl; clientAuth for the agent's own liveness probe and
    # for dialling the controller.
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$san" >"$ext"
    sign "agent-${host//\*/wildcard}" "/O=opsagent/CN=$host" "$ext"
    ;;
  controller)
    [ $# -ge 1 ] || usage
    name=$1; shift
    san="DNS:$name"
    for ip in "$@"; do san="$san,IP:$ip"; done
    ext=$(mktemp)
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" >"$ext"
    sign "controller-$name" "/O=opsagent/OU=controller/CN=$name" "$ext"
    ;;
  operator)
    [ $# -ge 2 ] || usage
    name=$1; shift
    subject="/O=opsagent"
    for role in "$@"; do subject="$subject/OU=$role"; done
    subject="$subject/CN=$name"
    ext=$(mktemp)
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$ext"
    sign "operator-$name" "$subject" "$ext"
    ;;
  *) usage ;;
esac
