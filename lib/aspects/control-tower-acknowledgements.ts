import { CfnResource, IAspect, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { IConstruct } from 'constructs';
import { acknowledgeGuardRules } from '../guard-acknowledgements';

/**
 * AWS Control Tower proactive-control findings this sample accepts on resources of many constructs (every log group),
 * of aws-cdk-lib itself (its custom-resource provider functions), or of constructs other files own (the bastion, the
 * container instances, the VPC's public subnets): each is acknowledged here, once, in the resource's
 * `Metadata.guard` with its reason (lib/guard-acknowledgements.ts). Findings of one construct are acknowledged in
 * that construct's file.
 */
export class ControlTowerAcknowledgements implements IAspect {
  public visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node)) return;
    const rules = acknowledgementsOf(node);
    if (rules !== undefined) acknowledgeGuardRules(node, rules);
  }
}

/** What each kind of resource acknowledges; `undefined` for resources this aspect leaves alone. */
function acknowledgementsOf(node: CfnResource): Readonly<Record<string, string>> | undefined {
  const path = node.node.path;
  switch (node.cfnResourceType) {
    case 'AWS::Logs::LogGroup':
      // A group with its own KMS key (ECS Exec's session log) passes the encryption rule: acknowledging it would be stale.
      return (node as logs.CfnLogGroup).kmsKeyId === undefined ? LOG_GROUP : LOG_GROUP_WITH_KMS_KEY;
    case 'AWS::Lambda::Function':
      return isCdkProviderFunction(node) ? CDK_PROVIDER_FUNCTION : undefined;
    case 'AWS::EC2::Instance':
      return path.includes('/AdManagementBastion/') ? BASTION : undefined;
    case 'AWS::EC2::LaunchTemplate':
      return path.includes('/ContainerInstances/') ? CONTAINER_INSTANCES_LAUNCH_TEMPLATE : undefined;
    case 'AWS::AutoScaling::AutoScalingGroup':
      return path.includes('/ContainerInstances/') ? CONTAINER_INSTANCES_GROUP : undefined;
    case 'AWS::EC2::Subnet':
      return /\/Network\/Vpc\/public/.test(path) ? PUBLIC_SUBNET : undefined;
    default:
      return undefined;
  }
}

const LOG_GROUP = {
  CLOUDWATCH_LOG_GROUP_ENCRYPTED_CHECK:
    "CloudWatch Logs' own encryption; a customer managed KMS key per log group costs money and a key policy to keep, for logs that hold no secret.",
  CLOUDWATCH_LOG_GROUP_RETENTION_PERIOD_CHECK:
    'A sample people deploy and destroy: logs are kept 30 days (not a year) and deleted with the stack.',
};

const LOG_GROUP_WITH_KMS_KEY = {
  CLOUDWATCH_LOG_GROUP_RETENTION_PERIOD_CHECK: LOG_GROUP.CLOUDWATCH_LOG_GROUP_RETENTION_PERIOD_CHECK,
};

const CDK_PROVIDER_FUNCTION = {
  LAMBDA_INSIDE_VPC_CHECK:
    "aws-cdk-lib's own custom-resource provider: it only calls AWS APIs during deploy or destroy; aws-cdk-lib offers no VPC setting for it.",
};

const BASTION = {
  EC2_INSTANCE_DETAILED_MONITORING_ENABLED_CHECK:
    'A configuration instance that stops itself after its run: 5-minute metrics are enough.',
  EC2_INSTANCE_NITRO_ENCRYPTION_IN_TRANSIT_CHECK:
    'A t3 instance (no Nitro in-transit encryption); what it sends is TLS (AWS APIs, SQL Server) or Kerberos-protected (AD).',
  EC2_INSTANCE_NO_PUBLIC_IP_CHECK:
    'In a private subnet unless BASTION_RDP_CIDR is set (then public on purpose, for RDP from that CIDR); the rule ' +
    'cannot see the subnet, which comes from the directory stack.',
};

const CONTAINER_INSTANCES_LAUNCH_TEMPLATE = {
  EC2_LAUNCH_TEMPLATE_MONITORING_ENABLED_CHECK:
    'A sample: 5-minute instance metrics and Container Insights are enough; detailed monitoring costs extra per instance.',
};

const CONTAINER_INSTANCES_GROUP = {
  AUTOSCALING_MIXED_INSTANCES_POLICY_MULTIPLE_INSTANCE_TYPES_CHECK:
    'One instance type (ECS_INSTANCE_TYPE) whose network-interface count sizes the awsvpc task slots; a mix would make that count unknown.',
  AUTOSCALING_MULTIPLE_AZ_CHECK:
    "The group spans the VPC's two private subnets in two Availability Zones; they come from the directory stack " +
    '(Fn::GetStackOutput), which the rule cannot follow.',
};

const PUBLIC_SUBNET = {
  SUBNET_AUTO_ASSIGN_PUBLIC_IP_DISABLED_CHECK:
    'Public subnets hold only the NAT gateway, the load balancer and, with BASTION_RDP_CIDR, the bastion that needs a public address for RDP.',
};

/** CDK's `Custom::...CustomResourceProvider` handlers and the single function of `AwsCustomResource`. */
function isCdkProviderFunction(node: CfnResource): boolean {
  if (/^Custom::\w+CustomResourceProvider$/.test(node.node.scope?.node.id ?? '') && node.node.id === 'Handler')
    return true;
  const awsCustomResource = `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`;
  return node.node.scope === Stack.of(node).node.tryFindChild(awsCustomResource);
}
