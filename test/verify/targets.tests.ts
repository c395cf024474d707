import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { targetsCheck } from '../../verify/checks/targets';
import { clientMock, makeContext } from './helpers';

const ecs = clientMock(ECSClient);
const elb = clientMock(ElasticLoadBalancingV2Client);

function given(states: { state: string; reason?: string }[]): void {
  ecs.on(DescribeServicesCommand).resolves({
    services: [{ serviceName: 'web-app', loadBalancers: [{ targetGroupArn: 'arn:tg/web' }] }],
  });
  elb.on(DescribeTargetHealthCommand, { TargetGroupArn: 'arn:tg/web' }).resolves({
    TargetHealthDescriptions: states.map((s, i) => ({
      Target: { Id: `10.0.0.${i + 1}` },
      TargetHealth: { State: s.state as never, Reason: s.reason as never },
    })),
  });
}

beforeEach(() => {
  ecs.reset();
  elb.reset();
});

describe('load balancer targets check', () => {
  test('passes when every target is healthy', async () => {
    given([{ state: 'healthy' }, { state: 'healthy' }]);
    expect(await targetsCheck.run(makeContext())).toMatchObject({ status: 'pass', detail: '2 healthy target(s)' });
  });

  test('fails on an unhealthy target, naming it and the reason', async () => {
    given([{ state: 'healthy' }, { state: 'unhealthy', reason: 'Target.ResponseCodeMismatch' }]);
    const outcome = await targetsCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toBe('10.0.0.2 unhealthy (Target.ResponseCodeMismatch)');
  });

  test('fails with no registered target', async () => {
    given([]);
    expect(await targetsCheck.run(makeContext())).toMatchObject({ status: 'fail', detail: 'no registered targets' });
  });

  test('is skipped without an application stack', async () => {
    const ctx = makeContext({ deployApp: false }, (stacks) => stacks.filter((s) => s.role !== 'application'));
    expect((await targetsCheck.run(ctx)).status).toBe('skip');
  });
});
