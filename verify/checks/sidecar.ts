import { DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { outputOf, stackOf } from '../deployment';
import { Check, CheckContext, CheckOutcome, fail, pass, skip } from '../types';
import { NO_APPLICATION } from './service';

/** The sidecar's container name in the task definition (lib/constructs/kerberos-sidecar-container.ts). */
export const SIDECAR_CONTAINER = 'kerberos-sidecar';

/**
 * TICKET_SOURCE=sidecar: in every running task of the web app, the Kerberos sidecar container reports HEALTHY, i.e.
 * its cache holds a ticket that does not end within 10 minutes (`kerberos-sidecar health`). ECS reports a container's
 * health in DescribeTasks (`containers[].healthStatus`: HEALTHY, UNHEALTHY or UNKNOWN).
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Container.html
 */
export const sidecarCheck: Check = {
  id: 'sidecar',
  title: 'Kerberos sidecar',
  description: 'sidecar mode: the kerberos-sidecar container of each running web app task is HEALTHY (a valid ticket)',
  async run(ctx: CheckContext): Promise<CheckOutcome> {
    if (ctx.settings.ticketSource !== 'sidecar') return skip('gMSA mode: credentials-fetcher gets the ticket');
    if (!stackOf(ctx, 'application')) return skip(NO_APPLICATION);
    const cluster = outputOf(ctx, 'cluster', 'ClusterName');
    const serviceName = outputOf(ctx, 'application', 'ServiceName');
    const logGroup = stackOf(ctx, 'application')?.outputs.LogGroupName ?? '<LogGroupName>';
    const { taskArns } = await ctx.clients.ecs.send(
      new ListTasksCommand({ cluster, serviceName, desiredStatus: 'RUNNING' }),
      { abortSignal: ctx.signal },
    );
    if (!taskArns || taskArns.length === 0) {
      return fail(`no running task of ${serviceName}`, 'see "ECS service" above for the stopped reasons.');
    }
    const { tasks } = await ctx.clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: taskArns }), {
      abortSignal: ctx.signal,
    });
    // A task that stops between the two calls is reported under failures, not tasks: none described is no evidence.
    if (!tasks || tasks.length === 0) {
      return fail(
        `ECS described none of the ${taskArns.length} running task(s) of ${serviceName}`,
        'run verify again in a minute; if it repeats, see "ECS service" above for the stopped reasons.',
      );
    }
    const problems: string[] = [];
    for (const task of tasks) {
      const id = task.taskArn?.split('/').pop() ?? 'a task';
      const sidecar = (task.containers ?? []).find((c) => c.name === SIDECAR_CONTAINER);
      if (!sidecar) problems.push(`${id}: no ${SIDECAR_CONTAINER} container`);
      else if (sidecar.healthStatus !== 'HEALTHY') problems.push(`${id}: ${sidecar.healthStatus ?? 'UNKNOWN'}`);
    }
    if (problems.length > 0) {
      return fail(
        `${SIDECAR_CONTAINER} ${problems.join('; ')}`,
        `read the sidecar's log (aws logs tail ${logGroup} --log-stream-name-prefix ${SIDECAR_CONTAINER}): ` +
          'kinit errors name the cause (wrong password: the secret and AD disagree; KDC unreachable: DNS or security groups).',
      );
    }
    return pass(`${tasks.length} task(s), ${SIDECAR_CONTAINER} HEALTHY in each`);
  },
};
