import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/**
 * Writes a stub command into `dir`: it appends `<name> <args>` to the file named by `$STUB_CALLS`, then runs `body`.
 */
export function stub(dir: string, name: string, body: string): void {
  fs.writeFileSync(path.join(dir, name), `#!/bin/bash\necho "${name} $*" >> "$STUB_CALLS"\n${body}\n`, { mode: 0o755 });
}

/**
 * Creates `<root>/stub-bin`, a folder to put alone on a host script's PATH: it links the real `tools` the script may
 * use as they are (and python3), so every other command must be a stub the test writes with {@link stub}.
 */
export function makeStubBin(root: string, tools: readonly string[]): string {
  const bin = path.join(root, 'stub-bin');
  fs.mkdirSync(bin);
  for (const tool of tools) fs.symlinkSync(toolPath(tool), path.join(bin, tool));
  fs.symlinkSync(pythonPath(), path.join(bin, 'python3'));
  return bin;
}

/** Real tools' paths, looked up once per test file (a `python3` shim such as pyenv's can take seconds to start). */
const toolPaths = new Map<string, string>();

function toolPath(tool: string): string {
  let found = toolPaths.get(tool);
  if (found === undefined) {
    found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    toolPaths.set(tool, found);
  }
  return found;
}

/** The interpreter itself (not a shim in front of it). */
function pythonPath(): string {
  let found = toolPaths.get('python3 executable');
  if (found === undefined) {
    found = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
    toolPaths.set('python3 executable', found);
  }
  return found;
}

/**
 * Stubs `curl` as the instance metadata service (IMDSv2) answers the host scripts: a token, then the value of each
 * metadata path given (`'placement/region': 'eu-west-1'`); any other URL fails as curl does on an HTTP error (22).
 */
export function stubInstanceMetadata(dir: string, values: Readonly<Record<string, string>>): void {
  stub(
    dir,
    'curl',
    [
      'case "$*" in',
      '  *api/token*) echo token ;;',
      ...Object.entries(values).map(([metadataPath, value]) => `  *${metadataPath}*) echo ${value} ;;`),
      '  *) exit 22 ;;',
      'esac',
    ].join('\n'),
  );
}

/** Absolute path of the real `sleep`: a fake that must really wait uses it (the scripts' `sleep` is a stub). */
export function realSleep(): string {
  return toolPath('sleep');
}

/**
 * The file a host-script run writes the user-data process id to: while that process lives, cloud-final.service (the
 * unit that runs EC2 user data) is active. {@link userDataCommand} writes it.
 */
export const USER_DATA_PID_FILE = 'user-data.pid';

/**
 * `bash` arguments that record their own process id as the user data's, then become `bash script args...`. `--norc`:
 * bash reads ~/.bashrc when its stdin is a socket, as Node's pipes are.
 */
export function userDataCommand(script: string, args: readonly string[]): string[] {
  return ['--norc', '-c', `echo $$ > "$STUB_DIR/${USER_DATA_PID_FILE}"; exec bash "$0" "$@"`, script, ...args];
}

/**
 * Stubs `systemctl` as systemd answers a first boot of the ECS-optimized AL2023 AMI, with its state under
 * `$STUB_DIR/systemd` (`enabled-<unit>`, `active-<unit>`); ecs.service starts out enabled.
 *
 * Job ordering: ecs.service is `After=cloud-final.service` (aws/amazon-ecs-agent,
 * packaging/amazon-linux-ami-integrated/ecs.service) and cloud-final.service runs user data, so a blocking
 * `systemctl start|restart ecs.service` issued while user data runs waits until the user-data process has ended
 * (https://github.com/aws/amazon-ecs-agent/issues/1707). The stub waits the same way (its output closed, so a test
 * that kills the user data is not held by it), at most 120 s; `--no-block` returns at once.
 */
