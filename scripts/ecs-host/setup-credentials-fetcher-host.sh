#!/bin/bash
# Prepares an Amazon ECS container instance (ECS-optimized Amazon Linux 2023) for gMSA, unattended, at first boot:
# installs one pinned version of credentials-fetcher and the Kerberos and SASL tools it runs, turns gMSA on in the ECS
# agent, keeps awsvpc tasks away from the instance metadata service and starts credentials-fetcher. In domain-joined mode
# it first waits for the SSM seamless domain join, adds this host's computer account to the group allowed to retrieve the
# gMSA's password, waits until every domain controller lists it there and renews the host's Kerberos ticket.
#
# It runs from EC2 user data, and the ECS agent takes tasks only after it has succeeded:
#   - ecs.service is ordered After=cloud-final.service, the unit that runs user data, so the agent starts only once
#     this script has returned (https://github.com/aws/amazon-ecs-agent, packaging/amazon-linux-ami-integrated/ecs.service);
#   - its first step writes the one drop-in that orders the agent (50-gmsa-host-ready.conf): ecs.service starts only
#     when this script's ready marker exists (an instance on which it failed never registers with the cluster, not even
#     after a reboot), and on every boot after credentials-fetcher.service and its socket (the agent turns gMSA off for
#     good when the socket is missing at its start). The drop-ins credentials-fetcher 2.0.x ships or writes for the
#     same purpose are masked, so one mechanism orders the agent whatever the version (docs/container-hosts.md).
#   - it never waits for ecs.service: the package's %post restarts an enabled ecs.service, which would wait for this
#     script (see with_ecs_agent_disabled), and every dnf call is bounded by `timeout`.
# On failure it also asks Auto Scaling to replace the instance (set-instance-health Unhealthy) and exits non-zero.
#
# Usage:
#   setup-credentials-fetcher-host.sh --mode domainless --credentials-fetcher-version VERSION
#   setup-credentials-fetcher-host.sh --mode domain-joined --credentials-fetcher-version VERSION \
#     --domain DIRECTORY_DNS_NAME --domain-controllers IP[,IP...] \
#     --join-secret SEAMLESS_DOMAIN_JOIN_SECRET_ARN --group GMSA_PRINCIPALS_GROUP
#   either with [--ticket-reader-gid GID]: also runs gmsa-ticket-read.service, which keeps the gMSA ticket caches
#   readable by that group (the non-root app's) and nobody else but root (grant-ticket-read.sh, docs/security.md).
#
# Logs: journalctl -t gmsa-host-setup (and /var/log/cloud-init-output.log).
set -euo pipefail

readonly LOG_TAG=gmsa-host-setup
# Empty on a host; the tests run the script against a scratch directory with stub commands.
readonly ROOT_DIR="${GMSA_HOST_ROOT_DIR:-}"
readonly STATE_DIR="${ROOT_DIR}/var/lib/gmsa-linux-ecs"
readonly READY_MARKER="${STATE_DIR}/host-ready"
readonly ECS_DROP_IN_DIR="${ROOT_DIR}/etc/systemd/system/ecs.service.d"
readonly ECS_DROP_IN="${ECS_DROP_IN_DIR}/50-gmsa-host-ready.conf"
# Drop-ins of credentials-fetcher 2.0.x for ecs.service, both under /usr/lib/systemd/system/ecs.service.d: the package's
# (BindsTo= + After= + an unbounded wait for the socket) and the one its startup-order helper writes (Wants= + After= +
# the same wait). A same-named drop-in in /etc overrides them; linked to /dev/null it is empty (systemd.unit(5)).
# https://github.com/aws/credentials-fetcher, credentials-fetcher.spec (2.0.1) and scripts/credentials-fetcher-startup-order.sh
readonly PACKAGE_DROP_INS=(ecs-require-credentials-fetcher.conf require-credentials-fetcher.conf)
readonly CREDENTIALS_FETCHER_SOCKET="${ROOT_DIR}/var/credentials-fetcher/socket/credentials_fetcher.sock"
readonly ECS_CONFIG="${ROOT_DIR}/etc/ecs/ecs.config"
readonly KEYTAB="${ROOT_DIR}/etc/krb5.keytab"
readonly IMDS=http://169.254.169.254/latest
# Written by user data next to this script; run as a service when --ticket-reader-gid is given.
readonly TICKET_READ_SCRIPT="${ROOT_DIR}/usr/local/sbin/grant-ticket-read.sh"
readonly TICKET_READ_UNIT="${ROOT_DIR}/etc/systemd/system/gmsa-ticket-read.service"

