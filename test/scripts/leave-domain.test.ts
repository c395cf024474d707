import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { LEAVE_DOMAIN_SCRIPT_SOURCE, leaveDomainCommands } from '../../lib/constructs/credentials-fetcher-hosts';
import { makeStubBin, stub, stubInstanceMetadata } from '../helpers/stub-bin';

// The leave-domain script, run by bash against a scratch root with stub commands (as the host script's tests do): no
// directory is contacted. The stubs log their arguments; `timeout` logs its bound and runs the stubbed command.

const DOMAIN = 'directory.example.com';
const GROUP = 'SampleWebAppGmsaPrincipals';
const JOIN_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:111111111111:secret:aws/directory-services/d-1/seamless-domain-join-AbCdEf';
const JOIN_PASSWORD = 'S3cret-Join-Password';
const ARGS = ['--domain', DOMAIN, '--join-secret', JOIN_SECRET_ARN, '--group', GROUP];
const REAL_TOOLS = ['bash', 'cat', 'mktemp', 'rm'];

interface Options {
  /** Exit status of `adcli delete-computer`. */
  readonly deleteStatus?: number;
  /** Exit status of `adcli remove-member`. */
  readonly removeStatus?: number;
  /** Exit status of `aws secretsmanager get-secret-value`. */
  readonly secretStatus?: number;
  /** No /etc/krb5.keytab: the host never joined. */
  readonly withoutKeytab?: boolean;
  /** Run these Run Command lines (the runbook's) instead of the script file. */
  readonly runCommandLines?: string[];
}

interface Run {
  readonly status: number | null;
  readonly stderr: string;
  readonly calls: string[];
  /** What each adcli call read from stdin, in order. */
  readonly adcliStdin: string[];
  /** The stub directory (inside the scratch root). */
  readonly stubDir: string;
}

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function runLeaveDomain(args: string[], options: Options = {}): Run {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-leave-'));
  roots.push(root);
  const bin = makeStubBin(root, REAL_TOOLS);

  stub(bin, 'logger', 'exit 0');
  stub(bin, 'timeout', 'shift; exec "$@"');
  stubInstanceMetadata(bin, { 'placement/region': 'eu-west-1' });
  stub(
    bin,
    'aws',
    options.secretStatus
      ? `exit ${options.secretStatus}`
      : `echo '{"awsSeamlessDomainUsername":"ecs-domain-join","awsSeamlessDomainPassword":"${JOIN_PASSWORD}"}'`,
  );
  stub(
    bin,
    'klist',
    [
      `echo 'Keytab name: FILE:/etc/krb5.keytab'`,
      `echo 'KVNO Principal'`,
      `echo '   2 host/EC2AMAZ-ABC@DIRECTORY.EXAMPLE.COM'`,
      `echo '   2 EC2AMAZ-ABC$@DIRECTORY.EXAMPLE.COM'`,
    ].join('\n'),
  );
  stub(
    bin,
    'adcli',
    [
      'n=$(cat "$STUB_DIR/adcli.count" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$STUB_DIR/adcli.count"',
      'cat > "$STUB_DIR/adcli.stdin.$n"',
      `case "$1" in delete-computer) exit ${options.deleteStatus ?? 0} ;; remove-member) exit ${options.removeStatus ?? 0} ;; esac`,
    ].join('\n'),
  );

  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  if (!options.withoutKeytab) fs.writeFileSync(path.join(root, 'etc', 'krb5.keytab'), 'keytab');
  const calls = path.join(root, 'calls.log');
  fs.writeFileSync(calls, '');
  const lines = path.join(root, 'run-command.sh');
  if (options.runCommandLines) fs.writeFileSync(lines, options.runCommandLines.join('\n') + '\n');
  const argv = options.runCommandLines ? [lines] : [LEAVE_DOMAIN_SCRIPT_SOURCE, ...args];
  const result = spawnSync(path.join(bin, 'bash'), argv, {
    encoding: 'utf8',
    env: { PATH: bin, GMSA_HOST_ROOT_DIR: root, STUB_CALLS: calls, STUB_DIR: bin, TMPDIR: root },
    timeout: 30_000,
  });
  const stdinFiles = fs
    .readdirSync(bin)
    .filter((f) => f.startsWith('adcli.stdin.'))
    .sort();
  return {
    status: result.status,
    stderr: result.stderr,
    calls: fs
      .readFileSync(calls, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0),
    adcliStdin: stdinFiles.map((f) => fs.readFileSync(path.join(bin, f), 'utf8')),
    stubDir: bin,
  };
}

const DELETE = `adcli delete-computer --domain=${DOMAIN} --login-user=ecs-domain-join --stdin-password EC2AMAZ-ABC`;
const REMOVE = `adcli remove-member --domain=${DOMAIN} --login-user=ecs-domain-join --stdin-password ${GROUP} EC2AMAZ-ABC$`;

