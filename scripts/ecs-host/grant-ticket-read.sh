#!/bin/bash
# Lets one non-root group (the web app's, GID 1654 of the .NET images' `app` user) read the gMSA ticket caches that
# credentials-fetcher writes on this container instance, and nobody else but root. Runs as gmsa-ticket-read.service,
# installed by setup-credentials-fetcher-host.sh; docs/security.md ("Running as non-root") says why it exists.
#
# What it fixes, and why again and again (aws/credentials-fetcher 2.x, Go sources):
#   - each task's lease gets <krbdir>/<lease id>/<gMSA name>/krb5cc (krb_utils.ProcessCredentialSpecs). The directories
#     are made by os.MkdirAll with 0755 in domainless mode (AddNonDomainJoinedKerberosLease.go) and 0750 in
#     domain-joined mode (AddKerberosLease.go, SetupKerberosFileForTicket), owned by root;
#   - the cache itself is written by `kinit -c <file>` (internal/auth/kerberos/krb_client.go, createKerberosTicket), and
#     renewed by `kinit -R -c <file>` (RenewKerberosTicket) when a check every 10 minutes finds it within an hour of
#     expiry (constants.KrbTicketRenewalInterval, KrbTicketRenewalThreshold). MIT kinit replaces the file each time:
#     a new inode, root:root, mode 0600 (seen with MIT krb5 1.20: the group and mode set before are gone). A default
#     ACL on the directory does not survive either: the 0600 create mode sets the ACL mask to ---.
# So a grant made once is lost at the next renewal; this loop makes it again within one interval.
#
# The ECS agent bind-mounts <krbdir>/<lease>/<gMSA> read-only at /var/credentials-fetcher/krbdir in the container
# (aws/amazon-ecs-agent, agent/engine/docker_task_engine_linux.go, updateCredentialSpecMapping): the container's process
# needs traverse (x) on that directory and read (r) on krb5cc, nothing more. It gets them through the group:
# directories root:GID 0710, caches root:GID 0640; "others" get nothing. It never touches anything else under krbdir.
#
# Each pass is one `find` per kind and changes only what is not yet right (idempotent); it logs every change it makes
# to the journal (stderr under systemd) and to the log file the CloudWatch agent ships, and nothing otherwise.
#
# Usage: grant-ticket-read.sh GID [--once]   (the service runs it without --once: a pass every second)
set -euo pipefail

# Empty on a host; the tests run the script against a scratch directory.
readonly ROOT_DIR="${GMSA_HOST_ROOT_DIR:-}"
readonly KRB_DIR="${ROOT_DIR}/var/credentials-fetcher/krbdir"
readonly LOG_FILE="${ROOT_DIR}/var/log/gmsa-ticket-read.log"
# A positive number: GID 0 would be root's group, which needs no grant.
readonly GID="${1:-}"
[[ "${GID}" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 GID [--once]" >&2; exit 2; }

log() {
  echo "gmsa-ticket-read: $*" >&2
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) gmsa-ticket-read: $*" >>"${LOG_FILE}" || true
}

# Gives group GID mode $1 on what `find` selects with the remaining arguments and is not so yet; logs each change ($2
# names the access) with the owner and mode before. A path that vanishes meanwhile (a lease the agent deleted) is
# skipped. find's -type d/-type f never match a symbolic link, so no link is followed.
grant() {
  local mode=$1 access=$2 path before
  shift 2
  while IFS= read -r -d '' path; do
    if before="$(stat -c '%a %U:%G' "${path}")" && chgrp "${GID}" "${path}" && chmod "${mode}" "${path}"; then
      log "granted GID ${GID} ${access} on ${path#"${ROOT_DIR}"} (was ${before})"
    fi
  done < <(find "${KRB_DIR}" "$@" \( ! -group "${GID}" -o ! -perm "${mode}" \) -print0 2>/dev/null)
}

# One pass: the lease and gMSA directories (depth 1 and 2), then the caches (depth 3); nothing else under krbdir.
grant_once() {
  [ -d "${KRB_DIR}" ] || return 0
  grant 0710 traverse -mindepth 1 -maxdepth 2 -type d
  grant 0640 read -mindepth 3 -maxdepth 3 -type f -name krb5cc
}

grant_once
[ "${2:-}" = --once ] && exit 0
while sleep 1; do
  grant_once
done
