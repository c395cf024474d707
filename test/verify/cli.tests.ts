import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeDirectoriesCommand, DirectoryServiceClient } from '@aws-sdk/client-directory-service';
import { DescribeDhcpOptionsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetObjectCommand, GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { buildCredSpecTemplate, fillCredSpecTemplate } from '../../lib/constructs/credspec-document';
import { CHECKS } from '../../verify/checks';
import { createClients } from '../../verify/clients';
import { main } from '../../verify/cli';
import { awsError, clientMock, DIRECTORY_ID, DOMAIN, IDENTITY_SECRET_ARN, outputsFor, SOLUTION_ID } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const cfn = clientMock(CloudFormationClient);
const ds = clientMock(DirectoryServiceClient);
const ec2 = clientMock(EC2Client);
const rds = clientMock(RDSClient);
const s3 = clientMock(S3Client);
const sm = clientMock(SecretsManagerClient);
const ssm = clientMock(SSMClient);

/** Runs main() in-process with test clients; returns the exit code and what it printed. */
async function run(argv: string[], env: Record<string, string> = {}, budgetMs?: number) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    env,
    budgetMs,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    clients: createClients('us-east-1', { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }),
  });
  return { code, stdout, stderr };
}

/** The directory, database and cluster stacks of a domainless Fargate deployment without the application. */
function givenFargateStacks(): void {
  for (const role of ['directory', 'database', 'cluster'] as const) {
    const outputs = outputsFor(role);
    if (role === 'cluster') delete outputs.ECSAutoScalingGroupName;
    cfn.on(DescribeStacksCommand, { StackName: `${SOLUTION_ID}-${role}` }).resolves({
      Stacks: [
        {
          StackName: `${SOLUTION_ID}-${role}`,
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        },
      ],
    });
  }
  cfn
    .on(DescribeStacksCommand, { StackName: `${SOLUTION_ID}-application` })
    .rejects(awsError('ValidationError', `Stack with id ${SOLUTION_ID}-application does not exist`));
}

/** Healthy answers for every check of that deployment. */
function givenHealthyServices(): void {
  ds.on(DescribeDirectoriesCommand).resolves({
    DirectoryDescriptions: [
      { DirectoryId: DIRECTORY_ID, Stage: 'Active', DnsIpAddrs: ['10.0.1.10'], VpcSettings: { VpcId: 'vpc-1' } },
    ],
  });
  ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ DhcpOptionsId: 'dopt-1' }] });
  ec2.on(DescribeDhcpOptionsCommand).resolves({
    DhcpOptions: [{ DhcpConfigurations: [{ Key: 'domain-name-servers', Values: [{ Value: '10.0.1.10' }] }] }],
  });
  const credSpec = fillCredSpecTemplate(
    buildCredSpecTemplate({
      gmsaName: 'SampleWebApp',
      dnsName: DOMAIN,
      netbiosName: 'DIRECTORY',
      domainlessCredentialArn: IDENTITY_SECRET_ARN,
    }),
    'S-1-5-21-1-2-3',
    '11111111-2222-3333-4444-555555555555',
  );
  s3.on(GetObjectCommand).resolves({
    Body: { transformToString: async () => credSpec } as unknown as GetObjectCommandOutput['Body'],
  });
  ssm.rejects(awsError('ParameterNotFound'));
  sm.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({ username: 'u', password: 'p', domainName: DOMAIN }),
  });
  sm.on(DescribeSecretCommand).resolves({
    RotationEnabled: true,
    LastRotatedDate: new Date(),
    VersionIdsToStages: { v1: ['AWSCURRENT'] },
  });
  rds.on(DescribeDBInstancesCommand).resolves({
    DBInstances: [{ DBInstanceStatus: 'available', DomainMemberships: [{ Domain: DIRECTORY_ID, Status: 'joined' }] }],
  });
}

beforeEach(() => {
  for (const mock of [cfn, ds, ec2, rds, s3, sm, ssm]) mock.reset();
});

