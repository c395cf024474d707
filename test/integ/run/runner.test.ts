import { main } from './cli';
import { assertionFailures, CommandSpec, runMode, RunnerIo, summaryTable } from './runner';

/**
 * The integration runner's control flow with a fake CDK CLI: whatever happens to synth, deploy or the assertions — or
 * an interrupt — destroy runs, and a destroy that fails names the stacks to delete by hand.
 */
type Step = 'synth' | 'deploy' | 'destroy';
interface FakeCdk {
  readonly io: RunnerIo;
  readonly calls: Step[];
  readonly logs: string[];
  readonly destroySignals: AbortSignal[];
}

function fakeCdk(behaviour: {
  codes?: Partial<Record<Step, number>>;
  deployLines?: string[];
  outputs?: unknown;
  onDeploy?: () => void;
}): FakeCdk {
  const calls: Step[] = [];
  const logs: string[] = [];
  const destroySignals: AbortSignal[] = [];
  let clock = 0;
  const io: RunnerIo = {
    exec: async (spec: CommandSpec, signal: AbortSignal) => {
      const step = spec.args[2] as Step;
      calls.push(step);
      if (step === 'destroy') destroySignals.push(signal);
      if (step === 'deploy') {
        for (const line of behaviour.deployLines ?? []) {
          clock += 10 * 60_000;
          spec.onLine?.(line);
        }
        behaviour.onDeploy?.();
      }
      clock += 6 * 60_000;
      return behaviour.codes?.[step] ?? 0;
    },
    readJson: () => behaviour.outputs,
    now: () => clock,
    log: (line) => logs.push(line),
  };
  return { io, calls, logs, destroySignals };
}

const MODE = 'domainless-fargate-s3';
const ASSERTIONS = 'gmsa-domainless-fargate-s3-assertions';
const PASSING_OUTPUTS = { [ASSERTIONS]: { AssertionResultsHttpApiCall1: '{"status":"success"}' } };
const signal = (): AbortSignal => new AbortController().signal;

describe('runMode', () => {
  test('GIVEN everything works WHEN a mode runs THEN synth, deploy, destroy in order and it passes, with timings', async () => {
    const cdk = fakeCdk({
      deployLines: [
        ' ✅  gmsa-integ-fg-s3-directory',
        ' ✅  gmsa-integ-fg-s3-application',
        'gmsa-domainless-fargate-s3-assertions | CREATE_COMPLETE | Custom::DeployAssert@HttpCall | HttpApiCall1',
      ],
      outputs: PASSING_OUTPUTS,
    });
    const result = await runMode(MODE, cdk.io, signal());
    expect(cdk.calls).toEqual(['synth', 'deploy', 'destroy']);
    expect(result).toMatchObject({ result: 'passed', deployMinutes: 20, firstKerberosMinutes: 30, destroyMinutes: 6 });
    expect(result.leftBehind).toBeUndefined();
  });

  test('fails WHEN deploy fails (an assertion timed out) AND destroy still runs', async () => {
    const cdk = fakeCdk({ codes: { deploy: 1 }, deployLines: ['❌  gmsa-domainless-fargate-s3-assertions failed'] });
    const result = await runMode(MODE, cdk.io, signal());
    expect(cdk.calls).toEqual(['synth', 'deploy', 'destroy']);
    expect(result.result).toBe('failed');
    expect(result.reason).toContain('cdk deploy exited with 1');
    expect(result.reason).toContain('assertions failed');
  });

  test('fails WHEN an assertion result is "fail" AND destroy still runs', async () => {
    const cdk = fakeCdk({
      outputs: { [ASSERTIONS]: { AssertionResultsHttpApiCall1: '{"status":"fail","message":"authScheme NTLM"}' } },
    });
    const result = await runMode(MODE, cdk.io, signal());
    expect(cdk.calls).toEqual(['synth', 'deploy', 'destroy']);
    expect(result).toMatchObject({ result: 'failed', reason: 'AssertionResultsHttpApiCall1: authScheme NTLM' });
  });

  test('fails WHEN synth fails, and destroys anyway (a previous run may have left stacks)', async () => {
    const cdk = fakeCdk({ codes: { synth: 1 } });
    const result = await runMode(MODE, cdk.io, signal());
    expect(cdk.calls).toEqual(['synth', 'destroy']);
    expect(result.result).toBe('failed');
  });

  test('GIVEN Ctrl-C during deploy THEN destroy runs with a signal of its own that is not aborted', async () => {
    const controller = new AbortController();
    const cdk = fakeCdk({ onDeploy: () => controller.abort() });
    const result = await runMode(MODE, cdk.io, controller.signal);
    expect(cdk.calls).toEqual(['synth', 'deploy', 'destroy']);
    expect(result.result).toBe('interrupted');
    expect(cdk.destroySignals[0].aborted).toBe(false);
  });

  test('GIVEN destroy fails THEN the stacks to delete by hand are named, the assertions first', async () => {
    const cdk = fakeCdk({ codes: { destroy: 1 }, outputs: PASSING_OUTPUTS });
    const result = await runMode(MODE, cdk.io, signal());
    expect(result.leftBehind).toEqual([
      ASSERTIONS,
      'gmsa-integ-fg-s3-application',
      'gmsa-integ-fg-s3-cluster',
      'gmsa-integ-fg-s3-database',
      'gmsa-integ-fg-s3-directory',
    ]);
    const line = cdk.logs.find((l) => l.includes('destroy FAILED'));
    expect(line).toContain(`aws cloudformation delete-stack --stack-name ${ASSERTIONS} && `);
    expect(summaryTable([result])).toContain('passed, NOT DESTROYED');
  });
});

