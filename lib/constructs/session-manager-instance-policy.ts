import { Aws, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Options of {@link sessionManagerInstancePolicy}. */
export interface SessionManagerInstancePolicyOptions {
  /**
   * The SSM documents of State Manager associations that target the instance (e.g. `AWS-JoinDirectoryServiceDomain`
   * for the seamless domain join): the agent lists its associations, reads these documents and reports their status.
   * @default - none: the instance runs no association
   */
  readonly associationDocuments?: string[];
}

/**
 * The smallest instance-role policy with which the SSM Agent keeps Session Manager (a shell, or port forwarding to
 * RDP) and Run Command working, and, when asked, runs State Manager associations — instead of
 * AmazonSSMManagedInstanceCore, which also grants `ssm:GetParameter(s)` and `ssm:GetDocument` on every parameter and
 * document of the account, plus inventory, patching and Distributor calls nothing here uses. Reading a parameter is
 * granted next to its use, on that one parameter (e.g. the CloudWatch agent's configuration, ContainerHostLogs).
 *
 * - Session Manager: `ssm:UpdateInstanceInformation` and the four `ssmmessages` channel actions, as AWS documents
 *   them for a custom instance profile (Systems Manager User Guide, "Create a custom IAM instance profile for Session
 *   Manager"; the same list as the AWS managed AWSCloud9SSMInstanceProfile). No session logging to S3 or KMS here, so
 *   neither `s3:GetEncryptionConfiguration` nor `kms:Decrypt`.
 * - Run Command (the leave-domain runbook's `aws:runCommand` on a terminating host): the six `ec2messages` actions
 *   of AmazonSSMManagedInstanceCore.
 * - Associations: `ssm:ListAssociations`, `ssm:ListInstanceAssociations`, `ssm:DescribeAssociation` and
 *   `ssm:UpdateInstanceAssociationStatus` (how the agent reports a run), and `ssm:GetDocument`/`ssm:DescribeDocument`
 *   on the named documents only. Not `ssm:UpdateAssociationStatus`: it serves only associations created with the
 *   legacy InstanceId parameter (Systems Manager API reference, UpdateAssociationStatus); ours target a tag.
 *
 * A customer managed policy (not inline), so the role's template lists it like the AWS one it replaces.
 */
export function sessionManagerInstancePolicy(
  scope: Construct,
  options: SessionManagerInstancePolicyOptions = {},
): iam.ManagedPolicy {
  const documents = options.associationDocuments ?? [];
  const policy = new iam.ManagedPolicy(scope, 'SessionManagerInstancePolicy', {
    description:
      'SSM Agent: Session Manager and Run Command' + (documents.length > 0 ? ', State Manager associations' : ''),
    statements: [
      new iam.PolicyStatement({
        sid: 'SessionManagerChannels',
        actions: [
          'ssm:UpdateInstanceInformation',
          'ssmmessages:CreateControlChannel',
          'ssmmessages:CreateDataChannel',
          'ssmmessages:OpenControlChannel',
          'ssmmessages:OpenDataChannel',
        ],
        // ssmmessages has no resource types; AWS documents UpdateInstanceInformation on "*" for the agent too.
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'RunCommandMessages',
        actions: [
          'ec2messages:AcknowledgeMessage',
          'ec2messages:DeleteMessage',
          'ec2messages:FailMessage',
          'ec2messages:GetEndpoint',
          'ec2messages:GetMessages',
          'ec2messages:SendReply',
        ],
        // ec2messages has no resource types.
        resources: ['*'],
      }),
      ...(documents.length === 0
        ? []
        : [
            new iam.PolicyStatement({
              sid: 'RunAssociations',
              actions: [
                'ssm:ListAssociations',
                'ssm:ListInstanceAssociations',
                'ssm:DescribeAssociation',
                'ssm:UpdateInstanceAssociationStatus',
              ],
              // The agent asks for its own associations by instance id; the List actions have no resource types.
              resources: ['*'],
            }),
            new iam.PolicyStatement({
              sid: 'ReadAssociationDocuments',
              actions: ['ssm:GetDocument', 'ssm:DescribeDocument'],
              // AWS-owned documents have no account in their ARN.
              resources: documents.map((name) => `arn:${Aws.PARTITION}:ssm:${Aws.REGION}::document/${name}`),
            }),
          ]),
    ],
  });
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'The SSM Agent actions of Session Manager and Run Command (ssmmessages, ec2messages: no resource types; ' +
      'UpdateInstanceInformation as AWS documents it) and its association listing; no parameter or document is readable on "*".',
  });
  return policy;
}