describe('npm run verify', () => {
  test('--help lists every check in order and exits 0', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    const positions = CHECKS.map((check, i) => stdout.indexOf(`${i + 1}. ${check.title}: ${check.description}`));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(cfn.calls()).toHaveLength(0);
  });

  test('exits 0 when every check passes or does not apply, one line per check', async () => {
    givenFargateStacks();
    givenHealthyServices();
    const { code, stdout } = await run([], { FARGATE: '1' });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe(`Checking ${SOLUTION_ID} in us-east-1 (domainless, Fargate):`);
    expect(lines.slice(1, -1)).toHaveLength(CHECKS.length);
    expect(lines.slice(1, 6).every((line) => line.startsWith('✓ '))).toBe(true);
    expect(lines.slice(6, -1).every((line) => line.startsWith('- '))).toBe(true);
    expect(lines.at(-1)).toBe('5 passed, 0 failed, 4 skipped.');
    expect(code).toBe(0);
  });

  test("prints a multi-line stack status reason on its check's one line", async () => {
    givenFargateStacks();
    givenHealthyServices();
    cfn.on(DescribeStacksCommand, { StackName: `${SOLUTION_ID}-cluster` }).resolves({
      Stacks: [
        {
          StackName: `${SOLUTION_ID}-cluster`,
          StackStatus: 'ROLLBACK_COMPLETE',
          StackStatusReason: 'The following resource(s) failed:\n  [Cluster]',
          CreationTime: new Date(),
        },
      ],
    });
    const { code, stdout } = await run([], { FARGATE: '1' });
    expect(code).toBe(1);
    expect(stdout.split('\n')[1]).toMatch(
      /^✗ Stacks complete: amazon-ecs-gmsa-linux-cluster ROLLBACK_COMPLETE \(The following resource\(s\) failed: \[Cluster\]\) → fix: /,
    );
  });

  test('--json prints every result and exits 1 when a check fails', async () => {
    givenFargateStacks();
    givenHealthyServices();
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceStatus: 'storage-full' }] });
    const { code, stdout } = await run(['--json', '-c', 'fargate=true']);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      ok: false,
      exitCode: 1,
      solutionId: SOLUTION_ID,
      region: 'us-east-1',
      mode: { domainless: true, fargate: true },
    });
    expect(report.checks.map((c: { id: string }) => c.id)).toEqual(CHECKS.map((c) => c.id));
    for (const check of report.checks) {
      expect(Object.keys(check).sort()).toEqual(
        check.status === 'fail' ? ['detail', 'fix', 'id', 'status', 'title'] : ['detail', 'id', 'status', 'title'],
      );
    }
    expect(report.checks.find((c: { id: string }) => c.id === 'database')).toMatchObject({
      status: 'fail',
      detail: `${SOLUTION_ID}-sql is storage-full`,
    });
  });

  test('ends within its time budget when an AWS call never answers', async () => {
    givenFargateStacks();
    givenHealthyServices();
    ds.on(DescribeDirectoriesCommand).callsFake(() => new Promise(() => undefined));
    const started = Date.now();
    const { code, stdout } = await run(['--json'], { FARGATE: '1' }, 500);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.checks.map((c: { status: string }) => c.status)).toEqual(['pass', ...Array(8).fill('fail')]);
    expect(report.checks[1].detail).toBe("not finished when the run's time was up");
  });

  test('exits 2 with one line when a stack is not found (and with DEPLOY_APP, the application stack)', async () => {
    givenFargateStacks();
    const { code, stdout, stderr } = await run([], { FARGATE: '1', DEPLOY_APP: '1' });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^Cannot check: stack amazon-ecs-gmsa-linux-application not found in us-east-1\. [^\n]+\n$/);
  });

  test('--json reports a run that cannot check as exit 2 with the reason', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(awsError('ExpiredToken', 'The security token included in the request is expired'));
    const { code, stdout } = await run(['--json']);
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toEqual({
      ok: false,
      exitCode: 2,
      error: 'Cannot check: AWS refused the credentials (ExpiredToken). Sign in again and rerun.',
      checks: [],
    });
  });

  test('exits 2 with the settings line on a bad setting, before any AWS call', async () => {
    const { code, stderr } = await run([], { SOLUTION_ID: 'Bad_Id' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^Cannot check: Invalid setting SOLUTION_ID="Bad_Id": [^\n]+\n$/);
    expect(cfn.calls()).toHaveLength(0);
  });

  test('exits 2 on an unknown option', async () => {
    const { code, stderr } = await run(['--jsn']);
    expect(code).toBe(2);
    expect(stderr).toBe('Unknown option "--jsn": see npm run verify -- --help.\n');
  });
});

describe('npm run verify as a process, without credentials', () => {
  // No AWS_* variable, a HOME without ~/.aws, and no instance metadata: nothing can be found and nothing leaves the host.
  const home = mkdtempSync(path.join(tmpdir(), 'verify-home-'));
  // package.json's own command (it builds the CLI, then runs it), through a shell as npm runs it.
  const verifyCommand: string = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.verify;
  const spawnCli = (extraEnv: Record<string, string>) =>
    spawnSync(verifyCommand, {
      shell: true,
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: home, AWS_EC2_METADATA_DISABLED: 'true', ...extraEnv },
      encoding: 'utf8',
      timeout: 60_000,
    });

  test('exits 2 with one line when no credentials are found', () => {
    const result = spawnCli({ AWS_REGION: 'us-east-1' });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Cannot check: no AWS credentials found\. [^\n]+\n$/);
  });

  test('takes the region from AWS_DEFAULT_REGION as the AWS and CDK CLIs do', () => {
    const result = spawnCli({ AWS_DEFAULT_REGION: 'eu-west-1' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^Cannot check: no AWS credentials found\. [^\n]+\n$/);
  });

  test('exits 2 with one line when no region is set', () => {
    const result = spawnCli({});
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^Cannot check: no AWS region\. [^\n]+\n$/);
  });
});
