import { spawn, spawnSync } from 'child_process';
import { once } from 'events';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HOST_SCRIPT_SOURCE, withoutCommentLines } from '../../lib/constructs/credentials-fetcher-hosts';
import {
  FakeDomainController,
  makeStubBin,
  stub,
  stubDirectory,
  stubInstanceMetadata,
  stubPackageManager,
  stubSystemd,
  userDataCommand,
} from '../helpers/stub-bin';

// The host script, run by bash against a scratch root with stub commands: no package is installed, no system file is
// touched. The stubs log their arguments. `sleep` returns at once, so the bounded waits run through quickly; dnf,
// systemctl, ldapsearch and adcli behave as the real ones do on a first boot (test/helpers/stub-bin.ts says how), so a
// step that would hang a real boot hangs the run here, and the run's bound fails it.

const DOMAIN = 'directory.example.com';
const REALM = DOMAIN.toUpperCase();
const GROUP = 'SampleWebAppGmsaPrincipals';
const JOIN_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:111111111111:secret:aws/directory-services/d-1/seamless-domain-join-AbCdEf';
const JOIN_PASSWORD = 'S3cret-Join-Password';
const INSTANCE_ID = 'i-0123456789abcdef0';
const VERSION = '2.0.1';
const DC1: FakeDomainController = { address: '10.0.0.10', hostName: 'dc1.directory.example.com' };
const DC2: FakeDomainController = { address: '10.0.1.10', hostName: 'dc2.directory.example.com' };

/** Upper bound of one run: a run that hangs is killed then and fails its test. */
const RUN_BOUND_MS = 60_000;

/** Real tools the script and the stubs use; everything else is a stub. */
const REAL_TOOLS = ['bash', 'mkdir', 'rm', 'touch', 'dirname', 'grep', 'seq', 'cat', 'mv', 'ln', 'sed', 'timeout'];

interface StubOptions {
  /** `dnf install`'s exit status. */
  readonly dnfStatus?: number;
  /** Number of `pgrep` calls that still find another package manager. */
  readonly busyPackageManagerChecks?: number;
  /** Number of `realm list` calls before the host shows as joined; never joins when undefined. */
  readonly joinAfterChecks?: number;
  /** `uname -n` output (the kernel's host name). */
  readonly hostname?: string;
  /** Leave out the `aws` stub (the AMI without the AWS CLI). */
  readonly withoutAwsCli?: boolean;
  /** `/etc/ecs/ecs.config` before the script runs (user data writes ECS_CLUSTER first). */
  readonly ecsConfig?: string;
  /** The directory's domain controllers. */
  readonly domainControllers?: readonly FakeDomainController[];
  /** The script's text instead of the file (e.g. a variant with a step removed). */
  readonly scriptText?: string;
  /** Exit status of the CloudWatch agent installer user data writes (scripts/ecs-host/install-cloudwatch-agent.sh). */
  readonly cloudWatchInstallerStatus?: number;
}

interface ScriptRun {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the run was killed at its bound. */
  readonly timedOut: boolean;
  readonly elapsedMs: number;
  readonly stderr: string;
  /** One line per stub call: `<command> <arguments>`. */
  readonly calls: string[];
  /** What adcli read from stdin. */
  readonly adcliStdin: string;
  readonly root: string;
  readonly stubDir: string;
}

/** A counter stub helper: runs `whileBelow` for the first N calls, `after` afterwards. */
function counterBody(name: string, limit: number, whileBelow: string, after: string): string {
  return [
    `n=$(cat "$STUB_DIR/${name}.count" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$STUB_DIR/${name}.count"`,
    `if [ "$n" -le ${limit} ]; then ${whileBelow}; else ${after}; fi`,
  ].join('\n');
}

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

/** A scratch root with every stub, the script to run and the environment to run it in. */
interface Prepared {
  readonly root: string;
  readonly bin: string;
  readonly script: string;
  readonly calls: string;
  readonly env: NodeJS.ProcessEnv;
}