describe('assertionFailures', () => {
  test('fails WHEN the assertion stack has no outputs or no results', () => {
    expect(assertionFailures(undefined, ASSERTIONS)).toEqual([`no outputs of ${ASSERTIONS}`]);
    expect(assertionFailures({ [ASSERTIONS]: { Other: 'x' } }, ASSERTIONS)).toEqual([
      `${ASSERTIONS} reported no assertion results`,
    ]);
  });
  test('passes only "success" results', () => {
    expect(assertionFailures(PASSING_OUTPUTS, ASSERTIONS)).toEqual([]);
    expect(assertionFailures({ [ASSERTIONS]: { AssertionResultsX: 'garbage' } }, ASSERTIONS)).toEqual([
      'AssertionResultsX: garbage',
    ]);
  });
});

describe('npm run integ', () => {
  const run = async (argv: string[], env: Record<string, string> = {}, cdk = fakeCdk({ outputs: PASSING_OUTPUTS })) => {
    const code = await main(argv, env, cdk.io, signal());
    return { code, out: cdk.logs.join('\n'), calls: cdk.calls };
  };

  test('--help lists the seven modes', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    for (const mode of [
      'domainless-ec2-ssm',
      'domainless-ec2-s3',
      'domain-joined-ec2-ssm',
      'domain-joined-ec2-s3',
      MODE,
      'sidecar-ec2',
      'sidecar-fargate',
    ])
      expect(out).toContain(`  ${mode} `);
  });

  test('fails with one line WHEN the region is missing, a mode is unknown or an option is misspelt', async () => {
    expect(await run([MODE])).toMatchObject({ code: 2, out: expect.stringContaining('set AWS_REGION'), calls: [] });
    expect(await run(['fargate'], { AWS_REGION: 'eu-west-1' })).toMatchObject({
      code: 2,
      out: expect.stringContaining('unknown mode "fargate"'),
    });
    expect(await run(['--dryrun'])).toMatchObject({ code: 2, out: expect.stringContaining('unknown option --dryrun') });
  });

  test('--dry-run prints the commands and deploys nothing', async () => {
    const { code, out, calls } = await run(['--dry-run', MODE]);
    expect(code).toBe(0);
    expect(calls).toEqual([]);
    expect(out).toContain('npx --no-install cdk destroy --app cdk.integ.out/domainless-fargate-s3 --all --force');
  });

  test('exit 1 and a summary row per mode WHEN one mode fails; the other modes still run', async () => {
    let deploys = 0;
    const cdk = fakeCdk({ outputs: PASSING_OUTPUTS, onDeploy: () => (deploys += 1) });
    const exec = cdk.io.exec;
    const failingFirst: RunnerIo = {
      ...cdk.io,
      exec: async (spec, s) => {
        const code = await exec(spec, s);
        return spec.args[2] === 'deploy' && deploys === 1 ? 1 : code;
      },
    };
    const code = await main(['domainless-ec2-ssm', MODE], { AWS_REGION: 'eu-west-1' }, failingFirst, signal());
    expect(code).toBe(1);
    const table = cdk.logs.join('\n').split('\n').slice(-3);
    expect(table[0]).toMatch(/^mode\s+deploy min\s+first KERBEROS min\s+destroy min\s+result$/);
    expect(table[1]).toMatch(/^domainless-ec2-ssm .* failed$/);
    expect(table[2]).toMatch(/^domainless-fargate-s3 .* passed$/);
    expect(cdk.calls.filter((c) => c === 'destroy')).toHaveLength(2);
  });
});
