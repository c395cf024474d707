import { stackOf } from '../deployment';
import { Check, CheckContext, CheckOutcome, fail, pass } from '../types';

/** A stack whose last operation finished; UPDATE_ROLLBACK_COMPLETE is stable but means the last update failed. */
const COMPLETE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE']);

export const stacksCheck: Check = {
  id: 'stacks',
  title: 'Stacks complete',
  description:
    'every stack of the solution is CREATE_COMPLETE or UPDATE_COMPLETE, deployed in the mode the settings name',
  async run(ctx: CheckContext): Promise<CheckOutcome> {
    const incomplete = ctx.deployment.stacks.filter((stack) => !COMPLETE.has(stack.status));
    if (incomplete.length > 0) {
      const list = incomplete
        .map((stack) => `${stack.name} ${stack.status}${stack.statusReason ? ` (${stack.statusReason})` : ''}`)
        .join('; ');
      return fail(
        list,
        `wait for an *_IN_PROGRESS stack; for a failed or rolled-back one read its first failed event: ` +
          `aws cloudformation describe-stack-events --stack-name ${incomplete[0].name}, fix it and deploy again.`,
      );
    }
    const mismatch = modeMismatch(ctx);
    if (mismatch) return fail(mismatch, 'set the same FARGATE and DOMAIN_JOIN_ECS as for cdk deploy, then run again.');
    const names = ctx.deployment.stacks.map((stack) => stack.name).join(', ');
    const noApp = stackOf(ctx, 'application') ? '' : ' (no application stack: DEPLOY_APP was not set)';
    return pass(`${names}${noApp}`);
  },
};

/** The deployed mode, read from outputs only one mode has, against the settings. */
function modeMismatch(ctx: CheckContext): string | undefined {
  const database = stackOf(ctx, 'database');
  const cluster = stackOf(ctx, 'cluster');
  const deployedDomainless = database?.outputs.IdentityRotationLogGroupName !== undefined;
  const deployedFargate = cluster?.outputs.ECSAutoScalingGroupName === undefined;
  const problems: string[] = [];
  if (deployedDomainless === ctx.settings.domainJoinEcs) {
    problems.push(
      `the stacks are ${deployedDomainless ? 'domainless' : 'domain-joined'} but the settings say ` +
        `${ctx.settings.domainJoinEcs ? 'domain-joined (DOMAIN_JOIN_ECS=1)' : 'domainless'}`,
    );
  }
  if (deployedFargate !== ctx.settings.fargate) {
    problems.push(
      `the cluster is ${deployedFargate ? 'Fargate-only' : 'EC2'} but the settings say ` +
        `${ctx.settings.fargate ? 'Fargate (FARGATE=1)' : 'EC2'}`,
    );
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}