function prepare(options: StubOptions): Prepared {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-host-'));
  roots.push(root);
  const bin = makeStubBin(root, REAL_TOOLS);

  stub(bin, 'logger', 'exit 0');
  stub(bin, 'sleep', 'exit 0');
  stub(bin, 'pgrep', counterBody('pgrep', options.busyPackageManagerChecks ?? 0, 'exit 0', 'exit 1'));
  stubSystemd(bin);
  stubPackageManager(bin, options.dnfStatus);
  stubInstanceMetadata(bin, { 'instance-id': INSTANCE_ID, 'placement/region': 'eu-west-1' });
  if (!options.withoutAwsCli) {
    stub(
      bin,
      'aws',
      [
        'case "$1 $2" in',
        `  "secretsmanager get-secret-value") echo '{"awsSeamlessDomainUsername":"ecs-domain-join","awsSeamlessDomainPassword":"${JOIN_PASSWORD}"}' ;;`,
        '  "autoscaling set-instance-health") exit 0 ;;',
        '  *) exit 1 ;;',
        'esac',
      ].join('\n'),
    );
  }
  const joined = options.joinAfterChecks;
  stub(bin, 'realm', joined === undefined ? 'exit 0' : counterBody('realm', joined, 'exit 0', `echo ${REALM}`));
  stub(
    bin,
    'klist',
    [
      `echo 'Keytab name: FILE:/etc/krb5.keytab'`,
      `echo 'KVNO Principal'`,
      `echo '   2 EC2AMAZ-ABC$@${REALM}'`,
      `echo '   2 host/EC2AMAZ-ABC@${REALM}'`,
      `echo '   2 RestrictedKrbHost/ec2amaz-abc.${DOMAIN}@${REALM}'`,
    ].join('\n'),
  );
  stub(bin, 'uname', `echo ${options.hostname ?? `ec2amaz-abc.${DOMAIN}`}`);
  stubDirectory(bin, options.domainControllers ?? [DC1, DC2], { realm: REALM, group: GROUP });

  fs.mkdirSync(path.join(root, 'etc', 'ecs'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc', 'krb5.keytab'), 'keytab');
  fs.writeFileSync(path.join(root, 'etc', 'ecs', 'ecs.config'), options.ecsConfig ?? 'ECS_CLUSTER=test\n');

  if (options.cloudWatchInstallerStatus !== undefined) {
    // Where user data writes the installer; it records its call like the other stubs.
    const installer = path.join(root, 'usr', 'local', 'sbin', 'install-cloudwatch-agent.sh');
    fs.mkdirSync(path.dirname(installer), { recursive: true });
    fs.writeFileSync(
      installer,
      `#!/bin/bash\necho "install-cloudwatch-agent.sh $*" >> "$STUB_CALLS"\nexit ${options.cloudWatchInstallerStatus}\n`,
      { mode: 0o755 },
    );
  }
  let script = HOST_SCRIPT_SOURCE;
  if (options.scriptText !== undefined) {
    script = path.join(root, 'variant.sh');
    fs.writeFileSync(script, options.scriptText);
  }
  const calls = path.join(root, 'calls.log');
  fs.writeFileSync(calls, '');
  return { root, bin, script, calls, env: { PATH: bin, GMSA_HOST_ROOT_DIR: root, STUB_CALLS: calls, STUB_DIR: bin } };
}

function callsOf(prepared: Prepared): string[] {
  return fs
    .readFileSync(prepared.calls, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);
}

function runHostScript(args: string[], options: StubOptions = {}): ScriptRun {
  const prepared = prepare(options);
  const { root, bin, script } = prepared;
  const started = Date.now();
  const result = spawnSync(path.join(bin, 'bash'), userDataCommand(script, args), {
    encoding: 'utf8',
    env: prepared.env,
    timeout: RUN_BOUND_MS,
  });
  const elapsedMs = Date.now() - started;
  const adcliStdin = path.join(bin, 'adcli.stdin');
  return {
    status: result.status,
    signal: result.signal,
    timedOut: (result.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT',
    elapsedMs,
    stderr: result.stderr,
    calls: callsOf(prepared),
    adcliStdin: fs.existsSync(adcliStdin) ? fs.readFileSync(adcliStdin, 'utf8') : '',
    root,
    stubDir: bin,
  };
}

/** What a run that should hang did: whether systemctl ended up waiting for the user data, and still did 2 s later. */
interface BlockedRun {
  readonly waitedForUserData: boolean;
  readonly stillRunning: boolean;
  readonly calls: string[];
  readonly ready: boolean;
}

/**
 * Starts the script and watches it, for at most {@link RUN_BOUND_MS}, until the systemctl stub waits for the user
 * data (its ecs.service job ordering); then checks 2 s later that the run still has not ended, and kills it.
 */
async function runUntilBlocked(args: string[], options: StubOptions): Promise<BlockedRun> {
  const prepared = prepare(options);
  const child = spawn(path.join(prepared.bin, 'bash'), userDataCommand(prepared.script, args), {
    env: prepared.env,
    stdio: 'ignore',
  });
  const closed = once(child, 'close');
  const marker = path.join(prepared.bin, 'systemd', 'waited-for-user-data');
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const deadline = Date.now() + RUN_BOUND_MS;
  while (!fs.existsSync(marker) && child.exitCode === null && Date.now() < deadline) await pause(100);
  const waitedForUserData = fs.existsSync(marker);
  await pause(2_000);
  const stillRunning = child.exitCode === null;
  child.kill('SIGTERM');
  await closed;
  return {
    waitedForUserData,
    stillRunning,
    calls: callsOf(prepared),
    ready: fs.existsSync(path.join(prepared.root, READY_MARKER)),
  };
}

const VERSION_ARGS = ['--credentials-fetcher-version', VERSION];
const DOMAINLESS_ARGS = ['--mode', 'domainless', ...VERSION_ARGS];
const DOMAIN_JOINED_ARGS = [
  '--mode',
  'domain-joined',
  ...VERSION_ARGS,
  '--domain',
  DOMAIN,
  '--domain-controllers',
  `${DC1.address},${DC2.address}`,
  '--join-secret',
  JOIN_SECRET_ARN,
  '--group',
  GROUP,
];
const DROP_IN_DIR = path.join('etc', 'systemd', 'system', 'ecs.service.d');
const DROP_IN = path.join(DROP_IN_DIR, '50-gmsa-host-ready.conf');
const READY_MARKER = path.join('var', 'lib', 'gmsa-linux-ecs', 'host-ready');
const UNHEALTHY = `aws autoscaling set-instance-health --region eu-west-1 --instance-id ${INSTANCE_ID} --health-status Unhealthy --no-should-respect-grace-period`;

function read(run: ScriptRun, file: string): string {
  return fs.readFileSync(path.join(run.root, file), 'utf8');
}

function ready(run: ScriptRun): boolean {
  return fs.existsSync(path.join(run.root, READY_MARKER));
}

function indexOfCall(run: ScriptRun, prefix: string): number {
  return run.calls.findIndex((call) => call.startsWith(prefix));
}

function unitEnabled(run: ScriptRun, unit: string): boolean {
  return fs.existsSync(path.join(run.stubDir, 'systemd', `enabled-${unit}`));
}

/**
 * The drop-ins systemd applies to ecs.service on this root, name → text: of the same-named files in
 * /etc/systemd/system, /run/systemd/system and /usr/lib/systemd/system the first wins, and one linked to /dev/null
 * (or empty) adds nothing (systemd.unit(5), "drop-in" files).
 */
function effectiveEcsDropIns(run: ScriptRun): Record<string, string> {
  const dirs = ['etc/systemd/system', 'run/systemd/system', 'usr/lib/systemd/system'].map((dir) =>
    path.join(run.root, dir, 'ecs.service.d'),
  );
  const names = new Set(dirs.flatMap((dir) => (fs.existsSync(dir) ? fs.readdirSync(dir) : [])));
  const effective: Record<string, string> = {};
  for (const name of [...names].sort()) {
    const winner = dirs
      .map((dir) => path.join(dir, name))
      .find((file) => fs.lstatSync(file, { throwIfNoEntry: false }));
    if (winner === undefined) continue;
    const masked = fs.lstatSync(winner).isSymbolicLink() && fs.readlinkSync(winner) === '/dev/null';
    const text = masked ? '' : fs.readFileSync(winner, 'utf8');
    if (text.trim() !== '') effective[name] = text;
  }
  return effective;
}

function expectedDropIn(run: ScriptRun): string {
  return [
    '[Unit]',
    'Wants=credentials-fetcher.service',
    'After=credentials-fetcher.service',
    `ConditionPathExists=${path.join(run.root, READY_MARKER)}`,
    '',
    '[Service]',
    `ExecStartPre=/usr/bin/timeout 60 /bin/bash -c 'until [ -S ${path.join(run.root, 'var/credentials-fetcher/socket/credentials_fetcher.sock')} ]; do sleep 1; done'`,
    '',
  ].join('\n');
}

describe('setup-credentials-fetcher-host.sh', () => {
  // One first boot per mode; several describes read them.
  const firstBoot = {
    domainless: runHostScript(DOMAINLESS_ARGS),
    'domain-joined': runHostScript(DOMAIN_JOINED_ARGS, { joinAfterChecks: 0 }),
  };

  describe.each(['domainless', 'domain-joined'] as const)(
    'GIVEN %s mode on a first boot with the scriptlet-faithful dnf and systemctl',
    (mode) => {
      const run = firstBoot[mode];

      test('THEN it finishes within its bound and writes the ready marker', () => {
        expect(run.timedOut).toBe(false);
        expect(run.stderr).toContain(`ready: credentials-fetcher ${VERSION} runs (${mode})`);
        expect(run.status).toBe(0);
        expect(run.elapsedMs).toBeLessThan(RUN_BOUND_MS);
        expect(ready(run)).toBe(true);
      });

      test("THEN the package's %post ran, found ecs.service disabled and restarted nothing", () => {
        const install = indexOfCall(run, 'dnf install');
        expect(run.calls.slice(0, install)).toContain('systemctl disable --quiet ecs.service');
        expect(run.calls).toContain('systemctl is-enabled --quiet ecs.service');
        expect(run.calls.filter((call) => /^systemctl (re)?start ecs/.test(call))).toEqual([]);
        expect(fs.existsSync(path.join(run.stubDir, 'systemd', 'waited-for-user-data'))).toBe(false);
        expect(indexOfCall(run, 'systemctl enable --quiet ecs.service')).toBeGreaterThan(install);
        expect(unitEnabled(run, 'ecs.service')).toBe(true);
      });

      test('THEN the install line names the pinned version, bounded by timeout, after checking the version exists', () => {
        const list = indexOfCall(run, `dnf list --quiet --showduplicates credentials-fetcher-${VERSION}`);
        const install = indexOfCall(run, `dnf install -y credentials-fetcher-${VERSION} `);
        expect(list).toBeGreaterThanOrEqual(0);
        expect(install).toBeGreaterThan(list);
        expect(run.calls.filter((call) => call.startsWith('dnf install'))).toHaveLength(1);
        expect(
          run.calls.filter((call) => /^(dnf|rpm) /.test(call)).some((call) => / credentials-fetcher( |$)/.test(call)),
        ).toBe(false);
        expect(run.calls).toContain(
          `rpm -q credentials-fetcher-${VERSION} krb5-workstation cyrus-sasl-gssapi` +
            (mode === 'domain-joined'
              ? ' realmd oddjob oddjob-mkhomedir sssd adcli samba-common-tools openldap-clients'
              : ''),
        );
      });

      test('THEN one drop-in orders ecs.service: ours, with the package drop-ins masked', () => {
        expect(effectiveEcsDropIns(run)).toEqual({ '50-gmsa-host-ready.conf': expectedDropIn(run) });
        // The package did install its drop-in; the same-named one in /etc is empty.
        expect(read(run, 'usr/lib/systemd/system/ecs.service.d/ecs-require-credentials-fetcher.conf')).toContain(
          'BindsTo=credentials-fetcher.service',
        );
        for (const name of ['ecs-require-credentials-fetcher.conf', 'require-credentials-fetcher.conf']) {
          expect(fs.readlinkSync(path.join(run.root, DROP_IN_DIR, name))).toBe('/dev/null');
        }
        expect(indexOfCall(run, 'systemctl daemon-reload')).toBeLessThan(indexOfCall(run, 'dnf install'));
      });

      test('THEN it turns gMSA on in the agent, blocks IMDS for awsvpc tasks, enables and starts the daemon', () => {
        expect(read(run, 'etc/ecs/ecs.config')).toBe(
          'ECS_CLUSTER=test\nECS_GMSA_SUPPORTED=true\nECS_AWSVPC_BLOCK_IMDS=true\n',
        );
        expect(run.calls).toContain('systemctl enable --now credentials-fetcher');
        expect(run.calls).toContain('systemctl is-active --quiet credentials-fetcher');
      });
    },
  );

  describe('GIVEN domainless mode', () => {
    const run = firstBoot.domainless;

    test('THEN it neither waits for a domain join nor touches AD or Auto Scaling', () => {
      expect(run.status).toBe(0);
      expect(run.calls.some((call) => /^(realm|adcli|kinit|ldapsearch|aws) /.test(call))).toBe(false);
      expect(run.calls).not.toContain('systemctl restart credentials-fetcher');
    });
  });

  describe('GIVEN the install step without with_ecs_agent_disabled (the step before this fix)', () => {
    const text = fs.readFileSync(HOST_SCRIPT_SOURCE, 'utf8');
    const variant = text.replace('with_ecs_agent_disabled install_packages', 'install_packages');

    test("THEN the package's restart of ecs.service waits for the user data that waits for it: the boot hangs", async () => {
      expect(variant).not.toBe(text);
      const run = await runUntilBlocked(DOMAINLESS_ARGS, { scriptText: variant });
      expect(run.waitedForUserData).toBe(true);
      expect(run.stillRunning).toBe(true);
      expect(run.calls.slice(-2)).toEqual([
        'systemctl is-enabled --quiet ecs.service',
        'systemctl restart ecs.service',
      ]);
      expect(run.ready).toBe(false);
    });
  });

  describe('GIVEN the 1.3.8 package, which has neither a drop-in nor a %post', () => {
    const run = runHostScript(['--mode', 'domainless', '--credentials-fetcher-version', '1.3.8']);

    test('THEN our drop-in alone orders the agent and the host is ready', () => {
      expect(run.status).toBe(0);
      expect(effectiveEcsDropIns(run)).toEqual({ '50-gmsa-host-ready.conf': expectedDropIn(run) });
      expect(run.calls).toContain('dnf install -y credentials-fetcher-1.3.8 krb5-workstation cyrus-sasl-gssapi');
    });
  });

  describe('GIVEN a version the repositories do not carry', () => {
    const run = runHostScript(['--mode', 'domainless', '--credentials-fetcher-version', '9.9.9']);

    test('THEN it fails with one line naming the version, installs nothing and re-enables nothing it disabled', () => {
      expect(run.status).not.toBe(0);
      const lines = run.stderr.split('\n').filter((line) => line.includes('9.9.9'));
      expect(lines).toEqual([
        "gmsa-host-setup: credentials-fetcher 9.9.9 is not available from this host's package repositories (or they are unreachable): set CREDENTIALS_FETCHER_VERSION to a version `dnf list --showduplicates credentials-fetcher` lists",
      ]);
      expect(indexOfCall(run, 'dnf install')).toBe(-1);
      expect(unitEnabled(run, 'ecs.service')).toBe(true);
      expect(run.calls).toContain(UNHEALTHY);
      expect(ready(run)).toBe(false);
    });
  });

  describe('GIVEN domain-joined mode, a join that completes after a while and a DC that lags', () => {
    const run = runHostScript(DOMAIN_JOINED_ARGS, {
      joinAfterChecks: 3,
      domainControllers: [DC1, { ...DC2, replicationLag: 3 }],
    });
    const searches = (host: string) =>
      run.calls.filter((call) => call.startsWith('ldapsearch') && call.includes(`-H ldap://${host} `));

    test('THEN it succeeds', () => {
      expect(run.stderr).toContain(`all 2 domain controllers list EC2AMAZ-ABC$ in ${GROUP}`);
      expect(run.status).toBe(0);
      expect(ready(run)).toBe(true);
    });

    test('THEN it installs credentials-fetcher and the domain-join packages in one transaction', () => {
      expect(run.calls.filter((call) => call.startsWith('dnf install'))).toEqual([
        `dnf install -y credentials-fetcher-${VERSION} krb5-workstation cyrus-sasl-gssapi realmd oddjob oddjob-mkhomedir sssd adcli samba-common-tools openldap-clients`,
      ]);
    });

    test('THEN it polls until the host is joined', () => {
      expect(run.calls.filter((call) => call === 'realm list --name-only')).toHaveLength(4);
    });

    test('THEN it adds the computer account to the gMSA group as the join user, the password on stdin only', () => {
      expect(run.calls).toContain(
        `aws secretsmanager get-secret-value --region eu-west-1 --secret-id ${JOIN_SECRET_ARN} --query SecretString --output text`,
      );
      expect(run.calls).toContain(
        `adcli add-member --domain=${DOMAIN} --login-user=ecs-domain-join --stdin-password ${GROUP} EC2AMAZ-ABC$`,
      );
      expect(run.adcliStdin).toBe(`${JOIN_PASSWORD}\n`);
      expect(run.calls.join('\n')).not.toContain(JOIN_PASSWORD);
      expect(run.stderr).not.toContain(JOIN_PASSWORD);
    });

    test('THEN it finds each DC by address and asks it by name with the host ticket, until the lagging one agrees', () => {
      expect(searches(DC1.address)).toEqual([
        `ldapsearch -LLL -x -o ldif-wrap=no -H ldap://${DC1.address} -s base -b  dnsHostName`,
      ]);
      expect(searches(DC1.hostName)).toHaveLength(4);
      expect(searches(DC2.hostName)).toHaveLength(4);
      expect(searches(DC2.hostName)[0]).toBe(
        `ldapsearch -LLL -N -Q -Y GSSAPI -o ldif-wrap=no -H ldap://${DC2.hostName} -b DC=directory,DC=example,DC=com (sAMAccountName=EC2AMAZ-ABC$) memberOf`,
      );
    });

    test('THEN the last host ticket and credentials-fetcher come after both DCs agree, then the ready marker', () => {
      const adcli = indexOfCall(run, 'adcli add-member');
      const lastSearch = run.calls.map((call) => call.startsWith('ldapsearch')).lastIndexOf(true);
      const kinit = `kinit -k -t ${path.join(run.root, 'etc', 'krb5.keytab')} EC2AMAZ-ABC$@${REALM}`;
      const lastKinit = run.calls.lastIndexOf(kinit);
      const start = run.calls.indexOf('systemctl enable --now credentials-fetcher');
      const restart = run.calls.indexOf('systemctl restart credentials-fetcher');
      expect(adcli).toBeGreaterThan(run.calls.lastIndexOf('realm list --name-only'));
      expect(run.calls.indexOf(kinit)).toBeGreaterThan(adcli);
      expect(run.calls.indexOf(kinit)).toBeLessThan(indexOfCall(run, 'ldapsearch'));
      expect(lastKinit).toBeGreaterThan(lastSearch);
      expect(run.calls[lastKinit - 1]).toBe('kdestroy -A');
      expect(start).toBeGreaterThan(lastKinit);
      expect(restart).toBeGreaterThan(start);
      expect(run.calls[run.calls.length - 2]).toBe('systemctl is-active --quiet credentials-fetcher');
    });
  });

  describe('GIVEN domain-joined mode and a DC that never receives the membership', () => {
    const run = runHostScript(DOMAIN_JOINED_ARGS, {
      joinAfterChecks: 0,
      domainControllers: [DC1, { ...DC2, replicationLag: 'never' }],
    });

    test('THEN it gives up after the bounded wait, names that DC, and the agent may not start', () => {
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(
        `domain controller ${DC2.address} (${DC2.hostName}) still does not list EC2AMAZ-ABC$ in ${GROUP} after 300 s`,
      );
      expect(run.stderr).not.toContain(`${DC1.address} (`);
      expect(run.calls.filter((call) => call.includes(`-H ldap://${DC2.hostName} `))).toHaveLength(31);
      expect(indexOfCall(run, 'systemctl enable --now credentials-fetcher')).toBe(-1);
      expect(run.calls).toContain(UNHEALTHY);
      expect(ready(run)).toBe(false);
    });
  });

  describe('GIVEN domain-joined mode and a DC address that does not answer', () => {
    const run = runHostScript(
      DOMAIN_JOINED_ARGS.map((arg) => (arg === `${DC1.address},${DC2.address}` ? `${DC1.address},10.0.9.9` : arg)),
      { joinAfterChecks: 0 },
    );

    test('THEN it fails naming the address', () => {
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(`domain controller 10.0.9.9 still does not list EC2AMAZ-ABC$ in ${GROUP}`);
      expect(ready(run)).toBe(false);
    });
  });

  describe('GIVEN another package manager holds the lock for a while', () => {
    const run = runHostScript(DOMAINLESS_ARGS, { busyPackageManagerChecks: 3 });

    test('THEN it waits for it, then checks the version and installs', () => {
      expect(run.status).toBe(0);
      const pgrepCalls = run.calls.filter((call) => call.startsWith('pgrep '));
      expect(pgrepCalls).toHaveLength(5);
      expect(pgrepCalls[0]).toBe('pgrep -x dnf|dnf-3|yum|rpm|dnf-automatic');
      const pgrepAt = run.calls.map((call, index) => (call.startsWith('pgrep ') ? index : -1)).filter((i) => i >= 0);
      expect(run.calls[pgrepAt[3] + 1]).toMatch(/^dnf list /);
      expect(run.calls[pgrepAt[4] + 1]).toMatch(/^dnf install /);
    });
  });

  describe('GIVEN an AMI without the AWS CLI', () => {
    const run = runHostScript(DOMAINLESS_ARGS, { withoutAwsCli: true });

    test('THEN it installs awscli-2 with credentials-fetcher', () => {
      expect(run.calls).toContain(
        `dnf install -y credentials-fetcher-${VERSION} krb5-workstation cyrus-sasl-gssapi awscli-2`,
      );
    });
  });

  describe('GIVEN an ecs.config that already turns the settings off', () => {
    const run = runHostScript(DOMAINLESS_ARGS, {
      ecsConfig: 'ECS_CLUSTER=test\nECS_AWSVPC_BLOCK_IMDS=false\nECS_GMSA_SUPPORTED=false\nECS_LOGLEVEL=info\n',
    });

    test('THEN it replaces them and keeps the other lines', () => {
      expect(run.status).toBe(0);
      expect(read(run, 'etc/ecs/ecs.config')).toBe(
        'ECS_CLUSTER=test\nECS_LOGLEVEL=info\nECS_GMSA_SUPPORTED=true\nECS_AWSVPC_BLOCK_IMDS=true\n',
      );
    });
  });

  describe('GIVEN the package installation keeps failing', () => {
    const run = runHostScript(DOMAINLESS_ARGS, { dnfStatus: 1 });

    test('THEN it fails after a bounded number of attempts, without the ready marker, ecs.service enabled again', () => {
      expect(run.status).not.toBe(0);
      expect(run.calls.filter((call) => call.startsWith('dnf install'))).toHaveLength(5);
      expect(ready(run)).toBe(false);
      expect(fs.existsSync(path.join(run.root, DROP_IN))).toBe(true);
      expect(unitEnabled(run, 'ecs.service')).toBe(true);
      expect(run.stderr).toContain('the ECS agent will not start on this instance');
    });

    test('THEN it asks Auto Scaling to replace the instance', () => {
      expect(run.calls).toContain(UNHEALTHY);
      expect(run.calls).not.toContain('systemctl enable --now credentials-fetcher');
    });
  });

  describe('GIVEN the package installation fails on an AMI without the AWS CLI', () => {
    const run = runHostScript(DOMAINLESS_ARGS, { dnfStatus: 1, withoutAwsCli: true });

    test('THEN it powers the instance off, which Auto Scaling also replaces', () => {
      expect(run.status).not.toBe(0);
      expect(run.calls).toContain('systemctl --no-block poweroff');
    });
  });

  describe('GIVEN domain-joined mode and a join that never happens', () => {
    const run = runHostScript(DOMAIN_JOINED_ARGS);

    test('THEN it gives up after the bounded wait, adds nothing to AD and marks the instance unhealthy', () => {
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(`not joined to ${DOMAIN} after 1800 s`);
      expect(run.calls.filter((call) => call === 'realm list --name-only')).toHaveLength(181);
      expect(indexOfCall(run, 'adcli')).toBe(-1);
      expect(run.calls).toContain(UNHEALTHY);
    });
  });

  describe('GIVEN a host name that differs from the joined computer account', () => {
    const run = runHostScript(DOMAIN_JOINED_ARGS, {
      joinAfterChecks: 0,
      hostname: 'ip-10-0-1-23.eu-west-1.compute.internal',
    });

    test('THEN it fails before changing AD (credentials-fetcher signs in as the host name)', () => {
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain("keytab account 'EC2AMAZ-ABC$' does not match the host name 'IP-10-0-1-23$'");
      expect(indexOfCall(run, 'adcli')).toBe(-1);
      expect(ready(run)).toBe(false);
    });
  });

  test.each([
    [[]],
    [['--mode', 'domainless']],
    [['--mode', 'domainless', '--credentials-fetcher-version', '2.0.1;reboot']],
    [['--mode', 'domain-joined', ...VERSION_ARGS, '--domain', DOMAIN, '--join-secret', 'x', '--group', GROUP]],
    [['--mode', 'other', ...VERSION_ARGS]],
  ])('fails GIVEN arguments %j', (args) => {
    const run = runHostScript(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('usage:');
    expect(indexOfCall(run, 'dnf')).toBe(-1);
  });

  describe('GIVEN --cloudwatch-config (host logs to CloudWatch, issue 22)', () => {
    const CONFIG = '/amazon-ecs-gmsa-linux/cloudwatch-agent/ecs-hosts';
    const args = [...DOMAINLESS_ARGS, '--cloudwatch-config', CONFIG];

    test('THEN the agent is installed with that configuration before anything else is installed', () => {
      const run = runHostScript(args, { cloudWatchInstallerStatus: 0 });
      expect(run.status).toBe(0);
      const agent = indexOfCall(run, `install-cloudwatch-agent.sh --config-parameter ${CONFIG}`);
      expect(agent).toBeGreaterThanOrEqual(0);
      expect(agent).toBeLessThan(indexOfCall(run, 'dnf install'));
      expect(ready(run)).toBe(true);
    });

    test('THEN an installer that fails leaves the host working, with one line saying the logs stay on the host', () => {
      const run = runHostScript(args, { cloudWatchInstallerStatus: 1 });
      expect(run.status).toBe(0);
      expect(run.stderr).toContain('CloudWatch agent not installed: logs stay on the host');
      expect(ready(run)).toBe(true);
    });

    test('THEN without it no agent is installed', () => {
      expect(firstBoot.domainless.calls.filter((call) => call.startsWith('install-cloudwatch-agent'))).toEqual([]);
    });
  });

  describe('GIVEN --ticket-reader-gid 1654 (the non-root app on EC2, docs/security.md)', () => {
    const UNIT = path.join('etc', 'systemd', 'system', 'gmsa-ticket-read.service');
    const run = runHostScript([...DOMAINLESS_ARGS, '--ticket-reader-gid', '1654']);

    test('THEN it installs gmsa-ticket-read.service, which runs the grant script every second for that group', () => {
      expect(run.status).toBe(0);
      expect(read(run, UNIT)).toBe(
        [
          '[Unit]',
          'After=credentials-fetcher.service',
          '[Service]',
          `ExecStart=${path.join(run.root, 'usr/local/sbin/grant-ticket-read.sh')} 1654`,
          'Restart=always',
          'RestartSec=1',
          '[Install]',
          'WantedBy=multi-user.target',
          '',
        ].join('\n'),
      );
    });

    test('THEN it starts the service after credentials-fetcher and checks it runs before the ready marker', () => {
      const start = run.calls.indexOf('systemctl enable --now gmsa-ticket-read.service');
      expect(start).toBeGreaterThan(run.calls.indexOf('systemctl enable --now credentials-fetcher'));
      expect(run.calls[start - 1]).toBe('systemctl daemon-reload');
      expect(run.calls[start + 1]).toBe('systemctl is-active --quiet gmsa-ticket-read.service');
      expect(ready(run)).toBe(true);
    });

    test('THEN without it no such service is installed', () => {
      expect(fs.existsSync(path.join(firstBoot.domainless.root, UNIT))).toBe(false);
      expect(firstBoot.domainless.calls.some((call) => call.includes('gmsa-ticket-read'))).toBe(false);
    });

    test.each(['0', 'app', '1654;reboot'])('fails GIVEN --ticket-reader-gid %s', (gid) => {
      const bad = runHostScript([...DOMAINLESS_ARGS, '--ticket-reader-gid', gid]);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('usage:');
    });
  });

  describe('GIVEN the script as user data carries it (comment lines removed)', () => {
    const text = withoutCommentLines(fs.readFileSync(HOST_SCRIPT_SOURCE, 'utf8'));
    const stripped = runHostScript(DOMAIN_JOINED_ARGS, { scriptText: text, joinAfterChecks: 0 });
    const original = firstBoot['domain-joined'];

    test('THEN it makes the same calls as the commented script', () => {
      expect(stripped.status).toBe(0);
      const relative = (run: ScriptRun) => run.calls.map((call) => call.split(run.root).join('<root>'));
      expect(relative(stripped)).toEqual(relative(original));
    });
  });
});
