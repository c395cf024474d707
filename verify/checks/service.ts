import { DescribeServicesCommand, DescribeTasksCommand, ListTasksCommand, Service } from '@aws-sdk/client-ecs';
import { outputOf, stackOf } from '../deployment';
import { Check, CheckContext, CheckOutcome, fail, pass, skip } from '../types';

/** The skip when the application stack was not deployed. */
export const NO_APPLICATION = 'no application stack (deploy with DEPLOY_APP=1)';

/** The web app's service, from the cluster and service names the stacks output. */
export async function describeAppService(ctx: CheckContext): Promise<Service | undefined> {
  const cluster = outputOf(ctx, 'cluster', 'ClusterName');
  const service = outputOf(ctx, 'application', 'ServiceName');
  const { services } = await ctx.clients.ecs.send(new DescribeServicesCommand({ cluster, services: [service] }), {
    abortSignal: ctx.signal,
  });
  return services?.[0];
}

/**
 * Steady: the service is ACTIVE with running = desired > 0. The stopped reasons of the tasks ECS still lists (about an
 * hour) are summarised either way: "CannotPullContainerError", "credentialspec" and "Essential container exited" point
 * at different links.
 */
export const serviceCheck: Check = {
  id: 'service',
  title: 'ECS service',
  description: "the web app's service runs as many tasks as desired; recent stopped tasks' reasons are summarised",
  async run(ctx: CheckContext): Promise<CheckOutcome> {
    if (!stackOf(ctx, 'application')) return skip(NO_APPLICATION);
    const cluster = outputOf(ctx, 'cluster', 'ClusterName');
    const name = outputOf(ctx, 'application', 'ServiceName');
    const service = await describeAppService(ctx);
    if (!service || service.status !== 'ACTIVE') {
      return fail(`service ${name} is ${service?.status ?? 'not found'}`, 'redeploy the application stack.');
    }
    const stopped = await stoppedReasons(ctx, cluster, name);
    const running = service.runningCount ?? 0;
    const desired = service.desiredCount ?? 0;
    const counts = `${running}/${desired} running`;
    if (desired === 0 || running !== desired) {
      const pending = service.pendingCount ? `, ${service.pendingCount} pending` : '';
      return fail(
        `${name}: ${counts}${pending}${stopped ? `; stopped: ${stopped}` : ''}`,
        `read the stopped reasons (aws ecs describe-tasks) and the app log (${
          stackOf(ctx, 'application')?.outputs.LogGroupName ?? 'LogGroupName output'
        }); PENDING tasks on EC2 mean no instance has the gMSA capability (see "Container instances").`,
      );
    }
    return pass(`${name}: ${counts}${stopped ? `; recently stopped: ${stopped}` : ''}`);
  },
};

/** "2× reason A; 1× reason B" for the service's stopped tasks ECS still lists (at most 20), or ''. */
async function stoppedReasons(ctx: CheckContext, cluster: string, serviceName: string): Promise<string> {
  const { taskArns } = await ctx.clients.ecs.send(
    new ListTasksCommand({ cluster, serviceName, desiredStatus: 'STOPPED', maxResults: 20 }),
    { abortSignal: ctx.signal },
  );
  if (!taskArns || taskArns.length === 0) return '';
  const { tasks } = await ctx.clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: taskArns }), {
    abortSignal: ctx.signal,
  });
  const counts = new Map<string, number>();
  for (const task of tasks ?? []) {
    const container = (task.containers ?? []).find((c) => c.reason)?.reason;
    const reason = [task.stoppedReason ?? 'no reason given', container].filter(Boolean).join(': ');
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([reason, count]) => `${count}× ${reason}`)
    .join('; ');
}
