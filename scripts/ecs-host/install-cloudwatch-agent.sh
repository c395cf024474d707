#!/bin/bash
# Installs the Amazon CloudWatch agent on an ECS container instance (ECS-optimized Amazon Linux 2023) and starts it with
# the configuration the cluster stack keeps in an SSM parameter (built from scripts/ecs-host/cloudwatch-agent.json): it
# ships credentials-fetcher's log, the ECS agent's logs and the bootstrap log (cloud-init's output, which holds every
# line of setup-credentials-fetcher-host.sh) to the cluster stack's log groups, from the first line of each file.
#
# Off the critical path: the host runs gMSA tasks without it. The caller logs a failure and goes on; only the logs then
# stay on the host (journalctl, /var/log/...).
#
# Usage: install-cloudwatch-agent.sh --config-parameter SSM_PARAMETER_NAME
set -euo pipefail

readonly LOG_TAG=gmsa-host-setup
# Empty on a host; the tests run the script against a scratch directory with stub commands.
readonly ROOT_DIR="${GMSA_HOST_ROOT_DIR:-}"
# The package of the Amazon Linux 2023 repository, which the AMI locks to its release: every host launched from one
# AMI gets the same agent version. https://docs.aws.amazon.com/linux/al2023/ug/deterministic-upgrades.html
readonly PACKAGE=amazon-cloudwatch-agent
readonly CTL="${ROOT_DIR}/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"

# Upper bounds, in seconds: dnf waits without limit for a package database another dnf holds (the SSM domain join
# installs packages at the same time in domain-joined mode).
readonly DNF_TIMEOUT=300
readonly DNF_ATTEMPTS=3
readonly CTL_TIMEOUT=120
readonly RETRY_DELAY=10

log() {
  echo "${LOG_TAG}: cloudwatch-agent: $*" >&2
  logger -t "${LOG_TAG}" -- "cloudwatch-agent: $*" 2>/dev/null || true
}

usage() {
  echo "usage: $0 --config-parameter SSM_PARAMETER_NAME" >&2
  exit 2
}

CONFIG_PARAMETER=''
while [ $# -gt 0 ]; do
  case "$1" in
    --config-parameter) CONFIG_PARAMETER="${2:-}"; shift 2 ;;
    *) usage ;;
  esac
done
# An SSM parameter name: letters, digits and . _ - /. https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
[[ "${CONFIG_PARAMETER}" =~ ^[A-Za-z0-9_./-]+$ ]] || usage

install_agent() {
  local attempt
  for attempt in $(seq 1 "${DNF_ATTEMPTS}"); do
    if timeout "${DNF_TIMEOUT}" dnf install -y "${PACKAGE}" && rpm -q "${PACKAGE}" >/dev/null; then
      return 0
    fi
    log "dnf install ${PACKAGE} failed (attempt ${attempt} of ${DNF_ATTEMPTS})"
    [ "${attempt}" -lt "${DNF_ATTEMPTS}" ] && sleep "${RETRY_DELAY}"
  done
  log "FAILED: could not install ${PACKAGE}; check the instance's route to the Amazon Linux repository (NAT gateway)"
  return 1
}

# -m ec2: credentials and region from the instance profile; -s: (re)start the agent with the fetched configuration.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/install-CloudWatch-Agent-commandline-fleet.html
start_agent() {
  if ! timeout "${CTL_TIMEOUT}" "${CTL}" -a fetch-config -m ec2 -s -c "ssm:${CONFIG_PARAMETER}"; then
    log "FAILED: the agent could not load ssm:${CONFIG_PARAMETER}; check the instance role's ssm:GetParameter on it"
    return 1
  fi
  local status
  status="$(timeout "${CTL_TIMEOUT}" "${CTL}" -a status)" || status=''
  if ! grep -q '"status": *"running"' <<<"${status}"; then
    log "FAILED: the agent is not running; see /opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log"
    return 1
  fi
}

install_agent
start_agent
log "running with ssm:${CONFIG_PARAMETER}"