# Upper bounds of the waits, in seconds.
readonly PACKAGE_MANAGER_TIMEOUT=900 # another dnf (e.g. the SSM domain join installing its packages) holds the lock
readonly DNF_TIMEOUT=600             # one dnf call; a scriptlet that waits for a unit can never hold the boot
readonly PACKAGE_INSTALL_ATTEMPTS=5
readonly DOMAIN_JOIN_TIMEOUT=1800   # SSM agent registration + State Manager association + realm join
readonly DC_AGREEMENT_TIMEOUT=300   # AD replication between the directory's domain controllers (seconds, normally)
readonly LDAP_TIMEOUT=20            # one ldapsearch
readonly SOCKET_WAIT_TIMEOUT=60     # ecs.service start: credentials-fetcher's socket appears (then the agent retries)
readonly POLL_INTERVAL=10

MODE=''
VERSION=''
DOMAIN=''
DOMAIN_CONTROLLERS=()
JOIN_SECRET=''
GROUP=''
CLOUDWATCH_CONFIG=''
TICKET_READER_GID=''

log() {
  echo "${LOG_TAG}: $*" >&2
  logger -t "${LOG_TAG}" -- "$*" 2>/dev/null || true
}

usage() {
  echo "usage: $0 --mode domainless|domain-joined --credentials-fetcher-version VERSION" \
    "[--domain DNS_NAME --domain-controllers IP[,IP...] --join-secret ARN --group GROUP]" \
    "[--cloudwatch-config SSM_PARAMETER] [--ticket-reader-gid GID]" >&2
  exit 2
}

parse_arguments() {
  local controllers=''
  while [ $# -gt 0 ]; do
    case "$1" in
      --mode) MODE="${2:-}"; shift 2 ;;
      --credentials-fetcher-version) VERSION="${2:-}"; shift 2 ;;
      --domain) DOMAIN="${2:-}"; shift 2 ;;
      --domain-controllers) controllers="${2:-}"; shift 2 ;;
      --join-secret) JOIN_SECRET="${2:-}"; shift 2 ;;
      --group) GROUP="${2:-}"; shift 2 ;;
      --cloudwatch-config) CLOUDWATCH_CONFIG="${2:-}"; shift 2 ;;
      --ticket-reader-gid) TICKET_READER_GID="${2:-}"; shift 2 ;;
      *) usage ;;
    esac
  done
  # VERSION[-RELEASE] as dnf takes it after the name; bin/settings.ts validates CREDENTIALS_FETCHER_VERSION the same way.
  if ! [[ "${VERSION}" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z._]+)?$ ]]; then usage; fi
  IFS=, read -r -a DOMAIN_CONTROLLERS <<<"${controllers}"
  if [ -n "${TICKET_READER_GID}" ] && ! [[ "${TICKET_READER_GID}" =~ ^[1-9][0-9]*$ ]]; then usage; fi
  case "${MODE}" in
    domainless) ;;
    domain-joined)
      if [ -z "${DOMAIN}" ] || [ -z "${JOIN_SECRET}" ] || [ -z "${GROUP}" ] || [ "${#DOMAIN_CONTROLLERS[@]}" -eq 0 ]; then
        usage
      fi
      ;;
    *) usage ;;
  esac
}

