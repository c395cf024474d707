#!/bin/bash
# Checks, read-only, each link of the gMSA chain on one ECS container instance and prints one line per check:
#   PASS <check>: <what it saw>
#   FAIL <check>: <what it saw>. Fix: <what to do>
# `npm run verify -- --hosts` runs it on every container instance through SSM Run Command; on a host:
#   sudo bash diagnose-host.sh --mode domainless --domain DIRECTORY_DNS_NAME
#   sudo bash diagnose-host.sh --mode domain-joined --domain DIRECTORY_DNS_NAME --group GMSA_PRINCIPALS_GROUP
# Exit status: 0 when every check passed, 1 when one failed, 2 on a usage error.
#
# It changes nothing on the host: it reads units, files and tickets, asks DNS and the domain controllers, and in
# domain-joined mode signs in as the host with its keytab into a temporary ticket cache that it deletes.
set -uo pipefail

# Empty on a host; the tests run the script against a scratch directory with stub commands.
readonly ROOT_DIR="${GMSA_HOST_ROOT_DIR:-}"
readonly CF_SOCKET="${ROOT_DIR}/var/credentials-fetcher/socket/credentials_fetcher.sock"
readonly KRB_DIR="${ROOT_DIR}/var/credentials-fetcher/krbdir"
readonly ECS_CONFIG="${ROOT_DIR}/etc/ecs/ecs.config"
readonly KEYTAB="${ROOT_DIR}/etc/krb5.keytab"
readonly NETWORK_TIMEOUT=3
# Kerberos refuses a clock more than 5 minutes off the KDC's (MIT krb5 `clockskew` and AD's default).
# https://learn.microsoft.com/en-us/windows/security/threat-protection/security-policy-settings/maximum-tolerance-for-computer-clock-synchronization
readonly MAX_SKEW_SECONDS=300

MODE=''
DOMAIN=''
GROUP=''
FAILED=0
DOMAIN_CONTROLLERS=()

usage() {
  echo "usage: $0 --mode domainless|domain-joined --domain DNS_NAME [--group GMSA_PRINCIPALS_GROUP]" >&2
  exit 2
}

pass() { echo "PASS $1: $2"; }
fail() {
  echo "FAIL $1: $2. Fix: $3"
  FAILED=1
}

parse_arguments() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --mode) MODE="${2:-}"; shift 2 ;;
      --domain) DOMAIN="${2:-}"; shift 2 ;;
      --group) GROUP="${2:-}"; shift 2 ;;
      *) usage ;;
    esac
  done
  [[ "${DOMAIN}" =~ ^[A-Za-z0-9.-]+$ ]] || usage
  case "${MODE}" in
    domainless) ;;
    domain-joined) [[ "${GROUP}" =~ ^[A-Za-z0-9._-]+$ ]] || usage ;;
    *) usage ;;
  esac
}

check_credentials_fetcher() {
  local state
  state="$(systemctl is-active credentials-fetcher 2>/dev/null)"
  if [ "${state}" = active ]; then
    pass credentials-fetcher "the service is active"
  else
    fail credentials-fetcher "the service is ${state:-unknown}" \
      "sudo systemctl restart credentials-fetcher, then read journalctl -u credentials-fetcher"
  fi
  if [ -S "${CF_SOCKET}" ]; then
    pass credentials-fetcher-socket "${CF_SOCKET#"${ROOT_DIR}"} exists"
  else
    fail credentials-fetcher-socket "${CF_SOCKET#"${ROOT_DIR}"} is missing" \
      "sudo systemctl restart credentials-fetcher, then sudo systemctl restart ecs (the agent checks the socket at its start)"
  fi
}

