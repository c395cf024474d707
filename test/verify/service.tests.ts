import { DescribeServicesCommand, DescribeTasksCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { serviceCheck } from '../../verify/checks/service';
import { clientMock, makeContext } from './helpers';

const ecs = clientMock(ECSClient);

function given(running: number, desired: number, stoppedReasons: string[]): void {
  ecs.on(DescribeServicesCommand, { cluster: 'amazon-ecs-gmsa-linux-cluster', services: ['web-app'] }).resolves({
    services: [{ serviceName: 'web-app', status: 'ACTIVE', runningCount: running, desiredCount: desired }],
  });
  ecs
    .on(ListTasksCommand, { serviceName: 'web-app', desiredStatus: 'STOPPED' })
    .resolves({ taskArns: stoppedReasons.map((_, i) => `arn:task/${i}`) });
  ecs.on(DescribeTasksCommand).resolves({
    tasks: stoppedReasons.map((stoppedReason, i) => ({ taskArn: `arn:task/${i}`, stoppedReason })),
  });
}

beforeEach(() => ecs.reset());

describe('ECS service check', () => {
  test('passes when running equals desired, with no stopped tasks', async () => {
    given(2, 2, []);
    const outcome = await serviceCheck.run(makeContext());
    expect(outcome).toMatchObject({ status: 'pass', detail: 'web-app: 2/2 running' });
    expect(ecs.commandCalls(DescribeTasksCommand)).toHaveLength(0);
  });

  test('fails when fewer tasks run than desired and summarises the stopped reasons, most frequent first', async () => {
    const credSpec = 'Task failed to start: credentialspec resource provisioning error';
    given(0, 2, ['Essential container in task exited', credSpec, credSpec]);
    const outcome = await serviceCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toBe(`web-app: 0/2 running; stopped: 2× ${credSpec}; 1× Essential container in task exited`);
    expect(outcome.fix).toContain('/app-log');
  });

  test('fails when the service wants no task at all', async () => {
    given(0, 0, []);
    expect((await serviceCheck.run(makeContext())).status).toBe('fail');
  });

  test('is skipped without an application stack', async () => {
    const ctx = makeContext({ deployApp: false }, (stacks) => stacks.filter((s) => s.role !== 'application'));
    const outcome = await serviceCheck.run(ctx);
    expect(outcome.status).toBe('skip');
    expect(outcome.detail).toContain('DEPLOY_APP=1');
  });
});
