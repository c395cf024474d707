import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  CredentialsFetcherHosts,
  CredentialsFetcherHostsProps,
  HOST_SCRIPT_PATH,
  HOST_SCRIPT_SOURCE,
  hostScriptCommands,
} from '../../lib/constructs/credentials-fetcher-hosts';
import { makeStubBin, stub, stubInstanceMetadata } from '../helpers/stub-bin';

const ACCOUNT_ENV = { account: '111111111111', region: 'eu-west-1' };

function hostsProps(stack: Stack, overrides: Partial<CredentialsFetcherHostsProps> = {}): CredentialsFetcherHostsProps {
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  return {
    vpc,
    cluster: new ecs.Cluster(stack, 'Cluster', { vpc }),
    directoryAccess: { mode: 'domainless', identitySecret: new secretsmanager.Secret(stack, 'Identity') },
    instanceType: 't3.medium',
    minCapacity: 1,
    maxCapacity: 2,
    ...overrides,
  };
}

describe('CredentialsFetcherHosts', () => {
  test.each([
    [2, 1],
    [-1, 2],
    [0, 0],
    [1.5, 2],
  ])('fails GIVEN capacity %d..%d', (minCapacity, maxCapacity) => {
    const stack = new Stack(new App(), 'Test', { env: ACCOUNT_ENV });
    expect(() => new CredentialsFetcherHosts(stack, 'Hosts', hostsProps(stack, { minCapacity, maxCapacity }))).toThrow(
      /ECS_MIN_CAPACITY <= ECS_MAX_CAPACITY/,
    );
  });

  test('fails GIVEN an Arm instance type', () => {
    const stack = new Stack(new App(), 'Test', { env: ACCOUNT_ENV });
    expect(
      () => new CredentialsFetcherHosts(stack, 'Hosts', hostsProps(stack, { instanceType: 't4g.medium' })),
    ).toThrow(/ECS_INSTANCE_TYPE "t4g.medium" is arm64: .* x86_64/);
  });

  test('fails GIVEN an x86_64 instance type without a known network-interface count', () => {
    const stack = new Stack(new App(), 'Test', { env: ACCOUNT_ENV });
    expect(
      () => new CredentialsFetcherHosts(stack, 'Hosts', hostsProps(stack, { instanceType: 'x2iedn.xlarge' })),
    ).toThrow(/ECS_INSTANCE_TYPE "x2iedn.xlarge" has no network-interface count/);
  });

  test('GIVEN 2 t3.medium hosts at most THEN they hold 4 awsvpc tasks', () => {
    const stack = new Stack(new App(), 'Test', { env: ACCOUNT_ENV });
    expect(new CredentialsFetcherHosts(stack, 'Hosts', hostsProps(stack)).awsvpcTaskSlots).toBe(4);
  });

  test('GIVEN capacity 0..1 THEN the hosts are built', () => {
    const stack = new Stack(new App(), 'Test', { env: ACCOUNT_ENV });
    const hosts = new CredentialsFetcherHosts(stack, 'Hosts', hostsProps(stack, { minCapacity: 0, maxCapacity: 1 }));
    expect(hosts.capacityProvider.enableManagedTerminationProtection).toBe(false);
    expect(hosts.autoScalingGroup.areNewInstancesProtectedFromScaleIn()).toBe(false);
  });
});