# The ECS agent turns gMSA off for good when the credentials-fetcher socket is missing at its start.
check_ecs_agent() {
  local ecs_started cf_started
  ecs_started="$(systemctl show -p ActiveEnterTimestampMonotonic --value ecs 2>/dev/null)"
  cf_started="$(systemctl show -p ActiveEnterTimestampMonotonic --value credentials-fetcher 2>/dev/null)"
  if [ "$(systemctl is-active ecs 2>/dev/null)" != active ] || ! [[ "${ecs_started}" =~ ^[1-9][0-9]*$ ]]; then
    fail ecs-agent-order "the ECS agent is not running" \
      "read journalctl -u ecs and the bootstrap log (the agent starts only once the host setup succeeded)"
  elif ! [[ "${cf_started}" =~ ^[1-9][0-9]*$ ]] || [ "${ecs_started}" -le "${cf_started}" ]; then
    fail ecs-agent-order "the ECS agent started before credentials-fetcher" \
      "sudo systemctl restart ecs (no task may run on this host while it restarts)"
  else
    pass ecs-agent-order "the ECS agent started after credentials-fetcher"
  fi
  if grep -qx 'ECS_GMSA_SUPPORTED=true' "${ECS_CONFIG}" 2>/dev/null; then
    pass ecs-agent-gmsa "ECS_GMSA_SUPPORTED=true in /etc/ecs/ecs.config"
  else
    fail ecs-agent-gmsa "/etc/ecs/ecs.config lacks ECS_GMSA_SUPPORTED=true" \
      "replace the instance (the host setup writes it), or add the line and sudo systemctl restart ecs"
  fi
}

# Prints the targets of an SRV record, one host name a line, without the final dot.
srv_targets() {
  dig +short +time="${NETWORK_TIMEOUT}" +tries=1 SRV "$1" 2>/dev/null | while read -r _ _ _ target; do
    [ -n "${target}" ] && echo "${target%.}"
  done
}

check_dns() {
  local name targets
  for name in "_ldap._tcp.dc._msdcs.${DOMAIN}" "_kerberos._tcp.${DOMAIN}"; do
    targets="$(srv_targets "${name}")"
    if [ -n "${targets}" ]; then
      pass dns-srv "${name} -> $(echo "${targets}" | paste -sd ' ')"
    else
      fail dns-srv "${name} does not resolve" \
        "the VPC's DHCP options must name the directory's DNS addresses (cat /etc/resolv.conf), then reboot the host"
    fi
  done
  mapfile -t DOMAIN_CONTROLLERS < <(srv_targets "_ldap._tcp.dc._msdcs.${DOMAIN}" | sort -u)
}

tcp_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments
  timeout "${NETWORK_TIMEOUT}" bash -c 'exec 3<>"/dev/tcp/$1/$2"' tcp-check "$1" "$2" 2>/dev/null
}

# True when DNS named at least one domain controller; otherwise the check named $1 fails once, pointing at DNS.
have_domain_controllers() {
  [ "${#DOMAIN_CONTROLLERS[@]}" -gt 0 ] && return 0
  fail "$1" "no domain controller to check" "fix the dns-srv lines above first"
  return 1
}

check_ports() {
  local dc port
  have_domain_controllers tcp || return 0
  for dc in "${DOMAIN_CONTROLLERS[@]}"; do
    for port in 88 389; do
      if tcp_open "${dc}" "${port}"; then
        pass tcp "${dc}:${port} answers"
      else
        fail tcp "${dc}:${port} does not answer within ${NETWORK_TIMEOUT} s" \
          "the directory's security group must admit the container instances on TCP/UDP 88 and 389"
      fi
    done
  done
}

