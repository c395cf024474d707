import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeContainerInstancesCommand, ECSClient, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import {
  DIAGNOSE_SCRIPT_SOURCE,
  diagnoseCommands,
  parseOutput,
  runHostChecks,
  DELIVERY_TIMEOUT_S,
  HOST_EXECUTION_TIMEOUT_S,
} from '../../verify/hosts';
import { awsError, clientMock, DOMAIN, makeContext, outputsFor, SOLUTION_ID, runCli } from './helpers';

// `npm run verify -- --hosts`: SSM Run Command (AWS-RunShellScript, bounded) runs scripts/ecs-host/diagnose-host.sh on
// each container instance; GetCommandInvocation reads its lines. The fakes answer as SSM does: an invocation does not
// exist right after SendCommand (eventual consistency), then is Pending/InProgress, then ends; a script that exits 1
// ends "Failed" with ResponseCode 1 and its output. https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html

const cfn = clientMock(CloudFormationClient);
const ecs = clientMock(ECSClient);
const ssm = clientMock(SSMClient);

const HEALTHY = ['PASS credentials-fetcher: the service is active', 'PASS dns-srv: _ldap._tcp.dc._msdcs.x -> dc1'].join(
  '\n',
);
const CLOCK_FAILS = [
  'PASS credentials-fetcher: the service is active',
  "FAIL clock: 600 s from dc1, more than Kerberos' 300 s. Fix: chronyc tracking must show a synchronised source",
].join('\n');

function givenEc2Stacks(): void {
  for (const role of ['directory', 'database', 'cluster'] as const) {
    cfn.on(DescribeStacksCommand, { StackName: `${SOLUTION_ID}-${role}` }).resolves({
      Stacks: [
        {
          StackName: `${SOLUTION_ID}-${role}`,
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: Object.entries(outputsFor(role)).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        },
      ],
    });
  }
  cfn
    .on(DescribeStacksCommand, { StackName: `${SOLUTION_ID}-application` })
    .rejects(awsError('ValidationError', `Stack with id ${SOLUTION_ID}-application does not exist`));
}

function givenInstances(ids: string[]): void {
  ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ids.map((id) => `arn:ci/${id}`) });
  ecs.on(DescribeContainerInstancesCommand).resolves({
    containerInstances: ids.map((id) => ({ ec2InstanceId: id, containerInstanceArn: `arn:ci/${id}` })),
  });
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
}

beforeEach(() => {
  for (const mock of [cfn, ecs, ssm]) mock.reset();
});

describe('npm run verify -- --hosts', () => {
  test('GIVEN healthy hosts THEN one line per host check, and exit 0', async () => {
    givenEc2Stacks();
    givenInstances(['i-1', 'i-2']);
    ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: HEALTHY });
    const { code, stdout } = await runCli(['--hosts']);
    expect(stdout.trim().split('\n')).toEqual([
      `Checking ${SOLUTION_ID} in us-east-1 (domainless, EC2):`,
      '✓ i-1 credentials-fetcher: the service is active',
      '✓ i-1 dns-srv: _ldap._tcp.dc._msdcs.x -> dc1',
      '✓ i-2 credentials-fetcher: the service is active',
      '✓ i-2 dns-srv: _ldap._tcp.dc._msdcs.x -> dc1',
      '4 passed, 0 failed, 0 skipped.',
    ]);
    expect(code).toBe(0);
  });

  test('THEN it sends the diagnostic once, bounded, read-only, with the mode arguments, to every instance', async () => {
    givenEc2Stacks();
    givenInstances(['i-1', 'i-2']);
    ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: HEALTHY });
    await runCli(['--hosts']);
    const sends = ssm.commandCalls(SendCommandCommand);
    expect(sends).toHaveLength(1);
    const input = sends[0].args[0].input;
    expect(input).toMatchObject({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ['i-1', 'i-2'],
      TimeoutSeconds: DELIVERY_TIMEOUT_S,
      Parameters: { executionTimeout: [String(HOST_EXECUTION_TIMEOUT_S)] },
    });
    const commands = input.Parameters!.commands!;
    expect(commands).toContain(`bash "\${script}" --mode domainless --domain ${DOMAIN} && status=0 || status=$?`);
    expect(commands.join('\n')).toContain('check_group_membership()');
    expect(ssm.commandCalls(GetCommandInvocationCommand).map((call) => call.args[0].input)).toEqual([
      { CommandId: 'cmd-1', InstanceId: 'i-1' },
      { CommandId: 'cmd-1', InstanceId: 'i-2' },
    ]);
  });

  test('GIVEN domain-joined mode THEN the diagnostic also checks the gMSA group membership', async () => {
    givenEc2Stacks();
    givenInstances(['i-1']);
    ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: HEALTHY });
    await runCli(['--hosts'], { DOMAIN_JOIN_ECS: '1' });
    expect(ssm.commandCalls(SendCommandCommand)[0].args[0].input.Parameters!.commands).toContain(
      `bash "\${script}" --mode domain-joined --domain ${DOMAIN} --group SampleWebAppGmsaPrincipals && status=0 || status=$?`,
    );
  });

  test('GIVEN a host whose clock is off THEN its line fails with the fix, and exit 1', async () => {
    givenEc2Stacks();
    givenInstances(['i-1']);
    ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Failed', ResponseCode: 1, StandardOutputContent: CLOCK_FAILS });
    const { code, stdout } = await runCli(['--hosts']);
    expect(stdout).toContain(
      "✗ i-1 clock: 600 s from dc1, more than Kerberos' 300 s → fix: chronyc tracking must show a synchronised source\n",
    );
    expect(stdout).toContain('1 passed, 1 failed, 0 skipped.');
    expect(code).toBe(1);
  });

  test('GIVEN an instance SSM cannot reach THEN it fails with the Systems Manager fix, and exit 1', async () => {
    givenEc2Stacks();
    givenInstances(['i-1']);
    ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Failed', StatusDetails: 'Undeliverable', ResponseCode: -1 });
    const { code, stdout } = await runCli(['--hosts', '--json']);
    const report = JSON.parse(stdout);
    expect(report.exitCode).toBe(1);
    expect(report.checks).toEqual([
      expect.objectContaining({
        id: 'host:i-1',
        status: 'fail',
        detail: 'Run Command ended Undeliverable',
        fix: expect.stringContaining('online in Systems Manager'),
      }),
    ]);
    expect(code).toBe(1);
  });

  test('GIVEN no permission to send commands THEN exit 2 with one line naming the IAM it needs', async () => {
    givenEc2Stacks();
    givenInstances(['i-1']);
    ssm.on(SendCommandCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform ssm:SendCommand'));
    const { code, stdout, stderr } = await runCli(['--hosts']);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /^Cannot check the hosts: ssm:SendCommand was denied\. It needs ssm:SendCommand on the cluster's instances and on the AWS-RunShellScript document, and ssm:GetCommandInvocation/,
    );
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(code).toBe(2);
  });

  test('GIVEN Fargate THEN there is no host to diagnose: skipped, no command sent, exit 0', async () => {
    givenEc2Stacks();
    const { code, stdout } = await runCli(['--hosts'], { FARGATE: '1' });
    expect(stdout).toContain(
      "- Container instances: skipped: Fargate: no container instances to diagnose; a task's gMSA",
    );
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(code).toBe(0);
  });

  test('GIVEN a host that never answers THEN the run ends within its budget, that host failing, exit 1', async () => {
    givenEc2Stacks();
    givenInstances(['i-1']);
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const started = Date.now();
    const { code, stdout } = await runCli(['--hosts'], {}, 500);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(stdout).toContain('✗ i-1: no result before the time limit');
    expect(code).toBe(1);
  });
});

