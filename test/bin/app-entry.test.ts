import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runBin } from '../helpers/run-bin';

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

  test('GIVEN valid settings, a misspelt variable and a setting without effect THEN it synthesizes and prints each notice once', () => {
    const result = runBin({ SOLUTION_ID: 'bin-test', FARGTE: '1', APP_IMAGE: 'nginx:1' });
    expect(result.status).toBe(0);
    expect(result.outdirFiles).toEqual(expect.arrayContaining(['bin-test-directory.template.json', 'manifest.json']));
    // lib/ finds the bastion scripts next to its own source files, also from the compiled bundle.
    expect(result.outdirFiles).toEqual(expect.arrayContaining([expect.stringMatching(/^asset\.[0-9a-f]{64}\.ps1$/)]));
    const notices = result.stderr.split('\n').filter((line) => line.startsWith('Notice: '));
    expect(notices).toEqual([
      'Notice: environment variable FARGTE is not a setting and is ignored: did you mean FARGATE?',
      expect.stringMatching(/^Notice: APP_IMAGE="nginx:1" does nothing without DEPLOY_APP=1: /),
      expect.stringMatching(/^Notice: EC2_INSTANCE_KEYPAIR_NAME is not set/),
      expect.stringMatching(/^Notice: MY_SG_INGRESS_IP is not set/),
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
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), CDK_VALIDATION: 'false' },
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
