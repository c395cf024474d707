#!/bin/bash
# Removes this domain-joined ECS container instance from Active Directory while Auto Scaling terminates it (scale-in,
# replacement, unhealthy). Without it every replaced host leaves its computer account, and its membership of the group
# allowed to retrieve the gMSA's password, in the directory for good.
#
# The terminating lifecycle hook's SSM Automation runs it through Run Command, then completes the lifecycle action with
# CONTINUE whatever this script did: it can delay the termination (every call is bounded by `timeout`), never block it.
#
# First `adcli delete-computer` (the account goes, and with it every group membership); when that fails, at least
# `adcli remove-member` from the gMSA principals group. Both sign in as the seamless-domain-join user, whose password
# goes through stdin only; Configure-AD.ps1 lets that user delete computer objects and change that group's members.
#
# Usage:
#   leave-domain.sh --domain DIRECTORY_DNS_NAME --join-secret SEAMLESS_DOMAIN_JOIN_SECRET_ARN --group GMSA_PRINCIPALS_GROUP
# Exit status: 0 when the account is deleted, out of the group, or was never created here; 1 when it is still there.
# Logs: journalctl -t gmsa-host-leave, and the Run Command output.
set -euo pipefail

readonly LOG_TAG=gmsa-host-leave
# Empty on a host; the tests run the script against a scratch directory with stub commands.
readonly ROOT_DIR="${GMSA_HOST_ROOT_DIR:-}"
readonly KEYTAB="${ROOT_DIR}/etc/krb5.keytab"
readonly IMDS=http://169.254.169.254/latest
# Upper bound of each call to AWS or the directory, in seconds; the lifecycle hook's heartbeat timeout is larger than
# the sum of all of them.
readonly CALL_TIMEOUT=45

DOMAIN=''
JOIN_SECRET=''
GROUP=''

log() {
  echo "${LOG_TAG}: $*" >&2
  logger -t "${LOG_TAG}" -- "$*" 2>/dev/null || true
}

usage() {
  echo "usage: $0 --domain DNS_NAME --join-secret ARN --group GROUP" >&2
  exit 2
}

parse_arguments() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --domain) DOMAIN="${2:-}"; shift 2 ;;
      --join-secret) JOIN_SECRET="${2:-}"; shift 2 ;;
      --group) GROUP="${2:-}"; shift 2 ;;
      *) usage ;;
    esac
  done
  if [ -z "${DOMAIN}" ] || [ -z "${JOIN_SECRET}" ] || [ -z "${GROUP}" ]; then usage; fi
}

imds_get() {
  local token
  token="$(curl -sSf --max-time 5 -X PUT "${IMDS}/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')"
  curl -sSf --max-time 5 -H "X-aws-ec2-metadata-token: ${token}" "${IMDS}/meta-data/$1"
}

# Prints the computer account (NAME$) of the keytab's realm, or nothing.
keytab_account() {
  local realm="$1" principal
  klist -k "${KEYTAB}" 2>/dev/null | while read -r _ principal _; do
    case "${principal}" in
      */*) ;;
      *"\$@${realm}") echo "${principal%@*}"; break ;;
    esac
  done
}

secret_field() {
  python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

main() {
  parse_arguments "$@"
  local realm="${DOMAIN^^}" account region secret user password
  if [ ! -s "${KEYTAB}" ]; then
    log "no keytab: this host never joined ${DOMAIN}; nothing to remove"
    return 0
  fi
  account="$(keytab_account "${realm}" || true)"
  if [ -z "${account}" ]; then
    log "the keytab holds no computer account of ${realm}; nothing to remove"
    return 0
  fi

  if ! region="$(imds_get placement/region)"; then
    log "could not read the region from the instance metadata: ${account} stays in ${DOMAIN}; delete it there"
    return 1
  fi
  if ! secret="$(timeout "${CALL_TIMEOUT}" aws secretsmanager get-secret-value --region "${region}" \
    --secret-id "${JOIN_SECRET}" --query SecretString --output text)"; then
    log "could not read the seamless-domain-join secret: ${account} stays in ${DOMAIN}; delete it there"
    return 1
  fi
  user="$(secret_field awsSeamlessDomainUsername <<<"${secret}")"
  password="$(secret_field awsSeamlessDomainPassword <<<"${secret}")"
  unset secret

  # The password goes through stdin only (printf is a builtin: never on a command line).
  log "deleting computer account ${account} from ${DOMAIN} as ${user}"
  if printf '%s\n' "${password}" | timeout "${CALL_TIMEOUT}" \
    adcli delete-computer --domain="${DOMAIN}" --login-user="${user}" --stdin-password "${account%\$}"; then
    log "deleted ${account}"
    return 0
  fi
  log "could not delete ${account}: removing it from ${GROUP} instead"
  if printf '%s\n' "${password}" | timeout "${CALL_TIMEOUT}" \
    adcli remove-member --domain="${DOMAIN}" --login-user="${user}" --stdin-password "${GROUP}" "${account}"; then
    log "removed ${account} from ${GROUP}; the computer account itself stays in ${DOMAIN}"
    return 0
  fi
  log "could not remove ${account} from ${GROUP} either: remove it in Active Directory"
  return 1
}

main "$@"
