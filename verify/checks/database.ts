import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { outputOf } from '../deployment';
import { Check, CheckContext, CheckOutcome, fail, pass } from '../types';

/** SQL Server accepts Kerberos logins only once RDS has joined the instance to the directory. */
export const databaseCheck: Check = {
  id: 'database',
  title: 'SQL Server',
  description: 'the RDS instance is available and its membership of the directory is "joined"',
  async run(ctx: CheckContext): Promise<CheckOutcome> {
    const identifier = outputOf(ctx, 'database', 'DBInstanceIdentifier');
    const directoryId = outputOf(ctx, 'directory', 'DirectoryId');
    const { DBInstances: instances } = await ctx.clients.rds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }),
      { abortSignal: ctx.signal },
    );
    const instance = instances?.[0];
    if (!instance) return fail(`RDS instance ${identifier} not found`, 'deploy the database stack again.');
    if (instance.DBInstanceStatus !== 'available') {
      return fail(
        `${identifier} is ${instance.DBInstanceStatus ?? 'in an unknown state'}`,
        'wait until it is available (aws rds wait db-instance-available --db-instance-identifier ' + `${identifier}).`,
      );
    }
    const membership = (instance.DomainMemberships ?? []).find((m) => m.Domain === directoryId);
    if (!membership) {
      return fail(
        `${identifier} is not a member of directory ${directoryId}`,
        "redeploy the database stack (it sets the instance's Domain and its IAM role AmazonRDSDirectoryServiceAccess).",
      );
    }
    if (membership.Status !== 'joined') {
      return fail(
        `${identifier}'s membership of ${directoryId} is ${membership.Status ?? 'unknown'}`,
        'a "pending-*" status settles within minutes; "failed" needs the directory Active and the instance role ' +
          'AmazonRDSDirectoryServiceAccess, then reboot the instance.',
      );
    }
    return pass(`${identifier} available, joined to ${directoryId}`);
  },
};
