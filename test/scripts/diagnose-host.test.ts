import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeStubBin, stub } from '../helpers/stub-bin';

// The host diagnostic, run by bash against a scratch root with stub commands (the host-root pattern of the other host
// scripts): a healthy host passes every line; each fault fails its own line, with a fix, and exit status 1.

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'ecs-host', 'diagnose-host.sh');
const DOMAIN = 'directory.example.com';
const GROUP = 'SampleWebAppGmsaPrincipals';
const DC1 = 'dc1.directory.example.com';
const DC2 = 'dc2.directory.example.com';
const DOMAINLESS = ['--mode', 'domainless', '--domain', DOMAIN];
const DOMAIN_JOINED = ['--mode', 'domain-joined', '--domain', DOMAIN, '--group', GROUP];
const REAL_TOOLS = ['bash', 'cat', 'grep', 'sed', 'awk', 'sort', 'find', 'paste', 'date', 'mktemp', 'rm'];

interface Host {
  readonly credentialsFetcherState?: string;
  readonly withoutSocket?: boolean;
  /** ActiveEnterTimestampMonotonic of the two units. */
  readonly ecsStartedAt?: number;
  readonly credentialsFetcherStartedAt?: number;
  readonly ecsConfig?: string;
  /** DNS answers nothing. */
  readonly dnsDown?: boolean;
  /** `host:port` that do not answer. */
  readonly closedPorts?: readonly string[];
  /** Seconds each DC's clock is ahead of the host's. */
  readonly dcClockAhead?: Readonly<Record<string, number>>;
  /** Lease caches under krbdir: path -> valid or expired. */
  readonly leases?: Readonly<Record<string, 'valid' | 'expired'>>;
  /** DCs on which the host is a member of the group (domain-joined). */
  readonly memberOn?: readonly string[];
  readonly kinitFails?: boolean;
}

