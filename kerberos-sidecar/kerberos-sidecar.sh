#!/bin/bash
# Kerberos sidecar: keeps a ticket cache for an ordinary AD user on a volume the app container reads.
#
#   kerberos-sidecar.sh run      get a ticket, then renew it before it ends, forever (the container's command)
#   kerberos-sidecar.sh once     get one ticket and exit (0 on success)
#   kerberos-sidecar.sh health   exit 0 only if the cache holds a ticket that ends more than HEALTH_MIN_REMAINING_SECONDS
#                                from now (the container's health check)
#
# Every renewal is a fresh `kinit` with the password read again from the secret, so a password the rotation function
# changed is used at the next renewal (renewing the TGT with `kinit -R` would keep the old one working until its
# renew-until time, and hide a wrong password for days). The cache is written to a temporary file in the cache's
# directory and renamed over the old one: the app never sees a half-written cache (a truncated cache crashes .NET's
# Negotiate, see docs/sidecar.md), and a failed renewal leaves the previous, still valid cache in place.
#
# Settings (environment):
#   SECRET_SOURCE   where the JSON {"username","password","domainName"} comes from (the domainless identity's shape):
#                     secretsmanager:<secret ARN>  GetSecretValue with the task role, at every renewal
#                     file:<path>                  a file, read at every renewal (tests; a mounted secret)
#                     env:<NAME>                   an environment variable (an ECS `secrets` entry): read at every
#                                                  renewal too, but ECS sets it once, at container start
#   TICKET_CACHE    path of the cache on the shared volume           (default /var/kerberos/krb5cc)
#   CACHE_UID, CACHE_GID  owner of the cache: the app's user          (default 1654, the .NET images' `app` user)
#   TICKET_LIFETIME kinit -l value, e.g. 10h                          (default: the directory's policy)
#   RENEW_MIN_SECONDS, RENEW_MAX_SECONDS  renewal happens when half of the ticket's remaining life has passed,
#                   but never sooner/later than these                 (default 60 / 3600)
#   RETRY_ATTEMPTS  consecutive failures after which the sidecar exits if no valid ticket is left   (default 5)
#   RETRY_BASE_SECONDS, RETRY_MAX_SECONDS  backoff after a failure: base, doubling, capped  (default 2 / 60)
#   KINIT_TIMEOUT_SECONDS  bound of each kinit and each HTTP call     (default 15)
#   HEALTH_MIN_REMAINING_SECONDS  the health check fails below this   (default 600)
#   SECRETS_MANAGER_ENDPOINT  override of https://secretsmanager.<region>.amazonaws.com (tests)
set -euo pipefail

# klist prints dates with the C locale's %x %X only under LC_ALL=C; date(1) then reads them back.
export LC_ALL=C

readonly TICKET_CACHE=${TICKET_CACHE:-/var/kerberos/krb5cc}
readonly CACHE_UID=${CACHE_UID:-1654}
readonly CACHE_GID=${CACHE_GID:-$CACHE_UID}
readonly TICKET_LIFETIME=${TICKET_LIFETIME:-}
readonly RENEW_MIN_SECONDS=${RENEW_MIN_SECONDS:-60}
readonly RENEW_MAX_SECONDS=${RENEW_MAX_SECONDS:-3600}
readonly RETRY_ATTEMPTS=${RETRY_ATTEMPTS:-5}
readonly RETRY_BASE_SECONDS=${RETRY_BASE_SECONDS:-2}
readonly RETRY_MAX_SECONDS=${RETRY_MAX_SECONDS:-60}
readonly KINIT_TIMEOUT_SECONDS=${KINIT_TIMEOUT_SECONDS:-15}
readonly HEALTH_MIN_REMAINING_SECONDS=${HEALTH_MIN_REMAINING_SECONDS:-600}

log() { printf '%s kerberos-sidecar: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
  log "$*"
  exit 1
}

# One line naming the setting, the value and what is allowed.
for setting in CACHE_UID CACHE_GID RENEW_MIN_SECONDS RENEW_MAX_SECONDS RETRY_ATTEMPTS RETRY_BASE_SECONDS \
  RETRY_MAX_SECONDS KINIT_TIMEOUT_SECONDS HEALTH_MIN_REMAINING_SECONDS; do
  [[ ${!setting} =~ ^[0-9]+$ ]] || die "invalid $setting '${!setting}': expected a whole number"
done
((RETRY_ATTEMPTS >= 1)) || die "invalid RETRY_ATTEMPTS '$RETRY_ATTEMPTS': expected 1 or more"
((RENEW_MIN_SECONDS <= RENEW_MAX_SECONDS)) ||
  die "invalid RENEW_MIN_SECONDS '$RENEW_MIN_SECONDS': expected at most RENEW_MAX_SECONDS ($RENEW_MAX_SECONDS)"

