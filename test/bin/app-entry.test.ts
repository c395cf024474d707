import { runBin } from '../helpers/run-bin';

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

  test('GIVEN valid settings THEN it synthesizes every stack and prints the two notices once', () => {
    const result = runBin({ SOLUTION_ID: 'bin-test' });
    expect(result.status).toBe(0);
    expect(result.outdirFiles).toEqual(expect.arrayContaining(['bin-test-directory.template.json', 'manifest.json']));
    // lib/ finds the bastion scripts next to its own source files, also from the compiled bundle.
    expect(result.outdirFiles).toEqual(expect.arrayContaining([expect.stringMatching(/^asset\.[0-9a-f]{64}\.ps1$/)]));
    expect(result.stderr.match(/^Notice: /gm)).toHaveLength(2);
  });
});