imds_get() {
  local token
  token="$(curl -sSf -X PUT "${IMDS}/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')"
  curl -sSf -H "X-aws-ec2-metadata-token: ${token}" "${IMDS}/meta-data/$1"
}

# Makes Auto Scaling replace this instance; powers it off when the AWS CLI is missing (a stopped instance is unhealthy too).
mark_unhealthy() {
  local instance_id region
  if command -v aws >/dev/null 2>&1 && instance_id="$(imds_get instance-id)" && region="$(imds_get placement/region)" &&
    aws autoscaling set-instance-health --region "${region}" --instance-id "${instance_id}" \
      --health-status Unhealthy --no-should-respect-grace-period; then
    log "marked instance ${instance_id} unhealthy: Auto Scaling replaces it"
  else
    log "could not mark the instance unhealthy through the Auto Scaling API: powering off"
    systemctl --no-block poweroff || true
  fi
}

on_exit() {
  local status=$?
  if [ "${status}" -ne 0 ]; then
    log "FAILED with exit status ${status}: the ECS agent will not start on this instance"
    mark_unhealthy
  fi
  exit "${status}"
}

# The one drop-in that orders the ECS agent. ecs.service may start only once this script has written the ready marker,
# and always after credentials-fetcher.service (Wants= also starts it when something starts the agent first). After=
# alone is not enough for 2.0.x: its unit is Type=notify, but the daemon reports ready from a goroutine that runs beside
# the one creating the socket (cmd/credentials-fetcher/daemon.go), so the agent also waits for the socket, bounded
# (a failed ExecStartPre fails the start, and ecs.service's Restart=on-failure tries again 10 s later).
# The package's own drop-ins are masked: BindsTo= would stop the agent whenever credentials-fetcher stops, and their
# socket wait has no bound of its own.
gate_ecs_agent() {
  local name
  mkdir -p "${ECS_DROP_IN_DIR}" "${STATE_DIR}"
  rm -f "${READY_MARKER}"
  {
    printf '[Unit]\nWants=%s\nAfter=%s\nConditionPathExists=%s\n\n' \
      credentials-fetcher.service credentials-fetcher.service "${READY_MARKER}"
    printf "[Service]\nExecStartPre=/usr/bin/timeout %s /bin/bash -c 'until [ -S %s ]; do sleep 1; done'\n" \
      "${SOCKET_WAIT_TIMEOUT}" "${CREDENTIALS_FETCHER_SOCKET}"
  } >"${ECS_DROP_IN}"
  for name in "${PACKAGE_DROP_INS[@]}"; do
    ln -sfn /dev/null "${ECS_DROP_IN_DIR}/${name}"
  done
  systemctl daemon-reload
}

# Polls until the command "$3..." succeeds, for at most $1 seconds; logs $2 and fails when it never does.
wait_until() {
  local timeout=$1 failure=$2 waited=0
  shift 2
  until "$@"; do
    if [ "${waited}" -ge "${timeout}" ]; then
      log "${failure}"
      return 1
    fi
    sleep "${POLL_INTERVAL}"
    waited=$((waited + POLL_INTERVAL))
  done
}

no_package_manager_running() {
  ! pgrep -x 'dnf|dnf-3|yum|rpm|dnf-automatic' >/dev/null
}

# Waits (bounded) while another dnf, yum or rpm process holds the package database.
wait_for_package_manager() {
  wait_until "${PACKAGE_MANAGER_TIMEOUT}" \
    "another package manager process still runs after ${PACKAGE_MANAGER_TIMEOUT} s" no_package_manager_running
}

