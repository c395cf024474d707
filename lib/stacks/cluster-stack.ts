import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ContainerHostLogs } from '../constructs/container-host-logs';
import { CredentialsFetcherHosts } from '../constructs/credentials-fetcher-hosts';
import { DomainJoinTag } from '../constructs/domain-join';
import { GMSA_PRINCIPALS_GROUP } from '../directory-names';
import { DirectoryReference } from '../directory-reference';
import { AppMode } from '../settings';

/** Props of {@link ClusterStack}. */
export interface ClusterStackProps extends StackProps {
  /** Name of the cluster, and prefix of the names people look up. */
  readonly solutionId: string;
  /** The VPC of the directory stack. */
  readonly vpc: ec2.IVpc;
  /** The directory. */
  readonly directory: DirectoryReference;
  /**
   * The deployment mode: Fargate only (no EC2 container instances); credentials-fetcher hosts, domainless or joined
   * to the directory; or, with the Kerberos sidecar, plain ECS-optimized hosts.
   */
  readonly mode: AppMode;
  /** The domainless identity; container instances read it in domainless mode. */
  readonly identitySecret: secretsmanager.ISecret;
  /** The seamless-domain-join secret; container instances read it in domain-joined mode. */
  readonly domainJoinSecret: secretsmanager.ISecret;
  /** The tag the directory stack's domain-join association targets. */
  readonly domainJoinTag: DomainJoinTag;
  /**
   * The directory stack's SQL clients group, which SQL Server admits on 1433: the container instances join it, so this
   * stack does not reference the database stack and can deploy alongside it.
   */
  readonly sqlClientsSecurityGroup: ec2.ISecurityGroup;
  /** Instance type of the container instances. */
  readonly instanceType: string;
  /** The credentials-fetcher version the container instances install. */
  readonly credentialsFetcherVersion: string;
  /** Minimum number of container instances. */
  readonly minCapacity: number;
  /** Maximum number of container instances. */
  readonly maxCapacity: number;
  /**
   * Let ECS Exec open sessions in the cluster's tasks, each logged to {@link ClusterStack.ecsExec}'s log group.
   * @default false
   */
  readonly ecsExec?: boolean;
}

/** What ECS Exec sessions use when `ECS_EXEC` is on: where they are logged and the key that encrypts them. */
export interface EcsExecResources {
  /** The log group every session's commands and output go to (`/aws/ecs/<solution id>/exec`). */
  readonly logGroup: logs.LogGroup;
  /** Encrypts the session's data channel and the log group. */
  readonly key: kms.Key;
}

/**
 * The ECS cluster: Fargate capacity always, and EC2 hosts unless Fargate only: with credentials-fetcher for a gMSA, or
 * plain ECS-optimized ones for the Kerberos sidecar.
 */
export class ClusterStack extends Stack {
  /** The cluster. */
  public readonly cluster: ecs.ICluster;
  /** The EC2 capacity provider; absent with `FARGATE`. */
  public readonly capacityProvider?: ecs.AsgCapacityProvider;
  /** Security group of the container instances; absent with `FARGATE`. */
  public readonly instanceSecurityGroup?: ec2.ISecurityGroup;
  /** How many awsvpc tasks the container instances hold at their maximum count; absent with `FARGATE`. */
  public readonly ec2TaskSlots?: number;
  /** The container instances' log groups and failure metrics; absent with `FARGATE`. */
  public readonly hostLogs?: ContainerHostLogs;
  /** ECS Exec's session log and key; absent unless `ECS_EXEC` is on. */
  public readonly ecsExec?: EcsExecResources;