describe('leave-domain.sh', () => {
  describe('GIVEN a joined host and a directory that accepts the deletion', () => {
    const run = runLeaveDomain(ARGS);

    test('THEN it deletes the computer account as the join user, bounded by timeout, and exits 0', () => {
      expect(run.status).toBe(0);
      expect(run.calls).toContain(`timeout 45 ${DELETE}`);
      expect(run.calls).toContain(DELETE);
      expect(run.calls.some((call) => call.startsWith('adcli remove-member'))).toBe(false);
      expect(run.stderr).toContain('deleted EC2AMAZ-ABC$');
    });

    test('THEN it reads the join secret in the instance region, bounded by timeout', () => {
      expect(run.calls).toContain(
        `timeout 45 aws secretsmanager get-secret-value --region eu-west-1 --secret-id ${JOIN_SECRET_ARN} --query SecretString --output text`,
      );
      expect(run.calls.filter((call) => call.startsWith('curl ')).every((call) => call.includes('--max-time 5'))).toBe(
        true,
      );
    });

    test('THEN the password goes through stdin only', () => {
      expect(run.adcliStdin).toEqual([`${JOIN_PASSWORD}\n`]);
      expect(run.calls.join('\n')).not.toContain(JOIN_PASSWORD);
      expect(run.stderr).not.toContain(JOIN_PASSWORD);
    });
  });

  describe('GIVEN the deletion fails', () => {
    const run = runLeaveDomain(ARGS, { deleteStatus: 1 });

    test('THEN it removes the account from the gMSA group instead and exits 0', () => {
      expect(run.status).toBe(0);
      const deleteAt = run.calls.indexOf(DELETE);
      expect(deleteAt).toBeGreaterThanOrEqual(0);
      expect(run.calls.indexOf(`timeout 45 ${REMOVE}`)).toBeGreaterThan(deleteAt);
      expect(run.adcliStdin).toEqual([`${JOIN_PASSWORD}\n`, `${JOIN_PASSWORD}\n`]);
      expect(run.stderr).toContain(`removed EC2AMAZ-ABC$ from ${GROUP}`);
    });
  });

  describe('GIVEN the deletion and the group removal both fail', () => {
    const run = runLeaveDomain(ARGS, { deleteStatus: 1, removeStatus: 124 });

    test('THEN it says what is left in AD and exits 1 (the runbook completes the lifecycle action anyway)', () => {
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(`could not remove EC2AMAZ-ABC$ from ${GROUP} either`);
    });
  });

  describe('GIVEN the join secret cannot be read', () => {
    const run = runLeaveDomain(ARGS, { secretStatus: 255 });

    test('THEN it contacts no directory and exits 1', () => {
      expect(run.status).toBe(1);
      expect(run.calls.some((call) => call.startsWith('adcli'))).toBe(false);
      expect(run.stderr).toContain('could not read the seamless-domain-join secret');
    });
  });

  describe('GIVEN a host that never joined (no keytab)', () => {
    const run = runLeaveDomain(ARGS, { withoutKeytab: true });

    test('THEN there is nothing to remove: no AWS or directory call, exit 0', () => {
      expect(run.status).toBe(0);
      expect(run.calls.some((call) => /^(aws|adcli|timeout) /.test(call))).toBe(false);
      expect(run.stderr).toContain('never joined');
    });
  });

  describe("GIVEN the runbook's Run Command lines", () => {
    const commands = leaveDomainCommands({
      mode: 'domain-joined',
      domainName: DOMAIN,
      domainControllers: ['10.0.0.10'],
      domainJoinSecret: { secretArn: JOIN_SECRET_ARN } as secretsmanager.ISecret,
      domainJoinTag: { key: 'k', value: 'v' },
      gmsaPrincipalsGroup: GROUP,
    });
    const worked = runLeaveDomain([], { runCommandLines: commands });
    const failed = runLeaveDomain([], { runCommandLines: commands, deleteStatus: 1, removeStatus: 1 });

    test('THEN they write the script to a temporary file, run it with the arguments and remove the file', () => {
      expect(worked.status).toBe(0);
      expect(worked.calls).toContain(DELETE);
      expect(fs.readdirSync(path.dirname(worked.stubDir)).filter((f) => f.startsWith('tmp.'))).toEqual([]);
    });

    test("THEN they exit with the script's status, which Run Command reports", () => {
      expect(failed.status).toBe(1);
      expect(failed.stderr).toContain('either: remove it in Active Directory');
    });

    test('fails GIVEN a script with "{{", which SSM would take for a parameter', () => {
      expect(() =>
        leaveDomainCommands(
          {
            mode: 'domain-joined',
            domainName: DOMAIN,
            domainControllers: ['10.0.0.10'],
            domainJoinSecret: { secretArn: JOIN_SECRET_ARN } as secretsmanager.ISecret,
            domainJoinTag: { key: 'k', value: 'v' },
            gmsaPrincipalsGroup: GROUP,
          },
          'echo {{ x }}\n',
        ),
      ).toThrow(/must not contain "\{\{"/);
    });
  });

  test.each([[[]], [['--domain', DOMAIN]], [['--other']]])('fails GIVEN arguments %j', (args) => {
    const run = runLeaveDomain(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('usage:');
    expect(run.calls.some((call) => call.startsWith('adcli'))).toBe(false);
  });
});
