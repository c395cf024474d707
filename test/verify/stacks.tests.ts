import { stacksCheck } from '../../verify/checks/stacks';
import { makeContext } from './helpers';

describe('stacks check', () => {
  test('passes when every stack is complete in the mode of the settings', async () => {
    // GIVEN a complete domainless EC2 deployment WHEN checked
    const outcome = await stacksCheck.run(makeContext());
    // THEN it passes and names the stacks
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toContain('amazon-ecs-gmsa-linux-application');
  });

  test('fails on a rolled-back stack, naming its status and reason', async () => {
    const ctx = makeContext({}, (stacks) =>
      stacks.map((s) =>
        s.role === 'database' ? { ...s, status: 'ROLLBACK_COMPLETE', statusReason: 'Bastion failed' } : s,
      ),
    );
    const outcome = await stacksCheck.run(ctx);
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('amazon-ecs-gmsa-linux-database ROLLBACK_COMPLETE (Bastion failed)');
    expect(outcome.fix).toContain('describe-stack-events --stack-name amazon-ecs-gmsa-linux-database');
  });

  test('fails when the deployed mode differs from the settings', async () => {
    // GIVEN domain-joined Fargate-less stacks checked with domainless Fargate settings
    const ctx = makeContext({ fargate: true }, (stacks) =>
      stacks.map((s) =>
        s.role === 'cluster' ? { ...s, outputs: { ...s.outputs, ECSAutoScalingGroupName: 'asg' } } : s,
      ),
    );
    const outcome = await stacksCheck.run(ctx);
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('the cluster is EC2 but the settings say Fargate');
  });

  test('passes without an application stack and says so', async () => {
    const ctx = makeContext({ deployApp: false }, (stacks) => stacks.filter((s) => s.role !== 'application'));
    const outcome = await stacksCheck.run(ctx);
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toContain('DEPLOY_APP was not set');
  });
});