  constructor(scope: Construct, id: string, props: ClusterStackProps) {
    super(scope, id, props);

    this.ecsExec = props.ecsExec ? ecsExecResources(this, props.solutionId) : undefined;
    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      clusterName: props.solutionId,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      // An ECS cluster may hold the Fargate capacity providers next to an ASG capacity provider.
      enableFargateCapacityProviders: true,
      // OVERRIDE: every session is logged to the stack's own, KMS-encrypted group, whatever the task definition's
      // awslogs settings; the same key encrypts the session's data channel between the client and the container.
      // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html (logging and encryption)
      executeCommandConfiguration: this.ecsExec && {
        kmsKey: this.ecsExec.key,
        logging: ecs.ExecuteCommandLogging.OVERRIDE,
        // By name, not by reference: the task role's grant (made by the service in the application stack) then names
        // the group literally instead of importing it from this stack. The dependency below keeps the order.
        logConfiguration: {
          cloudWatchLogGroup: logs.LogGroup.fromLogGroupName(
            this,
            'EcsExecLogGroupByName',
            ecsExecLogGroupNameFor(props.solutionId),
          ),
          cloudWatchEncryptionEnabled: true,
        },
      },
    });
    if (this.ecsExec) cluster.node.addDependency(this.ecsExec.logGroup);
    this.cluster = cluster;
    // Container Insights writes to this group and would create it itself, without a retention and outside the stack, so
    // `cdk destroy` would leave it behind. Created here first, it has a retention and goes with the stack.
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-reference-performance-logs-ECS.html
    const insightsLogGroup = new logs.LogGroup(this, 'ContainerInsightsLogGroup', {
      logGroupName: `/aws/ecs/containerinsights/${props.solutionId}/performance`,
      retention: logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    cluster.node.addDependency(insightsLogGroup);
    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName, description: 'ECS cluster' });

    const mode = props.mode;
    if (mode.fargate) {
      return;
    }

    // credentials-fetcher's, the ECS agent's and the bootstrap log, shipped by the CloudWatch agent on each host. Plain
    // hosts (sidecar mode) run no host script to install the agent; their tasks log through the awslogs driver.
    const sidecar = mode.ticketSource === 'sidecar';
    this.hostLogs = sidecar
      ? undefined
      : new ContainerHostLogs(this, 'ContainerHostLogs', {
          solutionId: props.solutionId,
          metricNamespace: metricNamespaceFor(props.solutionId),
        });
    const hosts = new CredentialsFetcherHosts(this, 'ContainerInstances', {
      hostLogs: this.hostLogs,
      vpc: props.vpc,
      cluster,
      directoryAccess: sidecar
        ? { mode: 'none' }
        : mode.domainJoinEcs
          ? {
              mode: 'domain-joined',
              domainName: props.directory.dnsName,
              domainControllers: props.directory.dnsIpAddresses,
              domainJoinSecret: props.domainJoinSecret,
              domainJoinTag: props.domainJoinTag,
              gmsaPrincipalsGroup: GMSA_PRINCIPALS_GROUP,
            }
          : { mode: 'domainless', identitySecret: props.identitySecret },
      credentialsFetcherVersion: props.credentialsFetcherVersion,
      instanceType: props.instanceType,
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      additionalSecurityGroups: [props.sqlClientsSecurityGroup],
    });
    this.capacityProvider = hosts.capacityProvider;
    this.instanceSecurityGroup = hosts.securityGroup;
    this.ec2TaskSlots = hosts.awsvpcTaskSlots;

    this.hostLogs?.grantWrite(hosts.role);

    new CfnOutput(this, 'ECSAutoScalingGroupName', {
      value: hosts.autoScalingGroup.autoScalingGroupName,
      description: 'Auto Scaling group of the ECS container instances',
    });
  }
}

/** Name of ECS Exec's session log group: a person looks for it. */
export function ecsExecLogGroupNameFor(solutionId: string): string {
  return `/aws/ecs/${solutionId}/exec`;
}

/**
 * The log group and key of ECS Exec. The key's policy lets CloudWatch Logs use it for this one log group, as CloudWatch
 * Logs requires before a group may be created with the key; the task role's kms:Decrypt and the log writes come from
 * CDK when the service turns ECS Exec on (BaseService.enableExecuteCommandEncryption / executeCommandLogConfiguration).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
 */
function ecsExecResources(stack: Stack, solutionId: string): EcsExecResources {
  const logGroupName = ecsExecLogGroupNameFor(solutionId);
  const key = new kms.Key(stack, 'EcsExecKey', {
    description: `ECS Exec sessions of ${solutionId}: the data channel and the session log`,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
    pendingWindow: Duration.days(7),
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchLogsForTheSessionLog',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnEquals: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: logGroupName,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  // Nobody creates grants on the key except AWS services on their own resources (Control Tower CT.KMS.PR.3); nothing
  // here uses grants: CloudWatch Logs and the session's clients use the key directly.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'GrantsOnlyForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
  const logGroup = new logs.LogGroup(stack, 'EcsExecLogGroup', {
    logGroupName,
    encryptionKey: key,
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return { logGroup, key };
}

/** Namespace of the metrics counted from the container instances' logs. */
export function metricNamespaceFor(solutionId: string): string {
  return `GmsaLinuxEcs/${solutionId}`;
}
