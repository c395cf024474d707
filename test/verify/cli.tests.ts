import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
import {
  awsError,
  clientMock,
  DIRECTORY_ID,
  DOMAIN,
  IDENTITY_SECRET_ARN,
  outputsFor,
  SOLUTION_ID,
  runCli,
} from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const cfn = clientMock(CloudFormationClient);
const ds = clientMock(DirectoryServiceClient);
const ec2 = clientMock(EC2Client);
const rds = clientMock(RDSClient);
const s3 = clientMock(S3Client);
const sm = clientMock(SecretsManagerClient);
const ssm = clientMock(SSMClient);

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
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    const positions = CHECKS.map((check, i) => stdout.indexOf(`${i + 1}. ${check.title}: ${check.description}`));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(cfn.calls()).toHaveLength(0);
  });

  test('exits 0 when every check passes or does not apply, one line per check', async () => {
    givenFargateStacks();
    givenHealthyServices();
    const { code, stdout } = await runCli([], { FARGATE: '1' });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe(`Checking ${SOLUTION_ID} in us-east-1 (domainless, Fargate):`);
    expect(lines.slice(1, -1)).toHaveLength(CHECKS.length);
    expect(lines.slice(1, 6).every((line) => line.startsWith('✓ '))).toBe(true);
    expect(lines.slice(6, -1).every((line) => line.startsWith('- '))).toBe(true);
    // Skipped on Fargate: container instances, the Kerberos sidecar (gMSA mode), and the app's checks without it.
    expect(lines.at(-1)).toBe('5 passed, 0 failed, 5 skipped.');
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
    const { code, stdout } = await runCli([], { FARGATE: '1' });
    expect(code).toBe(1);
    expect(stdout.split('\n')[1]).toMatch(
      /^✗ Stacks complete: amazon-ecs-gmsa-linux-cluster ROLLBACK_COMPLETE \(The following resource\(s\) failed: \[Cluster\]\) → fix: /,
    );
  });

  test('--json prints every result and exits 1 when a check fails', async () => {
    givenFargateStacks();
    givenHealthyServices();
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceStatus: 'storage-full' }] });
    const { code, stdout } = await runCli(['--json', '-c', 'fargate=true']);
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
    const { code, stdout } = await runCli(['--json'], { FARGATE: '1' }, 500);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.checks.map((c: { status: string }) => c.status)).toEqual([
      'pass',
      ...Array(CHECKS.length - 1).fill('fail'),
    ]);
    expect(report.checks[1].detail).toBe("not finished when the run's time was up");
  });

  test('exits 2 with one line when a stack is not found (and with DEPLOY_APP, the application stack)', async () => {
    givenFargateStacks();
    const { code, stdout, stderr } = await runCli([], { FARGATE: '1', DEPLOY_APP: '1' });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^Cannot check: stack amazon-ecs-gmsa-linux-application not found in us-east-1\. [^\n]+\n$/);
  });

  test('--json reports a run that cannot check as exit 2 with the reason', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(awsError('ExpiredToken', 'The security token included in the request is expired'));
    const { code, stdout } = await runCli(['--json']);
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toEqual({
      ok: false,
      exitCode: 2,
      error: 'Cannot check: AWS refused the credentials (ExpiredToken). Sign in again and rerun.',
      notices: [],
      checks: [],
    });
  });

  test('exits 2 with the settings line on a bad setting, before any AWS call', async () => {
    const { code, stderr } = await runCli([], { SOLUTION_ID: 'Bad_Id' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^Cannot check: Invalid setting SOLUTION_ID="Bad_Id": [^\n]+\n$/);
    expect(cfn.calls()).toHaveLength(0);
  });

  test('exits 2 on an unknown option', async () => {
    const { code, stderr } = await runCli(['--jsn']);
    expect(code).toBe(2);
    expect(stderr).toBe('Unknown option "--jsn": see npm run verify -- --help.\n');
  });
});

