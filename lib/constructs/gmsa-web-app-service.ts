import { Annotations, Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { GmsaTaskDefinition, HEALTH_CHECK_PATH, WEB_APP_PORT } from './gmsa-task-definition';
import {
  DEPLOYMENT_MAX_HEALTHY_PERCENT,
  DEPLOYMENT_MIN_HEALTHY_PERCENT,
  webAppTaskCounts,
} from './gmsa-web-app-capacity';

/** Where the service's tasks run. */
export type WebAppCapacity =
  /**
   * EC2 container instances with credentials-fetcher, through the cluster's capacity provider; `taskSlots` is how many
   * awsvpc tasks they hold at their maximum count.
   */
  | { readonly kind: 'ec2'; readonly capacityProvider: ecs.AsgCapacityProvider; readonly taskSlots: number }
  /** Fargate (platform 1.4.0 or later). */
  | { readonly kind: 'fargate' };

/** Props of {@link GmsaWebAppService}. */
export interface GmsaWebAppServiceProps {
  /** The VPC: the load balancer in its public subnets, the tasks in its private subnets. */
  readonly vpc: ec2.IVpc;
  /** The cluster. */
  readonly cluster: ecs.ICluster;
  /** EC2 capacity provider or Fargate; must match the task definition. */
  readonly capacity: WebAppCapacity;
  /** The web app's task definition. */
  readonly task: GmsaTaskDefinition;
  /**
   * The only IPv4 CIDR the load balancer admits on port 80.
   * @default - open to the internet on port 80 (synth prints a notice)
   */
  readonly ingressCidr?: string;
}

/**
 * The web app's ECS service behind a public Application Load Balancer: tasks in the private subnets across AZs,
 * deployment circuit breaker with rollback, CPU target tracking, ECS Exec. On EC2 the task counts (2 idle, up to 6)
 * are lowered until a rolling deployment at the maximum count fits on the hosts (`webAppTaskCounts`).
 */
export class GmsaWebAppService extends Construct {
  /** The ECS service. */
  public readonly service: ecs.Ec2Service | ecs.FargateService;
  /** The public load balancer. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** Security group of the load balancer. */
  public readonly loadBalancerSecurityGroup: ec2.SecurityGroup;
  /** Security group of the tasks' network interfaces. */
  public readonly taskSecurityGroup: ec2.SecurityGroup;
  /** Target group of the tasks. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: GmsaWebAppServiceProps) {
    super(scope, id);
    const { desiredCount, maxCount } = webAppTaskCounts(
      props.capacity.kind === 'ec2' ? props.capacity.taskSlots : undefined,
    );

    // Outbound stays open: the tasks reach SQL Server, the directory's DNS and the AWS endpoints of ECS Exec. On
    // Fargate (platform 1.4.0+) the image pull, the CredSpec, the identity secret and the logs also travel through the
    // task's own network interface, and the gMSA ticket exchange with the domain controllers may as well; open egress
    // keeps every one of these working without a rule per port.
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html
    this.taskSecurityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: props.vpc,
      description: 'Web app tasks: 8080 from the load balancer only',
      allowAllOutbound: true,
    });
    // `connections.allowTo(databaseSecurityGroup, 1433)` also asks for an egress rule, redundant with allowAllOutbound.
    Annotations.of(this.taskSecurityGroup).acknowledgeWarning(
      '@aws-cdk/aws-ec2:ipv4IgnoreEgressRule',
      'all outbound traffic is allowed on purpose: SQL Server, the directory and the AWS endpoints',
    );

    this.loadBalancerSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: props.vpc,
      description: 'Web app load balancer: HTTP from the allowed source, to the tasks on 8080',
      allowAllOutbound: false,
    });
    if (props.ingressCidr !== undefined) {
      this.loadBalancerSecurityGroup.addIngressRule(
        ec2.Peer.ipv4(props.ingressCidr),
        ec2.Port.tcp(80),
        'HTTP from MY_SG_INGRESS_IP',
      );
    } else {
      this.loadBalancerSecurityGroup.addIngressRule(
        ec2.Peer.anyIpv4(),
        ec2.Port.tcp(80),
        'HTTP from the internet (MY_SG_INGRESS_IP unset)',
      );
      Validations.of(this.loadBalancerSecurityGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: 'MY_SG_INGRESS_IP is unset: the sample page is public on port 80 by choice and synth prints a notice.',
      });
    }

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.loadBalancerSecurityGroup,
      dropInvalidHeaderFields: true,
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'The stacks are environment-agnostic and ALB log delivery needs the region-specific ELB account in the bucket ' +
        'policy; a sample: the load balancer metrics and the app logs in CloudWatch Logs are what it offers instead.',
    });

    const common = {
      cluster: props.cluster,
      desiredCount,
      // Rolling deployments start the new tasks before stopping the old ones.
      minHealthyPercent: DEPLOYMENT_MIN_HEALTHY_PERCENT,
      maxHealthyPercent: DEPLOYMENT_MAX_HEALTHY_PERCENT,
      // A task that cannot get its CredSpec or ticket never becomes healthy: after a few failed launches ECS stops
      // the deployment and rolls back, so CloudFormation fails in minutes instead of waiting for hours.
      // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
      circuitBreaker: { enable: true, rollback: true },
      enableExecuteCommand: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.taskSecurityGroup],
      healthCheckGracePeriod: Duration.seconds(60),
    };

    if (props.capacity.kind === 'fargate') {
      if (!(props.task.taskDefinition instanceof ecs.FargateTaskDefinition)) {
        throw new Error('Invalid task definition: a Fargate service needs the Fargate task definition.');
      }
      this.service = new ecs.FargateService(this, 'Service', {
        ...common,
        taskDefinition: props.task.taskDefinition,
        assignPublicIp: false,
        // LATEST is 1.4.0 or later, the minimum for gMSA on Fargate.
        platformVersion: ecs.FargatePlatformVersion.LATEST,
        capacityProviderStrategies: [{ capacityProvider: 'FARGATE', weight: 1 }],
      });
    } else {
      if (!(props.task.taskDefinition instanceof ecs.Ec2TaskDefinition)) {
        throw new Error('Invalid task definition: an EC2 service needs the EC2 task definition.');
      }
      this.service = new ecs.Ec2Service(this, 'Service', {
        ...common,
        taskDefinition: props.task.taskDefinition,
        capacityProviderStrategies: [
          { capacityProvider: props.capacity.capacityProvider.capacityProviderName, weight: 1 },
        ],
        placementStrategies: [
          ecs.PlacementStrategy.spreadAcross(ecs.BuiltInAttributes.AVAILABILITY_ZONE),
          ecs.PlacementStrategy.spreadAcrossInstances(),
        ],
      });
    }

    const listener = this.loadBalancer.addListener('Http', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
    });
    // Registers the tasks by IP and opens 8080 from the load balancer's security group to the tasks' security group.
    this.targetGroup = listener.addTargets('WebApp', {
      port: WEB_APP_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [
        this.service.loadBalancerTarget({
          containerName: props.task.container.containerName,
          containerPort: WEB_APP_PORT,
        }),
      ],
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        path: HEALTH_CHECK_PATH,
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });

    const scaling = this.service.autoScaleTaskCount({ minCapacity: desiredCount, maxCapacity: maxCount });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: 60,
      scaleInCooldown: Duration.seconds(120),
      scaleOutCooldown: Duration.seconds(60),
    });
  }
}