export function stubSystemd(dir: string, sleep = realSleep()): void {
  const state = path.join(dir, 'systemd');
  fs.mkdirSync(state);
  fs.writeFileSync(path.join(state, 'enabled-ecs.service'), '');
  stub(
    dir,
    'systemctl',
    [
      'state="$STUB_DIR/systemd"; block=1; now=0; args=()',
      'for a in "$@"; do case "$a" in --no-block) block=0 ;; --now) now=1 ;; --quiet|-q) ;; *) args+=("$a") ;; esac; done',
      'unit() { case "$1" in *.*) echo "$1" ;; *) echo "$1.service" ;; esac; }',
      'user_data_runs() {',
      `  local pid; pid="$(cat "$STUB_DIR/${USER_DATA_PID_FILE}" 2>/dev/null)" || return 1`,
      '  [ -r "/proc/${pid}/stat" ] && ! grep -q "^[0-9]* (.*) Z" "/proc/${pid}/stat"',
      '}',
      'start() {',
      '  local u waited=0; u="$(unit "$1")"',
      '  if [ "$u" = ecs.service ] && [ "$block" = 1 ] && user_data_runs; then',
      '    echo "$u" >> "$STUB_DIR/systemd/waited-for-user-data"',
      '    exec >/dev/null 2>&1',
      `    while user_data_runs; do ${sleep} 0.05; waited=$((waited + 1)); [ "$waited" -lt 2400 ] || exit 1; done`,
      '  fi',
      '  touch "$state/active-$u"',
      '}',
      'case "${args[0]}" in',
      '  daemon-reload|poweroff) ;;',
      '  enable) for u in "${args[@]:1}"; do touch "$state/enabled-$(unit "$u")"; [ "$now" = 0 ] || start "$u"; done ;;',
      '  disable) for u in "${args[@]:1}"; do rm -f "$state/enabled-$(unit "$u")"; done ;;',
      '  is-enabled) [ -e "$state/enabled-$(unit "${args[1]}")" ] ;;',
      '  is-active) [ -e "$state/active-$(unit "${args[1]}")" ] ;;',
      '  start|restart) for u in "${args[@]:1}"; do start "$u"; done ;;',
      '  *) echo "systemctl stub: unknown command ${args[0]}" >&2; exit 1 ;;',
      'esac',
    ].join('\n'),
  );
}

/** credentials-fetcher versions in the AL2023 repositories (release notes of AL2023 2023.11.20260526 to 2023.12.2026xx). */
export const AL2023_CREDENTIALS_FETCHER_VERSIONS = ['1.3.8', '2.0.0', '2.0.1', '2.0.2', '2.0.3'];

/**
 * Stubs `dnf` (install, list) and `rpm -q` as AL2023 answers them for the host script, installing under
 * `$GMSA_HOST_ROOT_DIR` and recording installed packages in `$STUB_DIR/rpmdb`.
 *
 * credentials-fetcher 2.x does what its RPM does (aws/credentials-fetcher, credentials-fetcher.spec, 2.0.1): installs
 * its unit, its ecs.service drop-in (BindsTo= and After= credentials-fetcher.service, then a wait for the socket) and
 * /usr/libexec/credentials-fetcher-startup-order.sh, then runs %post: daemon-reload, enable credentials-fetcher, and
 * restart ecs.service when ecs.service is enabled. 1.3.x has neither the drop-in nor a %post. A version the repositories
 * lack fails the whole transaction, as dnf's default strict mode does ("Unable to find a match").
 * @param installStatus exit status of every `dnf install` (0: it installs)
 */
export function stubPackageManager(dir: string, installStatus = 0): void {
  stub(
    dir,
    'dnf',
    [
      `versions="${AL2023_CREDENTIALS_FETCHER_VERSIONS.join(' ')}"; root="$GMSA_HOST_ROOT_DIR"`,
      'resolve() {',
      '  local v="${1#credentials-fetcher}"; v="${v#-}"; v="${v%%-*}"',
      '  [ -n "$v" ] || v="${versions##* }"',
      '  case " $versions " in *" $v "*) echo "$v" ;; *) return 1 ;; esac',
      '}',
      'install_credentials_fetcher() {',
      '  mkdir -p "$root/usr/lib/systemd/system"',
      '  printf "[Service]\\nType=notify\\n" > "$root/usr/lib/systemd/system/credentials-fetcher.service"',
      '  echo "credentials-fetcher-$1" >> "$STUB_DIR/rpmdb"',
      '  [ "${1%%.*}" -ge 2 ] || return 0',
      '  mkdir -p "$root/usr/lib/systemd/system/ecs.service.d" "$root/usr/libexec"',
      '  printf "[Unit]\\nBindsTo=credentials-fetcher.service\\nAfter=credentials-fetcher.service\\n" \\',
      '    > "$root/usr/lib/systemd/system/ecs.service.d/ecs-require-credentials-fetcher.conf"',
      '  printf "#!/bin/sh\\n" > "$root/usr/libexec/credentials-fetcher-startup-order.sh"',
      '  systemctl daemon-reload',
      '  systemctl enable credentials-fetcher.service',
      '  systemctl is-enabled --quiet ecs.service 2>/dev/null && systemctl restart ecs.service || :',
      '}',
      'case "$1" in',
      '  list)',
      '    v="$(resolve "${!#}")" || { echo "Error: No matching Packages to list" >&2; exit 1; }',
      '    echo "credentials-fetcher.x86_64  $v-1.amzn2023  amazonlinux" ;;',
      '  install)',
      `    [ ${installStatus} = 0 ] || exit ${installStatus}`,
      '    shift; [ "$1" != -y ] || shift',
      '    for p in "$@"; do case "$p" in credentials-fetcher*) resolve "$p" >/dev/null ||',
      '      { echo "No match for argument: $p" >&2; echo "Error: Unable to find a match: $p" >&2; exit 1; } ;; esac; done',
      '    for p in "$@"; do case "$p" in',
      '      credentials-fetcher*) install_credentials_fetcher "$(resolve "$p")"; echo "$p" >> "$STUB_DIR/rpmdb" ;;',
      '      *) echo "$p" >> "$STUB_DIR/rpmdb" ;;',
      '    esac; done ;;',
      '  *) echo "dnf stub: unknown command $1" >&2; exit 1 ;;',
      'esac',
    ].join('\n'),
  );
  stub(
    dir,
    'rpm',
    [
      'shift; status=0',
      'for p in "$@"; do grep -qxF "$p" "$STUB_DIR/rpmdb" 2>/dev/null || { echo "package $p is not installed"; status=1; }; done',
      'exit "$status"',
    ].join('\n'),
  );
}