# The DC's clock from its rootDSE (anonymous read, which AD allows), e.g. "currentTime: 20261202133500.0Z".
check_clock() {
  local dc now dc_time dc_epoch skew
  have_domain_controllers clock || return 0
  for dc in "${DOMAIN_CONTROLLERS[@]}"; do
    dc_time="$(timeout "${NETWORK_TIMEOUT}" ldapsearch -LLL -x -H "ldap://${dc}" -s base -b '' currentTime 2>/dev/null |
      sed -n 's/^currentTime: \([0-9]\{14\}\).*/\1/p')"
    if [ -z "${dc_time}" ]; then
      fail clock "${dc} did not tell its time" "check TCP 389 to ${dc} (line tcp above)"
      continue
    fi
    dc_epoch="$(date -u -d "${dc_time:0:8} ${dc_time:8:2}:${dc_time:10:2}:${dc_time:12:2}" +%s)"
    now="$(date -u +%s)"
    skew=$((now - dc_epoch))
    skew="${skew#-}"
    if [ "${skew}" -le "${MAX_SKEW_SECONDS}" ]; then
      pass clock "${skew} s from ${dc}"
    else
      fail clock "${skew} s from ${dc}, more than Kerberos' ${MAX_SKEW_SECONDS} s" \
        "chronyc tracking must show a synchronised source (the Amazon Time Sync Service, 169.254.169.123)"
    fi
  done
}

# Each lease credentials-fetcher created (one per task, per gMSA) holds a ticket cache krbdir/<lease>/<gMSA>/krb5cc.
check_leases() {
  local cache listing expires principal found=0
  while IFS= read -r cache; do
    found=1
    listing="$(klist -c "${cache}" 2>/dev/null)"
    principal="$(sed -n 's/^Default principal: //p' <<<"${listing}")"
    expires="$(awk '/krbtgt\// { print $3, $4; exit }' <<<"${listing}")"
    if klist -s -c "${cache}" 2>/dev/null; then
      pass lease "${cache#"${KRB_DIR}/"}: ${principal}, ticket valid until ${expires}"
    else
      fail lease "${cache#"${KRB_DIR}/"}: ${principal:-no principal}, no valid ticket${expires:+ (expired ${expires})}" \
        "read /var/credentials-fetcher/logging/credentials-fetcher.log; stop the task, its replacement gets a new lease"
    fi
  done < <(find "${KRB_DIR}" -name krb5cc -type f 2>/dev/null | sort)
  if [ "${found}" -eq 0 ]; then
    pass lease "no lease on this host yet (no gMSA task has started here)"
  fi
}

# Domain-joined: the host's computer account must be a member of the group allowed to retrieve the gMSA's password,
# as each DC sees it (a new membership replicates between the two DCs of AWS Managed AD).
check_group_membership() {
  local account realm="${DOMAIN^^}" base cache dc entry nodename
  nodename="$(uname -n)"
  nodename="${nodename%%.*}"
  account="${nodename^^}"
  account="${account:0:15}\$"
  base="DC=${DOMAIN//./,DC=}"
  have_domain_controllers group-membership || return 0
  cache="$(mktemp)"
  if ! KRB5CCNAME="FILE:${cache}" timeout "${NETWORK_TIMEOUT}" kinit -k -t "${KEYTAB}" "${account}@${realm}" 2>/dev/null; then
    rm -f "${cache}"
    fail group-membership "${account} cannot sign in with ${KEYTAB#"${ROOT_DIR}"}" \
      "the host is not joined: check the AWS-JoinDirectoryServiceDomain association and the bootstrap log"
    return
  fi
  for dc in "${DOMAIN_CONTROLLERS[@]}"; do
    entry="$(KRB5CCNAME="FILE:${cache}" timeout "${NETWORK_TIMEOUT}" ldapsearch -LLL -Q -Y GSSAPI -H "ldap://${dc}" \
      -b "${base}" "(sAMAccountName=${account})" memberOf 2>/dev/null)"
    if grep -qi "^memberOf: CN=${GROUP}," <<<"${entry}"; then
      pass group-membership "${account} is a member of ${GROUP} on ${dc}"
    else
      fail group-membership "${account} is not a member of ${GROUP} on ${dc}" \
        "replace the instance (its setup adds it), or wait for AD replication if the other DC already shows it"
    fi
  done
  rm -f "${cache}"
}

main() {
  parse_arguments "$@"
  check_credentials_fetcher
  check_ecs_agent
  check_dns
  check_ports
  check_clock
  check_leases
  [ "${MODE}" = domain-joined ] && check_group_membership
  return "${FAILED}"
}

main "$@"
