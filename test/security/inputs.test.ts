import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runBin } from '../helpers/run-bin';

/**
 * Every setting, with at least one bad value each, through the real `bin/` entry point as a user runs it: exit code 1,
 * exactly one line on stderr naming the setting and the value, and nothing written to the cloud assembly.
 *
 * The checks of the entry point itself (further down; they were test/bin/app-entry.test.ts) are in this file too: each
 * run of the app is made once per file, and the app is built once per file.
 */
const BAD_INPUTS: Array<[string, string]> = [
  ['SOLUTION_ID', 'a-very-long-solution-id-over-32-chars'],
  ['SOLUTION_ID', 'MyCapitals'],
  ['SOLUTION_ID', 'with/slash'],
  // Pass the character rules but break the RDS identifier `<id>-sql` (no "--"): a stack trace at synth before.
  ['SOLUTION_ID', 'a--b'],
  ['SOLUTION_ID', 'abc-'],
  ['SOLUTION_ID', 'aws-gmsa'],
  ['DOMAIN_JOIN_ECS', '2'],
  ['FARGATE', 'maybe'],
  ['CREDSPEC_FROM_S3', 'sometimes'],
  ['DEPLOY_APP', '2'],
  ['EC2_INSTANCE_KEYPAIR_NAME', 'ключ'],
  ['MY_SG_INGRESS_IP', '0.0.0.0/0'],
  ['MY_SG_INGRESS_IP', '2001:db8::1'],
  ['MY_SG_INGRESS_IP', 'my-laptop.example.com'],
  ['MY_SG_INGRESS_IP', '300.1.1.1'],
  // Half the internet on port 80 (and RDP, which it also opened then): accepted before.
  ['MY_SG_INGRESS_IP', '0.0.0.0/1'],
  ['MY_SG_INGRESS_IP', '203.0.113.10/15'],
  ['BASTION_RDP_CIDR', '0.0.0.0/0'],
  ['BASTION_RDP_CIDR', 'my-laptop.example.com'],
  ['BASTION_MAINTENANCE', 'please'],
  ['NAT_GATEWAYS', '3'],
  ['DB_INSTANCE_TYPE', 'huge'],
  // Arm, and a class RDS does not offer for SQL Server Web: a validation dump after writing templates before.
  ['DB_INSTANCE_TYPE', 'db.m6g.large'],
  ['DB_INSTANCE_TYPE', 'db.t3.micro'],
  ['ECS_INSTANCE_TYPE', 'm7g.large'],
  // The first Graviton family: a stack trace at synth before.
  ['ECS_INSTANCE_TYPE', 'a1.medium'],
  // An RDS class: accepted as t3.medium before.
  ['ECS_INSTANCE_TYPE', 'db.t3.medium'],
  // Major versions RDS does not offer: accepted before, refused by RDS only at deploy, after the directory stack.
  ['DB_ENGINE_VERSION', '99.00'],
  ['DB_ENGINE_VERSION', '11.00'],
  // A full version aws-cdk-lib does not know: five lines and ~100 versions after writing cdk.out before.
  ['DB_ENGINE_VERSION', '16.00.9999.1.v1'],
  ['DB_ENGINE_VERSION', '12.00.6449.1.v1'],
  ['ECS_MIN_CAPACITY', '-1'],
  ['ECS_MAX_CAPACITY', '11'],
  ['APP_IMAGE', 'UPPER/Case Image'],
  ['IDENTITY_ROTATION_DAYS', '1000'],
];

describe('bad input through bin/app.ts', () => {
  test.each(BAD_INPUTS)('fails on %s=%p with one line, exit 1 and no cloud assembly', (name, value) => {
    const result = runBin({ [name]: value });
    expect(result.status).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Invalid setting ${name}=${JSON.stringify(value)}: expected`);
    expect(result.outdirFiles).toEqual([]);
  });

  test.each([
    [{ FARGATE: '1', DOMAIN_JOIN_ECS: '1' }, 'Invalid combination FARGATE="1" with DOMAIN_JOIN_ECS="1"'],
    [{ FARGATE: 'true', CREDSPEC_FROM_S3: 'no' }, 'Invalid combination FARGATE="true" with CREDSPEC_FROM_S3="no"'],
  ])('fails on the impossible combination %p', (env, expected) => {
    const result = runBin(env);
    expect(result.status).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining(expected)]);
    expect(result.outdirFiles).toEqual([]);
  });

  test.each([
    ['fargte', 'fargate'],
    ['SOLUTION_ID', 'solutionId'],
  ])('fails on the unknown context key -c %s=1, naming -c %s, with one line and no cloud assembly', (key, nearest) => {
    const result = runBin({}, { [key]: '1' });
    expect(result.status).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^Unknown setting -c ${key}="1": did you mean -c ${nearest}\\? `)),
    ]);
    expect(result.outdirFiles).toEqual([]);
  });
});

const ROOT = path.join(__dirname, '..', '..');