/** A Node.js system error as the SDK passes it through (`getaddrinfo ENOTFOUND host`, `connect ECONNREFUSED a:p`). */
function systemError(code: string, fields: Record<string, unknown>): Error {
  const where = fields.hostname ?? `${fields.address}:${fields.port}`;
  return Object.assign(new Error(`${code === 'ENOTFOUND' ? 'getaddrinfo' : 'connect'} ${code} ${where}`), {
    code,
    errno: -3008,
    syscall: code === 'ENOTFOUND' ? 'getaddrinfo' : 'connect',
    ...fields,
  });
}

describe('npm run verify: JSON on every path, named profiles and endpoints, typo notices', () => {
  test.each([
    [['--json', '--bogus'], 'Unknown option "--bogus": see npm run verify -- --help.'],
    [['--bogus', '--json'], 'Unknown option "--bogus": see npm run verify -- --help.'],
    [['--json', '-c'], 'Invalid option -c "": expected key=value.'],
    [['--json', '-c', 'fargate'], 'Invalid option -c "fargate": expected key=value.'],
  ])('%p prints one JSON document with the error and exits 2', async (argv, error) => {
    const { code, stdout, stderr } = await runCli(argv);
    expect(code).toBe(2);
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual({ ok: false, exitCode: 2, error, notices: [], checks: [] });
  });

  test('--json --help prints the usage and the checks as JSON', async () => {
    const { code, stdout } = await runCli(['--json', '--help']);
    expect(code).toBe(0);
    const help = JSON.parse(stdout);
    expect(help.usage).toMatch(/^Usage: npm run verify -- \[--json\]/);
    expect(help.checks.map((c: { id: string }) => c.id)).toEqual(CHECKS.map((c) => c.id));
  });

  test('--json with a bad setting prints JSON, not the line', async () => {
    const { code, stdout, stderr } = await runCli(['--json'], { SOLUTION_ID: 'Bad_Id' });
    expect(code).toBe(2);
    expect(stderr).toBe('');
    expect(JSON.parse(stdout).error).toMatch(/^Cannot check: Invalid setting SOLUTION_ID="Bad_Id": /);
  });

  test('GIVEN a misspelt setting THEN the notice synth prints goes to stderr (text) or into the JSON', async () => {
    givenFargateStacks();
    givenHealthyServices();
    const notice = 'Notice: environment variable FARGTE is not a setting and is ignored: did you mean FARGATE?';
    const text = await runCli([], { FARGATE: '1', FARGTE: '1' });
    expect(text.stderr).toBe(`${notice}\n`);
    expect(text.stdout).toMatch(/^Checking /);
    const json = await runCli(['--json'], { FARGATE: '1', FARGTE: '1' });
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toMatchObject({ exitCode: 0, notices: [notice] });
  });

  describe('AWS_PROFILE', () => {
    const home = mkdtempSync(path.join(tmpdir(), 'verify-profile-'));
    mkdirSync(path.join(home, '.aws'));
    writeFileSync(
      path.join(home, '.aws', 'config'),
      '[default]\nregion = us-east-1\n\n[profile dev]\nregion = eu-west-1\n',
    );
    writeFileSync(path.join(home, '.aws', 'credentials'), '[ci] # a comment\naws_access_key_id = AKIDTEST\n');

    test('fails on a profile in neither file, naming it and those there, before any AWS call', async () => {
      const { code, stderr } = await runCli([], { AWS_PROFILE: 'nope', HOME: home });
      expect(code).toBe(2);
      expect(stderr).toBe(
        `Cannot check: the AWS profile "nope" (AWS_PROFILE) is in neither ${home}/.aws/config nor ${home}/.aws/credentials. ` +
          'Profiles there: ci, default, dev. Set AWS_PROFILE to the profile you deployed with, or create it ' +
          '("aws configure --profile nope" or "aws configure sso").\n',
      );
      expect(cfn.calls()).toHaveLength(0);
    });

    test('fails on a profile when there are no AWS files, saying so; AWS_CONFIG_FILE is read instead of ~/.aws/config', async () => {
      const empty = mkdtempSync(path.join(tmpdir(), 'verify-noaws-'));
      const { stdout, stderr } = await runCli(['--json'], { AWS_PROFILE: 'nope', HOME: empty });
      expect(JSON.parse(stdout).error).toMatch(/Those files hold no profile\./);
      expect(stderr).toBe('');
      const other = await runCli([], {
        AWS_PROFILE: 'dev',
        HOME: empty,
        AWS_CONFIG_FILE: path.join(home, '.aws', 'config'),
      });
      expect(other.stderr).not.toMatch(/AWS profile/);
    });

    test.each(['dev', 'default', 'ci'])('GIVEN the profile %s, which exists THEN the run goes on', async (profile) => {
      givenFargateStacks();
      givenHealthyServices();
      const { code } = await runCli([], { AWS_PROFILE: profile, HOME: home, FARGATE: '1' });
      expect(code).toBe(0);
    });
  });

  test('fails on a DNS failure as "cannot reach <host>" with exit 2, not as a failed stack read', async () => {
    cfn
      .on(DescribeStacksCommand)
      .rejects(systemError('ENOTFOUND', { hostname: 'cloudformation.us-east-1.amazonaws.com' }));
    const { code, stderr } = await runCli([]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      'Cannot check: cannot reach cloudformation.us-east-1.amazonaws.com (ENOTFOUND). Check your network, proxy or VPN ' +
        '(HTTPS_PROXY) and AWS_REGION, then run again.\n',
    );
  });

  test('fails on a refused connection with the address and port', async () => {
    cfn.on(DescribeStacksCommand).rejects(systemError('ECONNREFUSED', { address: '127.0.0.1', port: 1 }));
    const { stdout } = await runCli(['--json']);
    expect(JSON.parse(stdout).error).toMatch(/^Cannot check: cannot reach 127\.0\.0\.1:1 \(ECONNREFUSED\)\. /);
  });

  test('GIVEN a check whose service cannot be reached THEN its line says "cannot reach <host>"', async () => {
    givenFargateStacks();
    givenHealthyServices();
    ds.on(DescribeDirectoriesCommand).rejects(systemError('ENOTFOUND', { hostname: 'ds.us-east-1.amazonaws.com' }));
    const { code, stdout } = await runCli(['--json'], { FARGATE: '1' });
    expect(code).toBe(1);
    expect(JSON.parse(stdout).checks[1]).toMatchObject({
      status: 'fail',
      detail: 'cannot reach ds.us-east-1.amazonaws.com (ENOTFOUND)',
      fix: 'check your network to AWS (proxy, VPN, firewall), then run again.',
    });
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

  test('names a profile that does not exist instead of "no region" or "no credentials"', () => {
    const result = spawnCli({ AWS_PROFILE: 'nope' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^Cannot check: the AWS profile "nope" \(AWS_PROFILE\) is in neither [^\n]+\n$/);
  });

  test('prints JSON and only JSON on stdout for --json --bogus', () => {
    const result = spawnSync(`${verifyCommand} --json --bogus`, {
      shell: true,
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: home, AWS_EC2_METADATA_DISABLED: 'true' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: false,
      exitCode: 2,
      error: 'Unknown option "--bogus": see npm run verify -- --help.',
    });
  });

  test('says "cannot reach <host>" when the endpoint does not resolve (AWS_ENDPOINT_URL, a .invalid name)', () => {
    // RFC 6761: names under .invalid never resolve, with or without a network.
    const result = spawnCli({
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL: 'http://aws.example.invalid',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^Cannot check: cannot reach aws\.example\.invalid \(ENOTFOUND\)\. [^\n]+\n$/);
  });
});
