import { DescribeContainerInstancesCommand, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import { outputOf } from '../deployment';
import { Check, CheckContext, CheckOutcome, fail, pass, skip } from '../types';

/**
 * The ECS agent advertises gMSA support as an attribute, and only when credentials-fetcher's socket existed when it
 * started (amazon-ecs-agent; see REFERENCE "Agent start order"). Tasks with credentialSpecs are placed only on
 * instances with the attribute, so a missing one leaves them PENDING.
 */
export const instancesCheck: Check = {
  id: 'instances',
  title: 'Container instances',
  description:
    'EC2 modes: container instances are registered and each advertises ecs.capability.gmsa-domainless (domainless) ' +
    'or ecs.capability.gmsa (domain-joined); with the Kerberos sidecar, registered with a connected agent',
  async run(ctx: CheckContext): Promise<CheckOutcome> {
    if (ctx.settings.fargate) return skip('Fargate: no container instances');
    const cluster = outputOf(ctx, 'cluster', 'ClusterName');
    // The Kerberos sidecar's plain hosts advertise no gMSA capability, and its tasks need none.
    const sidecar = ctx.settings.ticketSource === 'sidecar';
    const capability = ctx.settings.domainJoinEcs ? 'ecs.capability.gmsa' : 'ecs.capability.gmsa-domainless';
    const { containerInstanceArns: arns } = await ctx.clients.ecs.send(
      new ListContainerInstancesCommand({ cluster, status: 'ACTIVE' }),
      { abortSignal: ctx.signal },
    );
    if (!arns || arns.length === 0) {
      const group = ctx.deployment.stacks.find((s) => s.role === 'cluster')?.outputs.ECSAutoScalingGroupName;
      return fail(
        `no container instance registered in ${cluster}`,
        `check that the Auto Scaling group${group ? ` ${group}` : ''} has running instances; on one, read ` +
          '/var/log/ecs/ecs-init.log and the user data log (/var/log/cloud-init-output.log).',
      );
    }
    const { containerInstances: instances } = await ctx.clients.ecs.send(
      new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }),
      { abortSignal: ctx.signal },
    );
    // An instance deregistered between the two calls is reported under failures: none described is no evidence.
    if (!instances || instances.length === 0) {
      return fail(
        `ECS described none of the ${arns.length} container instance(s) of ${cluster}`,
        "run verify again in a minute; if it repeats, see the Auto Scaling group's activity history.",
      );
    }
    const problems: string[] = [];
    for (const instance of instances) {
      const name = instance.ec2InstanceId ?? instance.containerInstanceArn ?? 'an instance';
      if (instance.agentConnected === false) problems.push(`${name}: agent disconnected`);
      else if (!sidecar && !(instance.attributes ?? []).some((attribute) => attribute.name === capability)) {
        problems.push(`${name}: no ${capability}`);
      }
    }
    if (problems.length > 0) {
      return fail(
        problems.join('; '),
        'on the instance (Session Manager): systemctl status credentials-fetcher; once its socket ' +
          '/var/credentials-fetcher/socket/credentials_fetcher.sock exists, sudo systemctl restart ecs.',
      );
    }
    if (sidecar) return pass(`${instances.length} instance(s) in ${cluster}, agents connected`);
    return pass(`${instances.length} instance(s) in ${cluster}, each with ${capability}`);
  },
};