describe('bin/app.ts built and run as the CDK CLI runs it (cdk.json build, then app)', () => {
  test('fails on FARGATE=maybe with exit code 1, one stderr line and nothing synthesized', () => {
    const result = runBin({ FARGATE: 'maybe' });
    expect(result.status).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      'Invalid setting FARGATE="maybe": expected 0, 1, true, false, yes or no (any case), or empty for unset.',
    ]);
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(result.outdirFiles).toEqual([]);
  });

  test('fails on a bad -c context value the same way', () => {
    const result = runBin({}, { mySgIngressIp: '0.0.0.0/0' });
    expect(result.status).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^Invalid setting -c mySgIngressIp="0.0.0.0\/0"/);
    expect(result.outdirFiles).toEqual([]);
  });

  test('GIVEN valid settings, a misspelt variable and settings without effect THEN it synthesizes and prints each notice once', () => {
    // With CDK's CloudFormation validation on, as `cdk synth` runs it: its worker starts from the bundle too. An Arm
    // ECS_INSTANCE_TYPE does nothing on Fargate: a notice, not a refusal (it was refused before).
    const result = runBin({
      SOLUTION_ID: 'bin-test',
      FARGTE: '1',
      FARGATE: '1',
      ECS_INSTANCE_TYPE: 'm7g.large',
      APP_IMAGE: 'nginx:1',
      MY_SG_INGRESS_IP: '52.94.76.10/24',
      CDK_VALIDATION: 'true',
    });
    expect(result.status).toBe(0);
    expect(result.outdirFiles).toEqual(
      expect.arrayContaining(['bin-test-directory.template.json', 'manifest.json', 'validation-report.json']),
    );
    expect(result.validationPlugins).toEqual(['CloudFormation Validate']);
    // lib/ finds the bastion scripts next to its own source files, also from the compiled bundle.
    expect(result.outdirFiles).toEqual(expect.arrayContaining([expect.stringMatching(/^asset\.[0-9a-f]{64}\.ps1$/)]));
    const notices = result.stderr.split('\n').filter((line) => line.startsWith('Notice: '));
    expect(notices).toEqual([
      'Notice: environment variable FARGTE is not a setting and is ignored: did you mean FARGATE?',
      expect.stringMatching(/^Notice: ECS_INSTANCE_TYPE="m7g.large" does nothing with FARGATE=1: /),
      expect.stringMatching(/^Notice: APP_IMAGE="nginx:1" does nothing without DEPLOY_APP=1: /),
      expect.stringMatching(/^Notice: MY_SG_INGRESS_IP="52.94.76.10\/24" does nothing without DEPLOY_APP=1: /),
      'Notice: MY_SG_INGRESS_IP="52.94.76.10/24" has host bits set: using the network 52.94.76.0/24; for that one address use 52.94.76.10/32.',
      expect.stringMatching(/^Notice: EC2_INSTANCE_KEYPAIR_NAME is not set/),
    ]);
  });

  test("fails through the real CDK CLI on -c fargte=1 with our line, the CLI's own line and no templates", () => {
    // The CLI adds context of its own (aws:cdk:...), which must not be taken for a typo.
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-cli-'));
    try {
      const result = spawnSync(
        path.join(ROOT, 'node_modules', '.bin', 'cdk'),
        ['synth', '--no-notices', '-c', 'fargte=1', '-o', outdir],
        {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? os.tmpdir(),
            CDK_VALIDATION: 'false',
            // Tests stay offline: without this the CLI starts a process that sends usage telemetry after each command.
            CDK_DISABLE_CLI_TELEMETRY: 'true',
          },
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      expect(result.status).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(/^Unknown setting -c fargte="1": did you mean -c fargate\? /),
        expect.stringMatching(/Subprocess exited with error 1$/),
      ]);
      expect(fs.readdirSync(outdir)).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('bin/app.ts names where a value came from and refuses an engine version before loading the stacks', () => {
  test('fails on DB_ENGINE_VERSION=16.00.9999.1.v1 in one line, within seconds, before anything is written', () => {
    const result = runBin({ DB_ENGINE_VERSION: '16.00.9999.1.v1' });
    expect(result.status).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        /^Invalid setting DB_ENGINE_VERSION="16.00.9999.1.v1": expected a full 16.00 version that aws-cdk-lib knows /,
      ),
    ]);
    expect(result.outdirFiles).toEqual([]);
    // About 0.5 s of CPU (measured: 0.33-0.39 s user + 0.10-0.14 s sys; 2.1-2.3 s wall at a load average of 28 on 2
    // cores). The bound allows for such a machine; a synth that reached the version check in CDK's validation ran the
    // whole app first (8.5-8.9 s unloaded, as issue 25 measured).
    expect(result.elapsedMs).toBeLessThan(15_000);
  });

  test('fails on a bad value and an unknown key in cdk.context.json, naming that file rather than -c', () => {
    // The CLI merges cdk.json's context, cdk.context.json and -c into the app's context; the app sees only the merge.
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-project-'));
    try {
      fs.writeFileSync(path.join(project, 'cdk.context.json'), JSON.stringify({ natGateways: '3' }));
      const bad = runBin({}, { natGateways: '3' }, { cwd: project });
      expect(bad.status).toBe(1);
      expect(bad.stderr.trimEnd().split('\n')).toEqual([
        'Invalid setting natGateways="3" in cdk.context.json: expected a whole number from 1 to 2.',
      ]);
      fs.writeFileSync(path.join(project, 'cdk.context.json'), JSON.stringify({ region: 'us-east-1' }));
      const unknown = runBin({}, { region: 'us-east-1' }, { cwd: project });
      expect(unknown.status).toBe(1);
      expect(unknown.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(
          /^Unknown setting region="us-east-1" in cdk\.context\.json: This app's context keys are /,
        ),
      ]);
      expect(unknown.outdirFiles).toEqual([]);
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });
});