describe('hostScriptCommands', () => {
  test('GIVEN domainless mode THEN the script runs with --mode domainless only', () => {
    const lines = hostScriptCommands(
      { mode: 'domainless', identitySecret: {} as secretsmanager.ISecret },
      '#!/bin/bash\ntrue\n',
    );
    expect(lines).toEqual([
      `cat > ${HOST_SCRIPT_PATH} <<'GMSA_HOST_SCRIPT_END'`,
      '#!/bin/bash\ntrue',
      'GMSA_HOST_SCRIPT_END',
      `chmod 0755 ${HOST_SCRIPT_PATH}`,
      `${HOST_SCRIPT_PATH} '--mode' 'domainless'`,
    ]);
  });

  test('fails GIVEN a script that contains the heredoc delimiter', () => {
    expect(() =>
      hostScriptCommands(
        { mode: 'domainless', identitySecret: {} as secretsmanager.ISecret },
        'echo\nGMSA_HOST_SCRIPT_END\n',
      ),
    ).toThrow(/must not contain a line "GMSA_HOST_SCRIPT_END"/);
  });

  test('fails GIVEN a group name with a quote', () => {
    const stack = new Stack();
    expect(() =>
      hostScriptCommands({
        mode: 'domain-joined',
        domainName: 'directory.example.com',
        domainJoinSecret: new secretsmanager.Secret(stack, 'Join'),
        domainJoinTag: { key: 'k', value: 'v' },
        gmsaPrincipalsGroup: "it's",
      }),
    ).toThrow(/Host script argument "it's"/);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// The host script itself, run by bash against a scratch root with stub commands: no package is installed, no system
// file is touched. The stubs log their arguments; `sleep` returns at once, so the bounded waits run through quickly.
// ---------------------------------------------------------------------------------------------------------------------

const DOMAIN = 'directory.example.com';
const JOIN_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:111111111111:secret:aws/directory-services/d-1/seamless-domain-join-AbCdEf';
const JOIN_PASSWORD = 'S3cret-Join-Password';
const INSTANCE_ID = 'i-0123456789abcdef0';

/** Real tools the script uses; everything else is a stub. */
const REAL_TOOLS = ['bash', 'mkdir', 'rm', 'touch', 'dirname', 'grep', 'seq', 'cat', 'mv'];

interface StubOptions {
  /** dnf's exit status. */
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
}

interface ScriptRun {
  readonly status: number | null;
  readonly stderr: string;
  /** One line per stub call: `<command> <arguments>`. */
  readonly calls: string[];
  /** What adcli read from stdin. */
  readonly adcliStdin: string;
  readonly root: string;
}

/** A counter stub helper: succeeds (exit 0) for the first N calls, fails afterwards. */
function counterBody(name: string, limit: number, whileBelow: string, after: string): string {
  return [
    `n=$(cat "$STUB_DIR/${name}.count" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$STUB_DIR/${name}.count"`,
    `if [ "$n" -le ${limit} ]; then ${whileBelow}; else ${after}; fi`,
  ].join('\n');
}

function runHostScript(args: string[], options: StubOptions = {}): ScriptRun {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-host-'));
  const bin = makeStubBin(root, REAL_TOOLS);

  stub(bin, 'logger', 'exit 0');
  stub(bin, 'sleep', 'exit 0');
  stub(bin, 'pgrep', counterBody('pgrep', options.busyPackageManagerChecks ?? 0, 'exit 0', 'exit 1'));
  stub(bin, 'dnf', `exit ${options.dnfStatus ?? 0}`);
  stub(bin, 'rpm', 'exit 0');
  stub(bin, 'systemctl', 'exit 0');
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
  stub(
    bin,
    'realm',
    joined === undefined ? 'exit 0' : counterBody('realm', joined, 'exit 0', `echo ${DOMAIN.toUpperCase()}`),
  );
  stub(
    bin,
    'klist',
    [
      `echo 'Keytab name: FILE:/etc/krb5.keytab'`,
      `echo 'KVNO Principal'`,
      `echo '   2 EC2AMAZ-ABC$@DIRECTORY.EXAMPLE.COM'`,
      `echo '   2 host/EC2AMAZ-ABC@DIRECTORY.EXAMPLE.COM'`,
      `echo '   2 RestrictedKrbHost/ec2amaz-abc.directory.example.com@DIRECTORY.EXAMPLE.COM'`,
    ].join('\n'),
  );
  stub(bin, 'uname', `echo ${options.hostname ?? 'ec2amaz-abc.directory.example.com'}`);
  stub(bin, 'adcli', 'cat > "$STUB_DIR/adcli.stdin"');
  stub(bin, 'kdestroy', 'exit 0');
  stub(bin, 'kinit', 'exit 0');

  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc', 'krb5.keytab'), 'keytab');
  fs.mkdirSync(path.join(root, 'etc', 'ecs'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc', 'ecs', 'ecs.config'), options.ecsConfig ?? 'ECS_CLUSTER=test\n');

  const calls = path.join(root, 'calls.log');
  fs.writeFileSync(calls, '');
  const result = spawnSync(path.join(bin, 'bash'), [HOST_SCRIPT_SOURCE, ...args], {
    encoding: 'utf8',
    env: { PATH: bin, GMSA_HOST_ROOT_DIR: root, STUB_CALLS: calls, STUB_DIR: bin },
    timeout: 60_000,
  });
  const adcliStdin = path.join(bin, 'adcli.stdin');
  return {
    status: result.status,
    stderr: result.stderr,
    calls: fs
      .readFileSync(calls, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0),
    adcliStdin: fs.existsSync(adcliStdin) ? fs.readFileSync(adcliStdin, 'utf8') : '',
    root,
  };
}

const DOMAIN_JOINED_ARGS = [
  '--mode',
  'domain-joined',
  '--domain',
  DOMAIN,
  '--join-secret',
  JOIN_SECRET_ARN,
  '--group',
  'SampleWebAppGmsaPrincipals',
];
const DROP_IN = path.join('etc', 'systemd', 'system', 'ecs.service.d', '50-gmsa-host-ready.conf');
const READY_MARKER = path.join('var', 'lib', 'gmsa-linux-ecs', 'host-ready');

function read(run: ScriptRun, file: string): string {
  return fs.readFileSync(path.join(run.root, file), 'utf8');
}

function indexOfCall(run: ScriptRun, prefix: string): number {
  return run.calls.findIndex((call) => call.startsWith(prefix));
}

describe('setup-credentials-fetcher-host.sh', () => {
  const runs: ScriptRun[] = [];
  const track = (run: ScriptRun): ScriptRun => {
    runs.push(run);
    return run;
  };
  afterAll(() => {
    for (const run of runs) fs.rmSync(run.root, { recursive: true, force: true });
  });

  describe('GIVEN domainless mode', () => {
    const run = track(runHostScript(['--mode', 'domainless']));

    test('THEN it succeeds and writes the ready marker', () => {
      expect(run.stderr).toContain('ready: credentials-fetcher runs (domainless)');
      expect(run.status).toBe(0);
      expect(fs.existsSync(path.join(run.root, READY_MARKER))).toBe(true);
    });

    test('THEN the ECS agent may start only once the ready marker exists, and on every boot after credentials-fetcher', () => {
      expect(read(run, DROP_IN)).toBe(
        [
          '[Unit]',
          'Wants=credentials-fetcher.service',
          'After=credentials-fetcher.service',
          `ConditionPathExists=${path.join(run.root, READY_MARKER)}`,
          '',
        ].join('\n'),
      );
      expect(indexOfCall(run, 'systemctl daemon-reload')).toBeLessThan(indexOfCall(run, 'dnf install'));
    });

    test('THEN it installs credentials-fetcher with the Kerberos tools and the GSSAPI plug-in it runs, and checks them', () => {
      expect(run.calls.filter((call) => call.startsWith('dnf '))).toEqual([
        'dnf install -y credentials-fetcher krb5-workstation cyrus-sasl-gssapi',
      ]);
      expect(run.calls).toContain('rpm -q credentials-fetcher krb5-workstation cyrus-sasl-gssapi');
    });

    test('THEN it turns gMSA on in the agent, blocks IMDS for awsvpc tasks, enables and starts the daemon', () => {
      expect(read(run, 'etc/ecs/ecs.config')).toBe(
        'ECS_CLUSTER=test\nECS_GMSA_SUPPORTED=true\nECS_AWSVPC_BLOCK_IMDS=true\n',
      );
      expect(run.calls).toContain('systemctl enable --now credentials-fetcher');
      expect(run.calls).toContain('systemctl is-active --quiet credentials-fetcher');
    });

    test('THEN it neither waits for a domain join nor touches AD or Auto Scaling', () => {
      expect(run.calls.some((call) => /^(realm|adcli|kinit|aws) /.test(call))).toBe(false);
      expect(run.calls).not.toContain('systemctl restart credentials-fetcher');
    });
  });

  describe('GIVEN domain-joined mode and a join that completes after a while', () => {
    const run = track(runHostScript(DOMAIN_JOINED_ARGS, { joinAfterChecks: 3 }));

    test('THEN it succeeds', () => {
      expect(run.stderr).toContain('ready: credentials-fetcher runs (domain-joined)');
      expect(run.status).toBe(0);
      expect(fs.existsSync(path.join(run.root, READY_MARKER))).toBe(true);
    });

    test('THEN it installs credentials-fetcher and the domain-join packages in one transaction', () => {
      expect(run.calls.filter((call) => call.startsWith('dnf '))).toEqual([
        'dnf install -y credentials-fetcher krb5-workstation cyrus-sasl-gssapi realmd oddjob oddjob-mkhomedir sssd adcli samba-common-tools',
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
        `adcli add-member --domain=${DOMAIN} --login-user=ecs-domain-join --stdin-password SampleWebAppGmsaPrincipals EC2AMAZ-ABC$`,
      );
      expect(run.adcliStdin).toBe(`${JOIN_PASSWORD}\n`);
      expect(run.calls.join('\n')).not.toContain(JOIN_PASSWORD);
      expect(run.stderr).not.toContain(JOIN_PASSWORD);
    });

    test('THEN after the membership it renews the host ticket and restarts credentials-fetcher, then marks ready', () => {
      const adcli = indexOfCall(run, 'adcli add-member');
      const kdestroy = indexOfCall(run, 'kdestroy');
      const kinit = run.calls.indexOf(
        `kinit -k -t ${path.join(run.root, 'etc', 'krb5.keytab')} EC2AMAZ-ABC$@DIRECTORY.EXAMPLE.COM`,
      );
      const start = run.calls.indexOf('systemctl enable --now credentials-fetcher');
      const restart = run.calls.indexOf('systemctl restart credentials-fetcher');
      expect(adcli).toBeGreaterThan(run.calls.lastIndexOf('realm list --name-only'));
      expect(kdestroy).toBeGreaterThan(adcli);
      expect(kinit).toBeGreaterThan(kdestroy);
      expect(start).toBeGreaterThan(kinit);
      expect(restart).toBeGreaterThan(start);
      expect(run.calls[run.calls.length - 2]).toBe('systemctl is-active --quiet credentials-fetcher');
    });
  });

  describe('GIVEN another package manager holds the lock for a while', () => {
    const run = track(runHostScript(['--mode', 'domainless'], { busyPackageManagerChecks: 3 }));

    test('THEN it waits for it, then installs', () => {
      expect(run.status).toBe(0);
      const pgrepCalls = run.calls.filter((call) => call.startsWith('pgrep '));
      expect(pgrepCalls).toHaveLength(4);
      expect(pgrepCalls[0]).toBe('pgrep -x dnf|dnf-3|yum|rpm|dnf-automatic');
      const lastPgrep = run.calls.map((call) => call.startsWith('pgrep ')).lastIndexOf(true);
      expect(indexOfCall(run, 'dnf install')).toBe(lastPgrep + 1);
    });
  });

  describe('GIVEN an AMI without the AWS CLI', () => {
    const run = track(runHostScript(['--mode', 'domainless'], { withoutAwsCli: true }));

    test('THEN it installs awscli-2 with credentials-fetcher', () => {
      expect(run.calls).toContain('dnf install -y credentials-fetcher krb5-workstation cyrus-sasl-gssapi awscli-2');
    });
  });

  describe('GIVEN an ecs.config that already turns the settings off', () => {
    const run = track(
      runHostScript(['--mode', 'domainless'], {
        ecsConfig: 'ECS_CLUSTER=test\nECS_AWSVPC_BLOCK_IMDS=false\nECS_GMSA_SUPPORTED=false\nECS_LOGLEVEL=info\n',
      }),
    );

    test('THEN it replaces them and keeps the other lines', () => {
      expect(run.status).toBe(0);
      expect(read(run, 'etc/ecs/ecs.config')).toBe(
        'ECS_CLUSTER=test\nECS_LOGLEVEL=info\nECS_GMSA_SUPPORTED=true\nECS_AWSVPC_BLOCK_IMDS=true\n',
      );
    });
  });

  describe('GIVEN the package installation keeps failing', () => {
    const run = track(runHostScript(['--mode', 'domainless'], { dnfStatus: 1 }));

    test('THEN it fails after a bounded number of attempts, without the ready marker', () => {
      expect(run.status).not.toBe(0);
      expect(run.calls.filter((call) => call.startsWith('dnf install'))).toHaveLength(5);
      expect(fs.existsSync(path.join(run.root, READY_MARKER))).toBe(false);
      expect(fs.existsSync(path.join(run.root, DROP_IN))).toBe(true);
      expect(run.stderr).toContain('the ECS agent will not start on this instance');
    });

    test('THEN it asks Auto Scaling to replace the instance', () => {
      expect(run.calls).toContain(
        `aws autoscaling set-instance-health --region eu-west-1 --instance-id ${INSTANCE_ID} --health-status Unhealthy --no-should-respect-grace-period`,
      );
      expect(run.calls).not.toContain('systemctl enable --now credentials-fetcher');
    });
  });

  describe('GIVEN the package installation fails on an AMI without the AWS CLI', () => {
    const run = track(runHostScript(['--mode', 'domainless'], { dnfStatus: 1, withoutAwsCli: true }));

    test('THEN it powers the instance off, which Auto Scaling also replaces', () => {
      expect(run.status).not.toBe(0);
      expect(run.calls).toContain('systemctl --no-block poweroff');
    });
  });

  describe('GIVEN domain-joined mode and a join that never happens', () => {
    const run = track(runHostScript(DOMAIN_JOINED_ARGS));

    test('THEN it gives up after the bounded wait, adds nothing to AD and marks the instance unhealthy', () => {
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(`not joined to ${DOMAIN} after 1800 s`);
      expect(run.calls.filter((call) => call === 'realm list --name-only')).toHaveLength(181);
      expect(indexOfCall(run, 'adcli')).toBe(-1);
      expect(run.calls).toContain(
        `aws autoscaling set-instance-health --region eu-west-1 --instance-id ${INSTANCE_ID} --health-status Unhealthy --no-should-respect-grace-period`,
      );
    });
  });

  describe('GIVEN a host name that differs from the joined computer account', () => {
    const run = track(
      runHostScript(DOMAIN_JOINED_ARGS, { joinAfterChecks: 0, hostname: 'ip-10-0-1-23.eu-west-1.compute.internal' }),
    );

    test('THEN it fails before changing AD (credentials-fetcher signs in as the host name)', () => {
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain("keytab account 'EC2AMAZ-ABC$' does not match the host name 'IP-10-0-1-23$'");
      expect(indexOfCall(run, 'adcli')).toBe(-1);
      expect(fs.existsSync(path.join(run.root, READY_MARKER))).toBe(false);
    });
  });

  test.each([[[]], [['--mode', 'domain-joined', '--domain', DOMAIN]], [['--mode', 'other']]])(
    'fails GIVEN arguments %j',
    (args) => {
      const run = track(runHostScript(args));
      expect(run.status).toBe(2);
      expect(run.stderr).toContain('usage:');
      expect(indexOfCall(run, 'dnf')).toBe(-1);
    },
  );
});
