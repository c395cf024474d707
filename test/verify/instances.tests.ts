import { DescribeContainerInstancesCommand, ECSClient, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import { instancesCheck } from '../../verify/checks/instances';
import { clientMock, makeContext } from './helpers';

const ecs = clientMock(ECSClient);

function given(instances: { id: string; attributes: string[]; connected?: boolean }[]): void {
  ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: instances.map((i) => `arn:ci/${i.id}`) });
  ecs.on(DescribeContainerInstancesCommand).resolves({
    containerInstances: instances.map((i) => ({
      containerInstanceArn: `arn:ci/${i.id}`,
      ec2InstanceId: i.id,
      agentConnected: i.connected ?? true,
      attributes: i.attributes.map((name) => ({ name })),
    })),
  });
}

beforeEach(() => ecs.reset());

describe('container instances check', () => {
  test('passes in domainless mode when every instance advertises gmsa-domainless', async () => {
    given([
      { id: 'i-1', attributes: ['ecs.capability.gmsa-domainless', 'ecs.capability.gmsa'] },
      { id: 'i-2', attributes: ['ecs.capability.gmsa-domainless'] },
    ]);
    const outcome = await instancesCheck.run(makeContext());
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toBe(
      '2 instance(s) in amazon-ecs-gmsa-linux-cluster, each with ecs.capability.gmsa-domainless',
    );
  });

  test('fails in domainless mode when an instance lacks the attribute', async () => {
    given([
      { id: 'i-1', attributes: ['ecs.capability.gmsa-domainless'] },
      { id: 'i-2', attributes: ['ecs.capability.gmsa'] },
    ]);
    const outcome = await instancesCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toBe('i-2: no ecs.capability.gmsa-domainless');
    expect(outcome.fix).toContain('systemctl restart ecs');
  });

  test('wants ecs.capability.gmsa in domain-joined mode', async () => {
    given([{ id: 'i-1', attributes: ['ecs.capability.gmsa'] }]);
    expect((await instancesCheck.run(makeContext({ domainJoinEcs: true }))).status).toBe('pass');
    ecs.reset();
    given([{ id: 'i-1', attributes: ['ecs.capability.gmsa-domainless'] }]);
    const outcome = await instancesCheck.run(makeContext({ domainJoinEcs: true }));
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toBe('i-1: no ecs.capability.gmsa');
  });

  test('fails when no instance is registered or an agent is disconnected', async () => {
    given([]);
    expect((await instancesCheck.run(makeContext())).detail).toContain('no container instance registered');
    ecs.reset();
    given([{ id: 'i-1', attributes: ['ecs.capability.gmsa-domainless'], connected: false }]);
    expect((await instancesCheck.run(makeContext())).detail).toBe('i-1: agent disconnected');
  });

  test('is skipped on Fargate', async () => {
    const outcome = await instancesCheck.run(makeContext({ fargate: true, credSpecFromS3: true }));
    expect(outcome.status).toBe('skip');
    expect(ecs.calls()).toHaveLength(0);
  });
});
