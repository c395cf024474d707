import { CfnOutput, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
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

  constructor(scope: Construct, id: string, props: ClusterStackProps) {
    super(scope, id, props);

    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      clusterName: props.solutionId,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      // An ECS cluster may hold the Fargate capacity providers next to an ASG capacity provider.
      enableFargateCapacityProviders: true,
    });
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

/** Namespace of the metrics counted from the container instances' logs. */
export function metricNamespaceFor(solutionId: string): string {
  return `GmsaLinuxEcs/${solutionId}`;
}