/** One domain controller of the fake directory. */
export interface FakeDomainController {
  /** Its IP address (one of the directory's DNS addresses). */
  readonly address: string;
  /** Its DNS host name (rootDSE dnsHostName). */
  readonly hostName: string;
  /**
   * How many of this DC's membership searches still miss a member written on another DC (AD replicates later);
   * `'never'`: it never receives the change. The first DC takes every write (lag 0).
   * @default 0
   */
  readonly replicationLag?: number | 'never';
}

/**
 * Stubs `adcli add-member`, `ldapsearch`, `kinit` and `kdestroy` as a directory with several domain controllers
 * answers them, each DC with its own copy of the group's members under `$STUB_DIR/dc/`:
 * - `adcli add-member` writes to the first DC only (adcli talks to one DC), reading the password from stdin;
 * - an anonymous (`-x`) base search of a DC's rootDSE by address gives its dnsHostName, as AD allows anyone;
 * - a GSSAPI search needs a ticket (`kinit`) and the DC's host name (the LDAP service principal is ldap/<host name>: an
 *   address fails as "Server not found in Kerberos database"), and shows `memberOf` as that DC has it: a lagging DC
 *   gets the change after its `replicationLag` searches.
 */
export function stubDirectory(
  dir: string,
  controllers: readonly FakeDomainController[],
  options: { readonly realm: string; readonly group: string },
): void {
  const { realm, group } = options;
  const state = path.join(dir, 'dc');
  fs.mkdirSync(state);
  controllers.forEach((dc, index) => {
    fs.writeFileSync(path.join(state, `${dc.hostName}.members`), '');
    const lag = index === 0 ? 0 : (dc.replicationLag ?? 0);
    fs.writeFileSync(path.join(state, `${dc.hostName}.lag`), lag === 'never' ? 'never' : String(lag));
  });
  const addresses = controllers.map((dc) => `${dc.address}) echo ${dc.hostName} ;;`).join(' ');
  const hostNames = controllers.map((dc) => dc.hostName).join(' ');
  stub(
    dir,
    'adcli',
    [
      'cat > "$STUB_DIR/adcli.stdin"',
      '[ "$1" = add-member ] || exit 0',
      `first="${controllers[0]?.hostName ?? ''}"`,
      'echo "${!#}" >> "$STUB_DIR/dc/$first.members"',
      `for dc in ${hostNames}; do [ "$dc" = "$first" ] || echo "\${!#}" >> "$STUB_DIR/dc/$dc.pending"; done`,
    ].join('\n'),
  );
  stub(
    dir,
    'ldapsearch',
    [
      'uri=""; filter=""; gssapi=0; prev=""',
      'for a in "$@"; do case "$prev" in -H) uri="${a#ldap://}" ;; esac; case "$a" in GSSAPI) gssapi=1 ;; "(sAMAccountName="*) filter="$a" ;; esac; prev="$a"; done',
      'if [ "$gssapi" = 0 ]; then',
      `  name="$(case "$uri" in ${addresses} *) ;; esac)"`,
      '  [ -n "$name" ] || { echo "ldap_sasl_bind(SIMPLE): Can\'t contact LDAP server (-1)" >&2; exit 255; }',
      '  printf "dn:\\ndnsHostName: %s\\n" "$name"; exit 0',
      'fi',
      '[ -e "$STUB_DIR/krb5cc" ] || { echo "SASL(-1): generic failure: GSSAPI Error: No Kerberos credentials available" >&2; exit 254; }',
      `[ -e "$STUB_DIR/dc/$uri.members" ] || { echo "SASL(-1): generic failure: GSSAPI Error: Server ldap/$uri@${realm} not found in Kerberos database" >&2; exit 254; }`,
      'lag="$(cat "$STUB_DIR/dc/$uri.lag")"',
      'if [ -s "$STUB_DIR/dc/$uri.pending" ] && [ "$lag" != never ]; then',
      '  if [ "$lag" -le 0 ]; then cat "$STUB_DIR/dc/$uri.pending" >> "$STUB_DIR/dc/$uri.members"; : > "$STUB_DIR/dc/$uri.pending"',
      '  else echo $((lag - 1)) > "$STUB_DIR/dc/$uri.lag"; fi',
      'fi',
      'account="${filter#(sAMAccountName=}"; account="${account%)}"',
      'echo "dn: CN=${account%\\$},CN=Computers,DC=directory,DC=example,DC=com"',
      'if grep -qxF "$account" "$STUB_DIR/dc/$uri.members"; then',
      `  echo "memberOf: CN=${group},OU=Users,OU=DIRECTORY,DC=directory,DC=example,DC=com"`,
      'fi',
    ].join('\n'),
  );
  stub(dir, 'kinit', 'touch "$STUB_DIR/krb5cc"');
  stub(dir, 'kdestroy', 'rm -f "$STUB_DIR/krb5cc"');
}