# Fails with one line when the repositories this AMI is locked to do not hold credentials-fetcher-VERSION.
require_pinned_version() {
  local attempt
  for attempt in $(seq 1 "${PACKAGE_INSTALL_ATTEMPTS}"); do
    wait_for_package_manager || return 1
    if timeout "${DNF_TIMEOUT}" dnf list --quiet --showduplicates "credentials-fetcher-${VERSION}" >/dev/null 2>&1; then
      return 0
    fi
    sleep "${POLL_INTERVAL}"
  done
  log "credentials-fetcher ${VERSION} is not available from this host's package repositories (or they are unreachable): set CREDENTIALS_FETCHER_VERSION to a version \`dnf list --showduplicates credentials-fetcher\` lists"
  return 1
}

# Returns explicitly at each failure: it runs where errexit does not apply (with_ecs_agent_disabled).
install_packages() {
  local attempt
  for attempt in $(seq 1 "${PACKAGE_INSTALL_ATTEMPTS}"); do
    wait_for_package_manager || return 1
    if timeout "${DNF_TIMEOUT}" dnf install -y "$@"; then
      rpm -q "$@" >/dev/null && return 0
      log "dnf succeeded, but rpm does not list all of: $*"
      return 1
    fi
    log "dnf install failed or took more than ${DNF_TIMEOUT} s (attempt ${attempt} of ${PACKAGE_INSTALL_ATTEMPTS})"
    sleep "${POLL_INTERVAL}"
  done
  log "could not install: $*"
  return 1
}

# Runs "$@" with ecs.service disabled, and enables it again whatever "$@" returns.
# credentials-fetcher 2.0.x's %post runs `systemctl is-enabled --quiet ecs.service && systemctl restart ecs.service`
# (credentials-fetcher.spec, 2.0.1). From user data that restart never returns: the restart job waits for
# cloud-final.service (ecs.service is After=cloud-final.service), which waits for this script, which waits for dnf.
# Disabled, the agent is skipped by the scriptlet; disabling removes only the [Install] links, not the start job the
# boot has already queued for ecs.service, which runs once user data ends. https://github.com/aws/amazon-ecs-agent/issues/1707
with_ecs_agent_disabled() {
  local status=0
  systemctl disable --quiet ecs.service
  "$@" || status=$?
  systemctl enable --quiet ecs.service
  return "${status}"
}

# Sets KEY=VALUE in the agent's config, replacing any earlier value of KEY (the agent reads the file at start).
set_ecs_config() {
  local key=$1 value=$2
  { grep -v "^${key}=" "${ECS_CONFIG}" || true; echo "${key}=${value}"; } >"${ECS_CONFIG}.new"
  mv "${ECS_CONFIG}.new" "${ECS_CONFIG}"
}

configure_ecs_agent() {
  mkdir -p "$(dirname "${ECS_CONFIG}")"
  touch "${ECS_CONFIG}"
  set_ecs_config ECS_GMSA_SUPPORTED true
  # awsvpc tasks may not reach the instance metadata service, so no task can take the instance role's credentials
  # (which read the domainless identity or the seamless-join secret). Default false; CDK does not write it.
  # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
  set_ecs_config ECS_AWSVPC_BLOCK_IMDS true
}

start_credentials_fetcher() {
  systemctl enable --now credentials-fetcher
  if [ "${MODE}" = domain-joined ]; then
    # In case it already ran (started by its package or an earlier attempt): start over with the new host ticket.
    systemctl restart credentials-fetcher
  fi
  systemctl is-active --quiet credentials-fetcher
}

# The service that re-grants read access after every write credentials-fetcher makes (grant-ticket-read.sh says why a
# loop: kinit replaces the cache at each renewal); Restart=always brings back a pass that failed a second later. It
# starts before the ready marker, so it runs before the ECS agent's first task; a missing script fails is-active.
start_ticket_read_grant() {
  printf '[Unit]\nAfter=credentials-fetcher.service\n[Service]\nExecStart=%s %s\nRestart=always\nRestartSec=1\n[Install]\nWantedBy=multi-user.target\n' \
    "${TICKET_READ_SCRIPT}" "${TICKET_READER_GID}" >"${TICKET_READ_UNIT}"
  systemctl daemon-reload
  systemctl enable --now gmsa-ticket-read.service
  systemctl is-active --quiet gmsa-ticket-read.service
}

