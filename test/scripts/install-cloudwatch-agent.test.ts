import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLOUDWATCH_AGENT_INSTALLER_SOURCE } from '../../lib/constructs/container-host-logs';
import { makeStubBin, stub } from '../helpers/stub-bin';

// The CloudWatch agent installer, run by bash against a scratch root with stub commands (as the host script's tests
// do). `timeout` logs its bound and runs the command; dnf fails as it does when the repository is out of reach.

const PARAMETER = '/amazon-ecs-gmsa-linux/cloudwatch-agent/ecs-hosts';
const CTL = 'opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl';

interface Options {
  /** dnf fails this many times before it succeeds. */
  readonly dnfFailures?: number;
  /** Exit status of `amazon-cloudwatch-agent-ctl -a fetch-config`. */
  readonly fetchConfigStatus?: number;
  /** What `amazon-cloudwatch-agent-ctl -a status` reports. */
  readonly agentStatus?: 'running' | 'stopped';
}

interface Run {
  readonly status: number | null;
  readonly stderr: string;
  readonly calls: string[];
}

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function runInstaller(args: string[], options: Options = {}): Run {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-cwagent-'));
  roots.push(root);
  const bin = makeStubBin(root, ['bash', 'cat', 'grep', 'seq']);
  stub(bin, 'logger', 'exit 0');
  stub(bin, 'sleep', 'exit 0');
  stub(bin, 'timeout', 'shift; exec "$@"');
  stub(
    bin,
    'dnf',
    [
      'n=$(cat "$STUB_DIR/dnf.count" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$STUB_DIR/dnf.count"',
      // dnf's message when the repository cannot be reached (librepo), exit status 1.
      `[ "$n" -le ${options.dnfFailures ?? 0} ] && { echo 'Error: Failed to download metadata for repo' >&2; exit 1; }`,
      ': > "$STUB_DIR/installed"',
    ].join('\n'),
  );
  // rpm -q succeeds only once dnf has installed the package, as on a host.
  stub(bin, 'rpm', '[ -e "$STUB_DIR/installed" ]');
  const ctl = path.join(root, CTL);
  fs.mkdirSync(path.dirname(ctl), { recursive: true });
  stub(path.dirname(ctl), 'amazon-cloudwatch-agent-ctl', '');
  // The agent's ctl prints its status as JSON; fetch-config fails when it cannot read the parameter.
  fs.appendFileSync(
    ctl,
    [
      'case "$2" in',
      `  fetch-config) exit ${options.fetchConfigStatus ?? 0} ;;`,
      `  status) printf '{\\n  "status": "%s",\\n  "configstatus": "configured"\\n}\\n' ${options.agentStatus ?? 'running'} ;;`,
      'esac',
    ].join('\n') + '\n',
  );
  const calls = path.join(root, 'calls.log');
  fs.writeFileSync(calls, '');
  const result = spawnSync(path.join(bin, 'bash'), [CLOUDWATCH_AGENT_INSTALLER_SOURCE, ...args], {
    encoding: 'utf8',
    env: { PATH: bin, GMSA_HOST_ROOT_DIR: root, STUB_CALLS: calls, STUB_DIR: bin },
    timeout: 30_000,
  });
  return {
    status: result.status,
    stderr: result.stderr,
    calls: fs
      .readFileSync(calls, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => line.replace(root, '<root>')),
  };
}

const ARGS = ['--config-parameter', PARAMETER];
const INSTALL = 'dnf install -y amazon-cloudwatch-agent';
const FETCH = `amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c ssm:${PARAMETER}`;

describe('install-cloudwatch-agent.sh', () => {
  describe('GIVEN the repository answers and the agent loads its configuration', () => {
    const run = runInstaller(ARGS);

    test('THEN it installs the package by name, bounded by timeout, and starts the agent from the SSM parameter', () => {
      expect(run.status).toBe(0);
      expect(run.calls.filter((call) => !call.startsWith('logger '))).toEqual([
        `timeout 300 ${INSTALL}`,
        INSTALL,
        'rpm -q amazon-cloudwatch-agent',
        `timeout 120 <root>/${CTL} -a fetch-config -m ec2 -s -c ssm:${PARAMETER}`,
        FETCH,
        `timeout 120 <root>/${CTL} -a status`,
        'amazon-cloudwatch-agent-ctl -a status',
      ]);
      expect(run.stderr).toContain(`running with ssm:${PARAMETER}`);
    });
  });

  describe('GIVEN dnf fails once', () => {
    const run = runInstaller(ARGS, { dnfFailures: 1 });

    test('THEN it waits and tries again', () => {
      expect(run.status).toBe(0);
      expect(run.calls.filter((call) => call === INSTALL)).toHaveLength(2);
      expect(run.calls).toContain('sleep 10');
      expect(run.stderr).toContain('failed (attempt 1 of 3)');
    });
  });

  describe('GIVEN dnf never succeeds', () => {
    const run = runInstaller(ARGS, { dnfFailures: 99 });

    test('fails after three bounded attempts, says what to check, and starts no agent', () => {
      expect(run.status).toBe(1);
      expect(run.calls.filter((call) => call === `timeout 300 ${INSTALL}`)).toHaveLength(3);
      expect(run.calls.filter((call) => call.startsWith('sleep'))).toHaveLength(2);
      expect(run.calls.some((call) => call.startsWith('amazon-cloudwatch-agent-ctl'))).toBe(false);
      expect(run.stderr).toContain('FAILED: could not install amazon-cloudwatch-agent');
      expect(run.stderr).toContain('NAT gateway');
    });
  });

  describe('GIVEN the agent cannot read its configuration parameter', () => {
    const run = runInstaller(ARGS, { fetchConfigStatus: 1 });

    test('fails and names the permission to check', () => {
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(`could not load ssm:${PARAMETER}`);
      expect(run.stderr).toContain('ssm:GetParameter');
    });
  });

  describe('GIVEN the agent stops right after its start', () => {
    const run = runInstaller(ARGS, { agentStatus: 'stopped' });

    test('fails and names the agent log', () => {
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('the agent is not running');
      expect(run.stderr).toContain('amazon-cloudwatch-agent.log');
    });
  });

  describe.each([
    ['no argument', []],
    ['an unknown option', ['--config', PARAMETER]],
    ['a parameter name with shell characters', ['--config-parameter', '/x;reboot']],
  ])('GIVEN %s', (_name, args) => {
    const run = runInstaller(args);

    test('fails with its usage (exit 2) and installs nothing', () => {
      expect(run.status).toBe(2);
      expect(run.stderr).toContain('usage:');
      expect(run.calls).toEqual([]);
    });
  });
});