describe('runHostChecks', () => {
  test('GIVEN an invocation that does not exist yet, then runs, then succeeds THEN it polls until the end', async () => {
    givenInstances(['i-1']);
    ssm
      .on(GetCommandInvocationCommand)
      .rejectsOnce(awsError('InvocationDoesNotExist'))
      .resolvesOnce({ Status: 'Pending' })
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: HEALTHY });
    const sleeps: number[] = [];
    const results = await runHostChecks(makeContext(), async (ms) => void sleeps.push(ms));
    expect(results.map((result) => `${result.status} ${result.title}`)).toEqual([
      'pass i-1 credentials-fetcher',
      'pass i-1 dns-srv',
    ]);
    expect(sleeps).toEqual([2000, 2000, 2000]);
  });

  test('GIVEN no container instance THEN one failure pointing at the bootstrap log', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: [] });
    const results = await runHostChecks(makeContext());
    expect(results).toEqual([
      expect.objectContaining({ status: 'fail', fix: expect.stringContaining('bootstrap log') }),
    ]);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });
});

describe('the diagnostic command', () => {
  test('GIVEN the script in the repository THEN it is there for the built CLI too', () => {
    expect(existsSync(DIAGNOSE_SCRIPT_SOURCE)).toBe(true);
  });

  test('fails on a script that would end its heredoc or hold an SSM parameter, and on unsafe arguments', () => {
    expect(() => diagnoseCommands(['--mode', 'domainless'], 'echo\nGMSA_DIAGNOSE_HOST_END\n')).toThrow(
      /must not contain/,
    );
    expect(() => diagnoseCommands(['--mode', 'domainless'], 'echo {{x}}\n')).toThrow(/\{\{/);
    expect(() => diagnoseCommands(['--domain', 'x;reboot'], 'echo\n')).toThrow(/characters the shell would read/);
  });

  test('GIVEN a script that broke before printing a line THEN one failure with its exit status', () => {
    expect(parseOutput('i-1', 'bash: line 3: syntax error\n', { status: 'Failed', responseCode: 2 })).toEqual([
      expect.objectContaining({
        id: 'host:i-1',
        status: 'fail',
        detail: 'Run Command ended Failed with exit status 2',
      }),
    ]);
  });
});

describe('npm run verify -- --hosts as a process, without credentials', () => {
  // As test/verify/cli.tests.ts: package.json's own command, no AWS_* variable, a HOME without ~/.aws, no metadata.
  const root = path.join(__dirname, '..', '..');
  const verifyCommand: string = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.verify;

  test('--help names the option, and a run without credentials exits 2 with one line', async () => {
    const { stdout } = await runCli(['--help']);
    expect(stdout).toContain('--hosts           instead: diagnose each container instance');
    const result = spawnSync(`${verifyCommand} --hosts`, {
      shell: true,
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: mkdtempSync(path.join(tmpdir(), 'verify-home-')),
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_REGION: 'us-east-1',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Cannot check: no AWS credentials found\. [^\n]+\n$/);
  });
});
