#!/usr/bin/env bash
# Makes a development PKI for opsagent with openssl: a CA, agent certificates
# (SAN = host name and address; serverAuth and clientAuth), the controller's
# (SAN = its name; serverAuth; OU = controller, which agents and opsctl
# check), operator certificates (CN = operator, OU = role; clientAuth only)
# and the host CA: an intermediate the controller holds to issue host
# certificates at enrollment, limited by name constraints to DOMAIN and its
# subdomains (no IP addresses) and path length 0, so its key can mint hosts
# of the fleet but never operators (agents refuse a clientAuth-only
# certificate issued through a name-constrained CA). For development and
# tests only; production certificates come from your real CA. Private keys
# are written with mode 0600 and never belong in the repository.
#
# Usage:
#   make-dev-pki.sh DIR ca
#   make-dev-pki.sh DIR host-ca DOMAIN             (DIR/host-ca.crt, .key)
#   make-dev-pki.sh DIR agent HOSTNAME [IP ...]   (HOSTNAME may be *.DOMAIN)
#   make-dev-pki.sh DIR controller NAME [IP ...]
#   make-dev-pki.sh DIR operator [--hours N] NAME ROLE [ROLE ...]
#                   (--hours: a short-lived certificate, e.g. 12; else 825 days)
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
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

# When set (YYYYMMDDHHMMSSZ), the certificate ends then instead of after
# $days: Debian 12's "openssl x509" only counts days, "openssl ca" takes a
# date, given a throwaway database.
end_date=

sign() {  # sign NAME SUBJECT EXTFILE
  local name=$1 subject=$2 ext=$3
  [ -f "$ca_key" ] || { echo "no CA in $dir: run '$0 $dir ca' first" >&2; exit 1; }
  new_key "$dir/$name.key"
  openssl req -new -key "$dir/$name.key" -subj "$subject" -out "$dir/$name.csr"
  if [ -z "$end_date" ]; then
    openssl x509 -req -in "$dir/$name.csr" -CA "$ca_crt" -CAkey "$ca_key" -CAcreateserial \
      -days "$days" -sha256 -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
  else
    local db
    db=$(mktemp -d)
    : >"$db/index.txt"
    printf '%s\n' '[ca]' 'default_ca = issuing' '[issuing]' "database = $db/index.txt" \
      "new_certs_dir = $db" "serial = $db/serial" 'default_md = sha256' \
      'policy = any_subject' 'unique_subject = no' '[any_subject]' >"$db/openssl.cnf"
    openssl ca -batch -config "$db/openssl.cnf" -cert "$ca_crt" -keyfile "$ca_key" \
      -in "$dir/$name.csr" -out "$dir/$name.crt" -enddate "$end_date" -preserveDN \
      -rand_serial -notext -extfile "$ext" 2>/dev/null
    rm -rf "$db"
  fi
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
  host-ca)
    [ $# -eq 1 ] || usage
    domain=${1#.}
    [[ "$domain" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || usage
    if [ -f "$dir/host-ca.crt" ]; then echo "$dir/host-ca.crt exists; keeping it"; exit 0; fi
    [ -f "$ca_crt" ] || { echo "no CA in $dir: run '$0 $dir ca' first" >&2; exit 1; }
    # It ends when the root does.
    end_date=$(date -u -d "$(openssl x509 -in "$ca_crt" -noout -enddate | cut -d= -f2)" +%Y%m%d%H%M%SZ)
    ext=$(mktemp)
    # Both DNS forms: ".DOMAIN" permits its subdomains, "DOMAIN" the name
    # itself (and, to OpenSSL, its subdomains too). The IP exclusions keep
    # IP SANs out of what it issues.
    printf '%s\n' 'basicConstraints=critical,CA:TRUE,pathlen:0' \
      'keyUsage=critical,keyCertSign,cRLSign' \
      'extendedKeyUsage=serverAuth,clientAuth' \
      "nameConstraints=critical,permitted;DNS:.$domain,permitted;DNS:$domain,excluded;IP:0.0.0.0/0.0.0.0,excluded;IP:::/::" \
      'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid' >"$ext"
    sign host-ca "/O=opsagent/OU=host-ca/CN=opsagent host CA for $domain" "$ext"
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
    if [ "${1:-}" = --hours ]; then
      [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || usage
      # A lost laptop key expires by itself the same day.
      end_date=$(date -u -d "+$2 hours" +%Y%m%d%H%M%SZ)
      shift 2
    fi
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
