import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { stackOf } from '../deployment';
import { Check, CheckContext, CheckOutcome, fail, pass, skip } from '../types';
import { describeAppService, NO_APPLICATION } from './service';

/** The load balancer sends requests only to healthy targets; the target groups come from the service itself. */
export const targetsCheck: Check = {
  id: 'targets',
  title: 'Load balancer targets',
  description: "every target of the service's target group is healthy",
  async run(ctx: CheckContext): Promise<CheckOutcome> {
    if (!stackOf(ctx, 'application')) return skip(NO_APPLICATION);
    const service = await describeAppService(ctx);
    const groups = (service?.loadBalancers ?? []).map((lb) => lb.targetGroupArn).filter((arn) => arn !== undefined);
    if (groups.length === 0) {
      return fail('the service has no target group', 'redeploy the application stack.');
    }
    const unhealthy: string[] = [];
    let healthy = 0;
    for (const arn of groups) {
      const { TargetHealthDescriptions: targets } = await ctx.clients.elbv2.send(
        new DescribeTargetHealthCommand({ TargetGroupArn: arn }),
        { abortSignal: ctx.signal },
      );
      for (const target of targets ?? []) {
        const health = target.TargetHealth;
        if (health?.State === 'healthy') healthy++;
        else {
          const reason = health?.Reason
            ? ` (${health.Reason}${health.Description ? `: ${health.Description}` : ''})`
            : '';
          unhealthy.push(`${target.Target?.Id ?? 'target'} ${health?.State ?? 'unknown'}${reason}`);
        }
      }
    }
    if (unhealthy.length > 0 || healthy === 0) {
      return fail(
        unhealthy.length > 0 ? unhealthy.join('; ') : 'no registered targets',
        'targets register once tasks run (see "ECS service"); a failing health check is in the app log.',
      );
    }
    return pass(`${healthy} healthy target(s)`);
  },
};