# ---- the secret ----

# Prints the secret's JSON on stdout.
read_secret() {
  local source=${SECRET_SOURCE:-}
  case $source in
    secretsmanager:arn:*) secret_from_secrets_manager "${source#secretsmanager:}" ;;
    file:?*) cat -- "${source#file:}" ;;
    env:?*)
      local name=${source#env:}
      [[ -n ${!name:-} ]] || {
        log "the environment variable $name (SECRET_SOURCE) is empty"
        return 1
      }
      printf '%s' "${!name}"
      ;;
  esac
}

# Fails fast on a SECRET_SOURCE no renewal could ever read.
check_secret_source() {
  case ${SECRET_SOURCE:-} in
    secretsmanager:arn:*:secretsmanager:*:secret:* | file:?* | env:?*) ;;
    *) die "invalid SECRET_SOURCE '${SECRET_SOURCE:-}': expected secretsmanager:<secret ARN>, file:<path> or env:<variable>" ;;
  esac
}

# GetSecretValue with the task role's credentials, signed by curl (--aws-sigv4, curl >= 7.75): no AWS CLI in the image.
# The credentials come from the ECS container credentials endpoint, as every AWS SDK reads them:
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
# Keys and token go to curl through its config on stdin (-K -), never on a command line other processes could read.
secret_from_secrets_manager() {
  local arn=$1 rest partition region endpoint credentials_url credentials response
  # arn:<partition>:secretsmanager:<region>:<account>:secret:<name>
  rest=${arn#arn:}
  partition=${rest%%:*}
  rest=${rest#*:secretsmanager:}
  region=${rest%%:*}
  [[ $region =~ ^[a-z0-9-]+$ ]] || die "invalid SECRET_SOURCE 'secretsmanager:$arn': expected a Secrets Manager ARN"
  if [[ $partition == aws-cn ]]; then
    endpoint=${SECRETS_MANAGER_ENDPOINT:-https://secretsmanager.$region.amazonaws.com.cn}
  else
    endpoint=${SECRETS_MANAGER_ENDPOINT:-https://secretsmanager.$region.amazonaws.com}
  fi

  local -a auth=()
  if [[ -n ${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-} ]]; then
    credentials_url="http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
  elif [[ -n ${AWS_CONTAINER_CREDENTIALS_FULL_URI:-} ]]; then
    credentials_url=$AWS_CONTAINER_CREDENTIALS_FULL_URI
    [[ -z ${AWS_CONTAINER_AUTHORIZATION_TOKEN:-} ]] || auth=(-H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN")
  else
    die "no task role credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not set): the task definition needs a task role"
  fi
  credentials=$(curl -sS --fail --max-time "$KINIT_TIMEOUT_SECONDS" "${auth[@]}" "$credentials_url") || {
    log "could not read the task role's credentials"
    return 1
  }

  if ! response=$(
    printf '%s' "$credentials" |
      jq -r '"user = \"\(.AccessKeyId):\(.SecretAccessKey)\"", "header = \"x-amz-security-token: \(.Token)\""' |
      curl -sS --fail-with-body --max-time "$KINIT_TIMEOUT_SECONDS" -K - \
        --aws-sigv4 "aws:amz:$region:secretsmanager" \
        -H 'X-Amz-Target: secretsmanager.GetSecretValue' \
        -H 'Content-Type: application/x-amz-json-1.1' \
        --data "$(jq -cn --arg id "$arn" '{SecretId: $id}')" \
        "$endpoint"
  ); then
    # An error body names the error (AccessDeniedException, ResourceNotFoundException, ...), never the secret.
    log "GetSecretValue failed: $(printf '%s' "$response" | jq -r '"\(.__type // "?"): \(.message // .Message // "")"' 2>/dev/null || true)"
    return 1
  fi
  printf '%s' "$response" | jq -er '.SecretString'
}

# ---- the ticket ----

# Epoch seconds at which the cache's TGT ends; fails when the cache holds none.
ticket_end() {
  local cache=$1 line
  line=$(klist -c "FILE:$cache" 2>/dev/null | awk '$5 ~ /^krbtgt\// { print $3 " " $4; exit }') || return 1
  [[ -n $line ]] || return 1
  date -d "$line" +%s
}

# One attempt: secret → kinit into a temporary file next to the cache → owner and mode → rename over the cache.
refresh() {
  local secret username password domain principal directory temporary
  secret=$(read_secret) || return 1
  username=$(printf '%s' "$secret" | jq -er '.username | strings') || {
    log "the secret has no username"
    return 1
  }
  password=$(printf '%s' "$secret" | jq -er '.password | strings') || {
    log "the secret has no password"
    return 1
  }
  domain=$(printf '%s' "$secret" | jq -er '.domainName | strings') || {
    log "the secret has no domainName"
    return 1
  }
  # NETBIOS\user and user@domain are both accepted; the realm is the domain's DNS name in capitals.
  local realm=$domain
  username=${username##*\\}
  if [[ $username == *@* ]]; then
    realm=${username##*@}
    username=${username%@*}
  fi
  principal=$username@${realm^^}

  directory=$(dirname -- "$TICKET_CACHE")
  temporary=$(mktemp "$directory/.krb5cc.XXXXXX") || {
    log "cannot create a file in $directory (is the shared volume mounted and writable?)"
    return 1
  }
  local -a lifetime=()
  [[ -z $TICKET_LIFETIME ]] || lifetime=(-l "$TICKET_LIFETIME")
  local output
  # kinit reads the password from stdin when it has no terminal.
  if ! output=$(printf '%s\n' "$password" |
    timeout "$KINIT_TIMEOUT_SECONDS" kinit "${lifetime[@]}" -c "FILE:$temporary" "$principal" 2>&1 >/dev/null); then
    rm -f -- "$temporary"
    log "kinit $principal failed: ${output:-timed out after ${KINIT_TIMEOUT_SECONDS} s}"
    return 1
  fi
  if [[ $(id -u) == 0 ]]; then
    chown "$CACHE_UID:$CACHE_GID" "$temporary"
  fi
  chmod 0600 "$temporary"
  mv -f -- "$temporary" "$TICKET_CACHE"
  log "ticket for $principal written to $TICKET_CACHE, ends $(date -u -d "@$(ticket_end "$TICKET_CACHE")" +%Y-%m-%dT%H:%M:%SZ)"
}

# Seconds until the next renewal: half the remaining life, within [RENEW_MIN_SECONDS, RENEW_MAX_SECONDS].
renewal_delay() {
  local end delay
  end=$(ticket_end "$TICKET_CACHE") || {
    echo "$RENEW_MIN_SECONDS"
    return
  }
  delay=$(((end - $(date +%s)) / 2))
  ((delay >= RENEW_MIN_SECONDS)) || delay=$RENEW_MIN_SECONDS
  ((delay <= RENEW_MAX_SECONDS)) || delay=$RENEW_MAX_SECONDS
  echo "$delay"
}

# True while the cache holds a TGT that has not ended.
cache_valid() {
  [[ -s $TICKET_CACHE ]] && klist -s -c "FILE:$TICKET_CACHE" 2>/dev/null
}

health() {
  local end remaining
  [[ -s $TICKET_CACHE ]] || {
    echo "unhealthy: no ticket cache at $TICKET_CACHE"
    return 1
  }
  end=$(ticket_end "$TICKET_CACHE") || {
    echo "unhealthy: $TICKET_CACHE holds no ticket-granting ticket"
    return 1
  }
  remaining=$((end - $(date +%s)))
  if ((remaining < HEALTH_MIN_REMAINING_SECONDS)); then
    echo "unhealthy: the ticket ends in ${remaining} s (less than ${HEALTH_MIN_REMAINING_SECONDS} s)"
    return 1
  fi
  echo "healthy: the ticket ends in ${remaining} s"
}

# The owner the cache must have is possible only as root (chown) or as that user.
check_identity() {
  check_secret_source
  local uid
  uid=$(id -u)
  [[ $uid == 0 || $uid == "$CACHE_UID" ]] ||
    die "runs as uid $uid: cannot write a cache owned by CACHE_UID=$CACHE_UID; run as that user (or root)"
}

run() {
  local failures=0 delay sleeper=
  check_identity
  # ECS stops a container with SIGTERM: exit at once, also while sleeping.
  trap 'log "stopping"; [[ -z $sleeper ]] || kill "$sleeper" 2>/dev/null; exit 0' TERM INT
  while true; do
    if refresh; then
      failures=0
      delay=$(renewal_delay)
      log "next renewal in $delay s"
    else
      failures=$((failures + 1))
      if ((failures >= RETRY_ATTEMPTS)) && ! cache_valid; then
        die "giving up after $failures failed attempts in a row, with no valid ticket left"
      fi
      delay=$((RETRY_BASE_SECONDS << (failures - 1 < 16 ? failures - 1 : 16)))
      ((delay <= RETRY_MAX_SECONDS)) || delay=$RETRY_MAX_SECONDS
      log "attempt $failures failed; retrying in $delay s"
    fi
    sleep "$delay" &
    sleeper=$!
    wait "$sleeper" || true
    sleeper=
  done
}

case ${1:-} in
  run) run ;;
  once)
    check_identity
    refresh
    ;;
  health) health ;;
  *) die "usage: kerberos-sidecar.sh run|once|health" ;;
esac