realm_joined() {
  realm list --name-only 2>/dev/null | grep -qixF "${DOMAIN}" && [ -s "${KEYTAB}" ]
}

wait_for_domain_join() {
  log "waiting for the SSM domain join to ${DOMAIN} (at most ${DOMAIN_JOIN_TIMEOUT} s)"
  wait_until "${DOMAIN_JOIN_TIMEOUT}" \
    "not joined to ${DOMAIN} after ${DOMAIN_JOIN_TIMEOUT} s: check the AWS-JoinDirectoryServiceDomain association" \
    realm_joined || return 1
  log "joined to ${DOMAIN}"
}

# Prints the computer account (NAME$) of the keytab. credentials-fetcher signs in as the short host name (`hostname -s`,
# upper case, at most 15 characters) followed by $, so both must agree.
computer_account() {
  local realm="$1" listing principal account='' nodename expected
  listing="$(klist -k "${KEYTAB}")"
  while read -r _ principal _; do
    case "${principal}" in
      */*) ;;
      *"\$@${realm}") account="${principal%@*}"; break ;;
    esac
  done <<<"${listing}"
  nodename="$(uname -n)"
  nodename="${nodename%%.*}"
  expected="${nodename^^}"
  expected="${expected:0:15}\$"
  if [ -z "${account}" ] || [ "${account^^}" != "${expected}" ]; then
    log "keytab account '${account}' does not match the host name '${expected}' credentials-fetcher uses"
    return 1
  fi
  echo "${account}"
}

secret_field() {
  python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# DC=directory,DC=example,DC=com for directory.example.com.
base_dn() {
  echo "DC=${DOMAIN//./,DC=}"
}

# Prints the DNS host name of the domain controller at IP address $1: its rootDSE, which AD lets anyone read. The
# GSSAPI search needs the name: the DC's LDAP service principal is ldap/<host name>, not its address.
dc_host_name() {
  timeout "${LDAP_TIMEOUT}" ldapsearch -LLL -x -o ldif-wrap=no -H "ldap://$1" -s base -b '' dnsHostName 2>/dev/null |
    sed -n 's/^dnsHostName: //p'
}

# True when the domain controller named $1 lists account $2 in GROUP. memberOf is computed by each DC from its own copy
# of the group's member attribute, so it shows what that DC has received. Signed in with the host's own ticket; -N
# keeps the name as given (no reverse lookup of the address).
dc_lists_member() {
  timeout "${LDAP_TIMEOUT}" ldapsearch -LLL -N -Q -Y GSSAPI -o ldif-wrap=no -H "ldap://$1" -b "$(base_dn)" \
    "(sAMAccountName=$2)" memberOf 2>/dev/null | grep -qiF "memberOf: CN=${GROUP},"
}

# `adcli add-member` writes to one domain controller; credentials-fetcher's next kinit may reach another one, whose
# ticket would not yet carry the group (AD replicates the change later). Waits, bounded, until every DC of the
# directory (its DNS addresses) lists account $1 in the group, and names the ones that never do.
wait_for_domain_controllers() {
  local account=$1 waited=0 address lagging
  local -A names=()
  while :; do
    lagging=''
    for address in "${DOMAIN_CONTROLLERS[@]}"; do
      [ -n "${names[${address}]:-}" ] || names[${address}]="$(dc_host_name "${address}" || true)"
      if [ -z "${names[${address}]}" ] || ! dc_lists_member "${names[${address}]}" "${account}"; then
        lagging+="${lagging:+, }${address}${names[${address}]:+ (${names[${address}]})}"
      fi
    done
    if [ -z "${lagging}" ]; then
      log "all ${#DOMAIN_CONTROLLERS[@]} domain controllers list ${account} in ${GROUP}"
      return 0
    fi
    if [ "${waited}" -ge "${DC_AGREEMENT_TIMEOUT}" ]; then
      log "domain controller ${lagging} still does not list ${account} in ${GROUP} after ${DC_AGREEMENT_TIMEOUT} s: check AD replication"
      return 1
    fi
    sleep "${POLL_INTERVAL}"
    waited=$((waited + POLL_INTERVAL))
  done
}

# Adds this host to the gMSA principals group with the seamless-domain-join user (see docs/container-hosts.md for what
# that user may do), waits until every domain controller agrees, then gets a new host ticket so the membership counts.
join_gmsa_principals_group() {
  local realm="${DOMAIN^^}" region account secret user password
  account="$(computer_account "${realm}")"
  region="$(imds_get placement/region)"
  secret="$(aws secretsmanager get-secret-value --region "${region}" --secret-id "${JOIN_SECRET}" \
    --query SecretString --output text)"
  user="$(secret_field awsSeamlessDomainUsername <<<"${secret}")"
  password="$(secret_field awsSeamlessDomainPassword <<<"${secret}")"
  log "adding ${account} to ${GROUP} as ${user}"
  # The password goes through stdin only (printf is a builtin: never on a command line).
  printf '%s\n' "${password}" |
    adcli add-member --domain="${DOMAIN}" --login-user="${user}" --stdin-password "${GROUP}" "${account}"
  unset secret password

  # The host's own ticket signs the LDAP searches; a Kerberos ticket carries the group memberships of when it was
  # issued, so the last one is taken once every DC agrees.
  kdestroy -A >/dev/null 2>&1 || true
  kinit -k -t "${KEYTAB}" "${account}@${realm}"
  wait_for_domain_controllers "${account}"
  kdestroy -A >/dev/null 2>&1 || true
  kinit -k -t "${KEYTAB}" "${account}@${realm}"
}

main() {
  trap on_exit EXIT
  parse_arguments "$@"
  gate_ecs_agent
  # Host logs to CloudWatch first, so a setup that fails later is shipped too (docs/operations.md). Without the agent
  # the host still works: its logs stay on the host.
  if [ -n "${CLOUDWATCH_CONFIG}" ]; then
    "${ROOT_DIR}/usr/local/sbin/install-cloudwatch-agent.sh" --config-parameter "${CLOUDWATCH_CONFIG}" ||
      log "CloudWatch agent not installed: logs stay on the host"
  fi

  # One known version of credentials-fetcher (docs/container-hosts.md says which and why). It runs kinit and
  # `ldapsearch -Y GSSAPI` itself; 1.3.x requires neither the Kerberos tools nor the GSSAPI SASL plug-in, and the
  # ECS-optimized AL2023 AMI is built from the minimal image. Domain-joined mode runs ldapsearch here too.
  local packages=("credentials-fetcher-${VERSION}" krb5-workstation cyrus-sasl-gssapi)
  if [ "${MODE}" = domain-joined ]; then
    packages+=(realmd oddjob oddjob-mkhomedir sssd adcli samba-common-tools openldap-clients)
  fi
  # Used for the Auto Scaling health and, in domain-joined mode, the join secret; installed when the AMI lacks it.
  command -v aws >/dev/null 2>&1 || packages+=(awscli-2)
  require_pinned_version
  log "installing ${packages[*]}"
  with_ecs_agent_disabled install_packages "${packages[@]}"

  configure_ecs_agent
  if [ "${MODE}" = domain-joined ]; then
    # credentials-fetcher gets the gMSA's password with the host's own ticket: it starts once the host is a member.
    wait_for_domain_join
    join_gmsa_principals_group
  fi
  start_credentials_fetcher
  [ -z "${TICKET_READER_GID}" ] || start_ticket_read_grant

  touch "${READY_MARKER}"
  log "ready: credentials-fetcher ${VERSION} runs (${MODE}); the ECS agent may start"
}

main "$@"
