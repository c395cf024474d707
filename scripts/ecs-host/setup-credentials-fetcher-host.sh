#!/bin/bash
# Prepares an Amazon ECS container instance (ECS-optimized Amazon Linux 2023) for gMSA, unattended, at first boot:
# installs credentials-fetcher and the Kerberos and SASL tools it runs, turns gMSA on in the ECS agent, keeps awsvpc tasks
# away from the instance metadata service and starts credentials-fetcher. In domain-joined mode it
# first waits for the SSM seamless domain join, adds this host's computer account to the group allowed to retrieve the
# gMSA's password and renews the host's Kerberos ticket.
#
# It runs from EC2 user data, and the ECS agent takes tasks only after it has succeeded:
#   - ecs.service is ordered After=cloud-final.service, the unit that runs user data, so the agent starts only once
#     this script has returned (https://github.com/aws/amazon-ecs-agent, packaging/amazon-linux-ami-integrated/ecs.service);
#   - its first step adds a drop-in that lets ecs.service start only when this script's ready marker exists, so an
#     instance on which it failed never registers with the cluster, not even after a reboot;
#   - the same drop-in orders ecs.service after credentials-fetcher.service (Wants= + After=) on every boot: the agent
#     turns gMSA off for good when the credentials-fetcher socket is missing at its start, and credentials-fetcher's unit
#     (Type=notify, the socket set up in ExecStartPost) is active only once the socket exists.
# On failure it also asks Auto Scaling to replace the instance (set-instance-health Unhealthy) and exits non-zero.
#
# Usage:
#   setup-credentials-fetcher-host.sh --mode domainless
#   setup-credentials-fetcher-host.sh --mode domain-joined \
#     --domain DIRECTORY_DNS_NAME --join-secret SEAMLESS_DOMAIN_JOIN_SECRET_ARN --group GMSA_PRINCIPALS_GROUP
#
# Logs: journalctl -t gmsa-host-setup (and /var/log/cloud-init-output.log).
set -euo pipefail

readonly LOG_TAG=gmsa-host-setup
# Empty on a host; the tests run the script against a scratch directory with stub commands.
readonly ROOT_DIR="${GMSA_HOST_ROOT_DIR:-}"
readonly STATE_DIR="${ROOT_DIR}/var/lib/gmsa-linux-ecs"
readonly READY_MARKER="${STATE_DIR}/host-ready"
readonly ECS_DROP_IN="${ROOT_DIR}/etc/systemd/system/ecs.service.d/50-gmsa-host-ready.conf"
readonly ECS_CONFIG="${ROOT_DIR}/etc/ecs/ecs.config"
readonly KEYTAB="${ROOT_DIR}/etc/krb5.keytab"
readonly IMDS=http://169.254.169.254/latest

# Upper bounds of the waits, in seconds.
readonly PACKAGE_MANAGER_TIMEOUT=900 # another dnf (e.g. the SSM domain join installing its packages) holds the lock
readonly PACKAGE_INSTALL_ATTEMPTS=5
readonly DOMAIN_JOIN_TIMEOUT=1800   # SSM agent registration + State Manager association + realm join
readonly POLL_INTERVAL=10

MODE=''
DOMAIN=''
JOIN_SECRET=''
GROUP=''

log() {
  echo "${LOG_TAG}: $*" >&2
  logger -t "${LOG_TAG}" -- "$*" 2>/dev/null || true
}

usage() {
  echo "usage: $0 --mode domainless|domain-joined [--domain DNS_NAME --join-secret ARN --group GROUP]" >&2
  exit 2
}

parse_arguments() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --mode) MODE="${2:-}"; shift 2 ;;
      --domain) DOMAIN="${2:-}"; shift 2 ;;
      --join-secret) JOIN_SECRET="${2:-}"; shift 2 ;;
      --group) GROUP="${2:-}"; shift 2 ;;
      *) usage ;;
    esac
  done
  case "${MODE}" in
    domainless) ;;
    domain-joined)
      if [ -z "${DOMAIN}" ] || [ -z "${JOIN_SECRET}" ] || [ -z "${GROUP}" ]; then usage; fi
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

# ecs.service may start only once this script has written the ready marker, and always after credentials-fetcher.
# Wants= also starts credentials-fetcher when something starts the agent first; a missing unit is not an error there.
gate_ecs_agent() {
  mkdir -p "$(dirname "${ECS_DROP_IN}")" "${STATE_DIR}"
  rm -f "${READY_MARKER}"
  printf '[Unit]\nWants=%s\nAfter=%s\nConditionPathExists=%s\n' \
    credentials-fetcher.service credentials-fetcher.service "${READY_MARKER}" >"${ECS_DROP_IN}"
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

install_packages() {
  local attempt
  for attempt in $(seq 1 "${PACKAGE_INSTALL_ATTEMPTS}"); do
    wait_for_package_manager
    if dnf install -y "$@"; then
      rpm -q "$@" >/dev/null
      return 0
    fi
    log "dnf install failed (attempt ${attempt} of ${PACKAGE_INSTALL_ATTEMPTS})"
    sleep "${POLL_INTERVAL}"
  done
  log "could not install: $*"
  return 1
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

# Adds this host to the gMSA principals group with the seamless-domain-join user (it may only join computers and
# change that group's members), then gets a new host ticket so the membership counts.
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

  # A Kerberos ticket carries the group memberships of when it was issued.
  kdestroy -A >/dev/null 2>&1 || true
  kinit -k -t "${KEYTAB}" "${account}@${realm}"
}

main() {
  trap on_exit EXIT
  parse_arguments "$@"
  gate_ecs_agent

  # credentials-fetcher runs kinit and `ldapsearch -Y GSSAPI` itself; its package does not require the Kerberos tools or
  # the GSSAPI SASL plug-in, and the ECS-optimized AL2023 AMI is built from the minimal image.
  local packages=(credentials-fetcher krb5-workstation cyrus-sasl-gssapi)
  if [ "${MODE}" = domain-joined ]; then
    packages+=(realmd oddjob oddjob-mkhomedir sssd adcli samba-common-tools)
  fi
  # Used for the Auto Scaling health and, in domain-joined mode, the join secret; installed when the AMI lacks it.
  command -v aws >/dev/null 2>&1 || packages+=(awscli-2)
  log "installing ${packages[*]}"
  install_packages "${packages[@]}"

  configure_ecs_agent
  if [ "${MODE}" = domain-joined ]; then
    # credentials-fetcher gets the gMSA's password with the host's own ticket: it starts once the host is a member.
    wait_for_domain_join
    join_gmsa_principals_group
  fi
  start_credentials_fetcher

  touch "${READY_MARKER}"
  log "ready: credentials-fetcher runs (${MODE}); the ECS agent may start"
}

main "$@"
