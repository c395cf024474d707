import { Template } from 'aws-cdk-lib/assertions';
import { stackName } from '../../verify/deployment';
import { StackRole } from '../../verify/types';
import { buildApp, settingsFor } from '../helpers/modes';

/** Every output `npm run verify` reads, by stack (contract 8 keys). */
const READ_BY_VERIFY: Record<StackRole, string[]> = {
  directory: [
    'DirectoryId',
    'DirectoryName',
    'IdentitySecretName',
    'CredSpecParameterName',
    'CredSpecBucketName',
    'CredSpecObjectKey',
  ],
  database: ['DBInstanceIdentifier', 'ADManagementLogGroupName', 'IdentityRotationLogGroupName'],
  cluster: ['ClusterName', 'ECSAutoScalingGroupName'],
  application: ['ServiceName', 'ServiceURL', 'LogGroupName'],
};

function outputsOf(settings: Parameters<typeof buildApp>[0]) {
  const { stacks } = buildApp(settings);
  const byRole: Partial<Record<StackRole, { name: string; outputs: string[] }>> = {};
  for (const [role, stack] of Object.entries(stacks)) {
    if (stack) {
      byRole[role as StackRole] = {
        name: stack.stackName,
        outputs: Object.keys(Template.fromStack(stack).toJSON().Outputs ?? {}),
      };
    }
  }
  return byRole;
}

describe('what verify reads is what the app deploys', () => {
  test('domainless EC2: stack names and every output verify reads', () => {
    // GIVEN the app as cdk deploy builds it WHEN synthesized
    const byRole = outputsOf(settingsFor('domainless-ec2-ssm', { solutionId: 'sample', deployApp: true }));
    // THEN each stack is named as verify looks it up and has every output verify reads
    for (const role of Object.keys(READ_BY_VERIFY) as StackRole[]) {
      expect(byRole[role]?.name).toBe(stackName('sample', role));
      expect(byRole[role]?.outputs).toEqual(expect.arrayContaining(READ_BY_VERIFY[role]));
    }
  });

  test('the outputs the stacks check tells the modes apart by exist only in their mode', () => {
    const joined = outputsOf(settingsFor('domain-joined-ec2-ssm'));
    expect(joined.database?.outputs).not.toContain('IdentityRotationLogGroupName');
    expect(joined.cluster?.outputs).toContain('ECSAutoScalingGroupName');
    const fargate = outputsOf(settingsFor('domainless-fargate-s3'));
    expect(fargate.database?.outputs).toContain('IdentityRotationLogGroupName');
    expect(fargate.cluster?.outputs).not.toContain('ECSAutoScalingGroupName');
  });
});