/** The two layouts credentials-fetcher 2.x writes a lease in. */
export type LeaseLayout = 'domainless' | 'domain-joined';

/**
 * Does on a scratch host root what credentials-fetcher 2.x does for a new lease (aws/credentials-fetcher, Go sources):
 * `<root>/var/credentials-fetcher/krbdir/<lease>/<gMSA>/` made by os.MkdirAll with 0755 (domainless,
 * internal/grpc/api/AddNonDomainJoinedKerberosLease.go) or 0750 (domain-joined, AddKerberosLease.go) under the
 * daemon's umask 022; an empty `krb5cc` made by os.Create (0666 & ~022); then `kinit -c` writes the cache
 * (internal/auth/kerberos/krb_client.go), which {@link fakeKinitWrite} models. Also writes the lease's metadata file,
 * which nobody but root may read. Returns the cache's path.
 */
export function fakeCredentialsFetcherLease(root: string, layout: LeaseLayout, lease: string, gmsa: string): string {
  const krbDir = path.join(root, 'var', 'credentials-fetcher', 'krbdir');
  fs.mkdirSync(krbDir, { recursive: true, mode: 0o755 });
  const mode = layout === 'domainless' ? 0o755 : 0o750;
  for (const dir of [path.join(krbDir, lease), path.join(krbDir, lease, gmsa)]) {
    fs.mkdirSync(dir, { mode });
    fs.chmodSync(dir, mode); // mkdir's mode passes through the process umask; the daemon's is 022
  }
  fs.writeFileSync(path.join(krbDir, lease, 'metadata'), '[]', { mode: 0o600 });
  const cache = path.join(krbDir, lease, gmsa, 'krb5cc');
  fs.writeFileSync(cache, '', { mode: 0o644 });
  fs.chmodSync(cache, 0o644);
  fakeKinitWrite(cache);
  return cache;
}

/**
 * What MIT kinit does to the cache at every `kinit -c FILE` and `kinit -R -c FILE` (credentials-fetcher's first
 * ticket and each renewal): it replaces the file, so the cache gets a new inode, the writer's owner and group and mode
 * 0600, and loses any group or mode given to the old file (seen with MIT krb5 1.20.1, Debian 12, and checked against
 * the real kinit in test/scripts/grant-ticket-read.test.ts). The fake replaces it by a rename. The content starts as a
 * version-4 file cache does (0x05 0x04).
 */
export function fakeKinitWrite(cache: string): void {
  const temporary = `${cache}.tmp-${process.pid}`;
  fs.writeFileSync(temporary, Buffer.from([0x05, 0x04, 0x00, 0x0c]), { mode: 0o600 });
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, cache);
}