interface Run {
  readonly status: number | null;
  readonly lines: string[];
  readonly calls: string[];
}

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function diagnose(args: readonly string[], host: Host = {}): Run {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-diagnose-'));
  roots.push(root);
  const bin = makeStubBin(root, REAL_TOOLS);
  const cfState = host.credentialsFetcherState ?? 'active';
  stub(
    bin,
    'systemctl',
    [
      'case "$*" in',
      `  "is-active credentials-fetcher") echo ${cfState}; [ ${cfState} = active ] ;;`,
      '  "is-active ecs") echo active ;;',
      `  *"--value ecs") echo ${host.ecsStartedAt ?? 2_000_000} ;;`,
      `  *"--value credentials-fetcher") echo ${host.credentialsFetcherStartedAt ?? 1_000_000} ;;`,
      '  *) exit 1 ;;',
      'esac',
    ].join('\n'),
  );
  // dig +short SRV prints "priority weight port target." per record; nothing when the name does not resolve.
  stub(
    bin,
    'dig',
    host.dnsDown
      ? 'exit 0'
      : [
          'case "$*" in',
          `  *_ldap._tcp.dc._msdcs.${DOMAIN}*) echo "0 100 389 ${DC2}."; echo "0 100 389 ${DC1}." ;;`,
          `  *_kerberos._tcp.${DOMAIN}*) echo "0 100 88 ${DC1}."; echo "0 100 88 ${DC2}." ;;`,
          'esac',
        ].join('\n'),
  );
  // timeout runs the command, except the TCP probe, which the stub answers as the network would.
  stub(
    bin,
    'timeout',
    [
      'if [ "$2" = bash ] && [[ "$4" == */dev/tcp/* ]]; then',
      `  case "$6:$7" in ${(host.closedPorts ?? []).map((p) => `${p})`).join(' ') || 'none)'} exit 1 ;; esac`,
      '  exit 0',
      'fi',
      'shift; exec "$@"',
    ].join('\n'),
  );
  const now = Math.floor(Date.now() / 1000);
  const dcTime = (dc: string) => {
    const t = new Date((now + (host.dcClockAhead?.[dc] ?? 0)) * 1000).toISOString();
    return `${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}${t.slice(11, 13)}${t.slice(14, 16)}${t.slice(17, 19)}.0Z`;
  };
  const member = (dc: string) =>
    (host.memberOn ?? [DC1, DC2]).includes(dc)
      ? `echo "memberOf: CN=${GROUP},OU=Users,OU=directory,DC=directory,DC=example,DC=com"`
      : 'true';
  stub(
    bin,
    'ldapsearch',
    [
      'args="$*"; dc="${args##*ldap://}"; dc="${dc%% *}"',
      'if [[ "$*" == *" -x "* ]]; then',
      `  case "$dc" in ${DC1}) echo "currentTime: ${dcTime(DC1)}" ;; ${DC2}) echo "currentTime: ${dcTime(DC2)}" ;; esac`,
      'else',
      `  echo "dn: CN=EC2AMAZ-ABC,OU=Computers,DC=directory,DC=example,DC=com"`,
      `  case "$dc" in ${DC1}) ${member(DC1)} ;; ${DC2}) ${member(DC2)} ;; esac`,
      'fi',
    ].join('\n'),
  );
  stub(bin, 'kinit', host.kinitFails ? 'exit 1' : 'exit 0');
  stub(bin, 'uname', 'echo ec2amaz-abc.directory.example.com');
  // klist -s exits 0 only when the cache holds a valid ticket; the listing is MIT klist's.
  stub(
    bin,
    'klist',
    [
      'cache="${*: -1}"',
      'state="$(cat "$cache")"',
      '[ "$1" = -s ] && { [ "$state" = valid ]; exit; }',
      'echo "Ticket cache: FILE:$cache"',
      "echo 'Default principal: WebApp01$@DIRECTORY.EXAMPLE.COM'",
      'echo',
      'echo "Valid starting       Expires              Service principal"',
      'echo "12/02/26 10:00:00  12/02/26 20:00:00  krbtgt/DIRECTORY.EXAMPLE.COM@DIRECTORY.EXAMPLE.COM"',
    ].join('\n'),
  );

  const socket = path.join(root, 'var/credentials-fetcher/socket/credentials_fetcher.sock');
  fs.mkdirSync(path.dirname(socket), { recursive: true });
  if (!host.withoutSocket) {
    spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', socket]);
  }
  fs.mkdirSync(path.join(root, 'etc/ecs'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/ecs/ecs.config'), host.ecsConfig ?? 'ECS_CLUSTER=x\nECS_GMSA_SUPPORTED=true\n');
  fs.writeFileSync(path.join(root, 'etc/krb5.keytab'), 'keytab');
  for (const [lease, state] of Object.entries(host.leases ?? {})) {
    const file = path.join(root, 'var/credentials-fetcher/krbdir', lease, 'krb5cc');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, state);
  }
  const calls = path.join(root, 'calls.log');
  fs.writeFileSync(calls, '');
  const result = spawnSync(path.join(bin, 'bash'), [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { PATH: bin, GMSA_HOST_ROOT_DIR: root, STUB_CALLS: calls, TMPDIR: root },
    timeout: 30_000,
  });
  return {
    status: result.status,
    lines: result.stdout.split('\n').filter((line) => line.length > 0),
    calls: fs.readFileSync(calls, 'utf8').split('\n').filter(Boolean),
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function lineOf(run: Run, prefix: string): string {
  const found = run.lines.filter((line) => line.startsWith(prefix));
  expect(found).toHaveLength(1);
  return found[0];
}

describe('diagnose-host.sh', () => {
  describe('GIVEN a healthy domainless host with one lease', () => {
    const run = diagnose(DOMAINLESS, { leases: { 'lease-1/WebApp01': 'valid' } });

    test('THEN every line passes, one per check, and it exits 0', () => {
      expect(run.status).toBe(0);
      expect(run.lines).toEqual([
        'PASS credentials-fetcher: the service is active',
        'PASS credentials-fetcher-socket: /var/credentials-fetcher/socket/credentials_fetcher.sock exists',
        'PASS ecs-agent-order: the ECS agent started after credentials-fetcher',
        'PASS ecs-agent-gmsa: ECS_GMSA_SUPPORTED=true in /etc/ecs/ecs.config',
        `PASS dns-srv: _ldap._tcp.dc._msdcs.${DOMAIN} -> ${DC2} ${DC1}`,
        `PASS dns-srv: _kerberos._tcp.${DOMAIN} -> ${DC1} ${DC2}`,
        `PASS tcp: ${DC1}:88 answers`,
        `PASS tcp: ${DC1}:389 answers`,
        `PASS tcp: ${DC2}:88 answers`,
        `PASS tcp: ${DC2}:389 answers`,
        // Seconds between the stub's clock and the script's run (a loaded machine takes a few).
        expect.stringMatching(new RegExp(`^PASS clock: \\d{1,2} s from ${DC1}$`)),
        expect.stringMatching(new RegExp(`^PASS clock: \\d{1,2} s from ${DC2}$`)),
        'PASS lease: lease-1/WebApp01/krb5cc: WebApp01$@DIRECTORY.EXAMPLE.COM, ticket valid until 12/02/26 20:00:00',
      ]);
    });

    test('THEN it only reads: no unit is started, stopped or restarted, every network call is bounded', () => {
      expect(
        run.calls.filter((call) => call.startsWith('systemctl')).every((c) => /^systemctl (is-active|show) /.test(c)),
      ).toBe(true);
      expect(run.calls.filter((call) => call.startsWith('dig')).every((c) => c.includes('+time=3 +tries=1'))).toBe(
        true,
      );
      expect(run.calls).toContain(`timeout 3 ldapsearch -LLL -x -H ldap://${DC1} -s base -b  currentTime`);
      expect(run.calls.some((call) => call.startsWith('kinit'))).toBe(false);
    });
  });

  describe('GIVEN no task has started on the host', () => {
    const run = diagnose(DOMAINLESS);

    test('THEN the lease line says so and passes', () => {
      expect(run.status).toBe(0);
      expect(lineOf(run, 'PASS lease')).toBe('PASS lease: no lease on this host yet (no gMSA task has started here)');
    });
  });

  describe.each<[string, Host, string | RegExp, RegExp]>([
    [
      'credentials-fetcher has failed',
      { credentialsFetcherState: 'failed' },
      'FAIL credentials-fetcher: the service is failed',
      /Fix: sudo systemctl restart credentials-fetcher/,
    ],
    [
      'the socket is missing',
      { withoutSocket: true },
      'FAIL credentials-fetcher-socket: /var/credentials-fetcher/socket/credentials_fetcher.sock is missing',
      /Fix: .*sudo systemctl restart ecs/,
    ],
    [
      'the ECS agent started before credentials-fetcher',
      { ecsStartedAt: 1_000_000, credentialsFetcherStartedAt: 2_000_000 },
      'FAIL ecs-agent-order: the ECS agent started before credentials-fetcher',
      /Fix: sudo systemctl restart ecs/,
    ],
    [
      'the agent has no ECS_GMSA_SUPPORTED',
      { ecsConfig: 'ECS_CLUSTER=x\n' },
      'FAIL ecs-agent-gmsa: /etc/ecs/ecs.config lacks ECS_GMSA_SUPPORTED=true',
      /Fix: replace the instance/,
    ],
    [
      'port 88 of one DC is closed',
      { closedPorts: [`${DC2}:88`] },
      `FAIL tcp: ${DC2}:88 does not answer within 3 s`,
      /Fix: the directory's security group must admit/,
    ],
    [
      "one DC's clock is 10 minutes ahead",
      { dcClockAhead: { [DC1]: 600 } },
      new RegExp(`^FAIL clock: (5[5-9]\\d|600) s from ${DC1}, more than Kerberos' 300 s$`),
      /Fix: chronyc tracking/,
    ],
    [
      "a lease's ticket has expired",
      { leases: { 'lease-1/WebApp01': 'expired' } },
      'FAIL lease: lease-1/WebApp01/krb5cc: WebApp01$@DIRECTORY.EXAMPLE.COM, no valid ticket (expired 12/02/26 20:00:00)',
      /Fix: read \/var\/credentials-fetcher\/logging\/credentials-fetcher\.log/,
    ],
  ])('GIVEN %s', (_name, host, failure, fix) => {
    const run = diagnose(DOMAINLESS, host);

    test('THEN that line fails with its fix, the others pass, and it exits 1', () => {
      expect(run.status).toBe(1);
      const failed = run.lines.filter((line) => line.startsWith('FAIL'));
      expect(failed).toHaveLength(1);
      const [what] = failed[0].split('. Fix: ');
      expect(what).toMatch(typeof failure === 'string' ? new RegExp(`^${escape(failure)}$`) : failure);
      expect(failed[0]).toMatch(fix);
      expect(run.lines.every((line) => /^(PASS|FAIL) [a-z-]+: /.test(line))).toBe(true);
    });
  });

  describe('GIVEN DNS that does not resolve the SRV records', () => {
    const run = diagnose(DOMAINLESS, { dnsDown: true });

    test('THEN both SRV lines fail with the DHCP options fix, and the DC checks say why they have nothing to check', () => {
      expect(run.status).toBe(1);
      expect(run.lines.filter((line) => line.startsWith('FAIL dns-srv'))).toEqual([
        `FAIL dns-srv: _ldap._tcp.dc._msdcs.${DOMAIN} does not resolve. Fix: the VPC's DHCP options must name the directory's DNS addresses (cat /etc/resolv.conf), then reboot the host`,
        `FAIL dns-srv: _kerberos._tcp.${DOMAIN} does not resolve. Fix: the VPC's DHCP options must name the directory's DNS addresses (cat /etc/resolv.conf), then reboot the host`,
      ]);
      expect(lineOf(run, 'FAIL tcp')).toBe(
        'FAIL tcp: no domain controller to check. Fix: fix the dns-srv lines above first',
      );
      expect(lineOf(run, 'FAIL clock')).toContain('no domain controller to check');
    });
  });

  describe('GIVEN a domain-joined host that is a member on both DCs', () => {
    const run = diagnose(DOMAIN_JOINED);

    test('THEN the membership passes on each DC, signed in as the host into a temporary cache', () => {
      expect(run.status).toBe(0);
      expect(run.lines.filter((line) => line.startsWith('PASS group-membership'))).toEqual([
        `PASS group-membership: EC2AMAZ-ABC$ is a member of ${GROUP} on ${DC1}`,
        `PASS group-membership: EC2AMAZ-ABC$ is a member of ${GROUP} on ${DC2}`,
      ]);
      expect(run.calls).toContainEqual(
        expect.stringMatching(/^kinit -k -t .*\/etc\/krb5\.keytab EC2AMAZ-ABC\$@DIRECTORY\.EXAMPLE\.COM$/),
      );
      expect(run.calls).toContainEqual(
        expect.stringContaining(
          `ldapsearch -LLL -Q -Y GSSAPI -H ldap://${DC2} -b DC=directory,DC=example,DC=com (sAMAccountName=EC2AMAZ-ABC$) memberOf`,
        ),
      );
    });
  });

  describe('GIVEN a domain-joined host whose membership has not reached one DC yet', () => {
    const run = diagnose(DOMAIN_JOINED, { memberOn: [DC1] });

    test('THEN that DC fails with the replication hint', () => {
      expect(run.status).toBe(1);
      expect(lineOf(run, 'FAIL group-membership')).toBe(
        `FAIL group-membership: EC2AMAZ-ABC$ is not a member of ${GROUP} on ${DC2}. Fix: replace the instance (its setup adds it), or wait for AD replication if the other DC already shows it`,
      );
    });
  });

  describe('GIVEN a host that cannot sign in with its keytab', () => {
    const run = diagnose(DOMAIN_JOINED, { kinitFails: true });

    test('THEN the membership line fails and names the domain join', () => {
      expect(run.status).toBe(1);
      expect(lineOf(run, 'FAIL group-membership')).toMatch(
        /cannot sign in with \/etc\/krb5\.keytab\. Fix: the host is not joined: check the AWS-JoinDirectoryServiceDomain association/,
      );
    });
  });

  describe.each([
    ['no argument', []],
    ['domain-joined without a group', ['--mode', 'domain-joined', '--domain', DOMAIN]],
    ['a domain with shell characters', ['--mode', 'domainless', '--domain', 'x;reboot']],
  ])('GIVEN %s', (_name, args) => {
    const run = diagnose(args);

    test('fails with exit status 2 and checks nothing', () => {
      expect(run.status).toBe(2);
      expect(run.lines).toEqual([]);
      expect(run.calls).toEqual([]);
    });
  });
});
