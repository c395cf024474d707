import { Annotations, Aws, CfnCondition, CfnMapping, Duration, Fn, Lazy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { SIDECAR_HEALTH_CHECK_GRACE_SECONDS } from './kerberos-sidecar-container';
import { logDestinationBucket } from './log-destination-bucket';
import { acknowledgeGuardRule, acknowledgeGuardRules } from '../guard-acknowledgements';
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
  /**
   * An ACM certificate (in the stack's region) for an HTTPS listener on 443; port 80 then only redirects to it.
   * @default - HTTP only, on port 80
   */
  readonly certificateArn?: string;
  /**
   * Let ECS Exec open a shell in the tasks. The cluster must log the sessions (`executeCommandConfiguration`), and the
   * task definition must have been built with `ecsExec` (the SSM agent's writable paths).
   * @default false
   */
  readonly ecsExec?: boolean;
}

/** Key prefix of the load balancer's access logs in their bucket. */
export const ACCESS_LOGS_PREFIX = 'web-app-alb';

/**
 * TLS policy of the HTTPS listener: TLS 1.3 and 1.2 with forward secrecy only, the policy Elastic Load Balancing
 * recommends. https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
 */
export const HTTPS_SSL_POLICY = elbv2.SslPolicy.RECOMMENDED_TLS;

/**
 * The web app's ECS service behind a public Application Load Balancer: tasks in the private subnets across AZs,
 * deployment circuit breaker with rollback, CPU target tracking, ECS Exec only when asked for. On EC2 the task counts (2 idle, up to 6)
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
  /** Bucket of the load balancer's access logs; emptied and deleted with the stack. */
  public readonly accessLogsBucket: s3.Bucket;
  /** `https://<load balancer DNS name>` with a certificate, `http://...` without. */
  public readonly url: string;

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
      description: 'Web app load balancer: HTTP(S) from the allowed source, to the tasks on 8080',
      allowAllOutbound: false,
    });
    const https = props.certificateArn !== undefined;
    // With a certificate, 80 stays open too: it answers with the redirect to 443.
    const ports: Array<[number, string]> = https
      ? [
          [80, 'HTTP (redirect)'],
          [443, 'HTTPS'],
        ]
      : [[80, 'HTTP']];
    for (const [port, what] of ports) {
      if (props.ingressCidr !== undefined) {
        this.loadBalancerSecurityGroup.addIngressRule(
          ec2.Peer.ipv4(props.ingressCidr),
          ec2.Port.tcp(port),
          `${what} from MY_SG_INGRESS_IP`,
        );
      } else {
        this.loadBalancerSecurityGroup.addIngressRule(
          ec2.Peer.anyIpv4(),
          ec2.Port.tcp(port),
          `${what} from the internet (MY_SG_INGRESS_IP unset)`,
        );
      }
    }
    if (props.ingressCidr === undefined) {
      Validations.of(this.loadBalancerSecurityGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: 'MY_SG_INGRESS_IP is unset: the sample page is public by choice and synth prints a notice.',
      });
    }

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.loadBalancerSecurityGroup,
      dropInvalidHeaderFields: true,
    });
    this.accessLogsBucket = accessLogsBucket(this);
    this.loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
    this.loadBalancer.setAttribute('access_logs.s3.bucket', this.accessLogsBucket.bucketName);
    this.loadBalancer.setAttribute('access_logs.s3.prefix', ACCESS_LOGS_PREFIX);
    // Elastic Load Balancing writes a test object when the attribute is set: the bucket policy must exist first.
    this.loadBalancer.node.addDependency(this.accessLogsBucket.policy!);
    acknowledgeGuardRule(
      this.loadBalancer,
      'ELBV2_DELETION_PROTECTION_ENABLED_CHECK',
      'A sample people deploy and destroy: cdk destroy must delete the load balancer.',
    );

    if (props.ecsExec && props.cluster.executeCommandConfiguration?.logConfiguration === undefined) {
      throw new Error(
        'Invalid ECS Exec: the cluster has no executeCommandConfiguration to log the sessions; build the cluster stack with ecsExec.',
      );
    }

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
      // Off unless ECS_EXEC is on: a shell in the container (root) can copy the gMSA's ticket. On, CDK grants the task
      // role the ssmmessages channel actions and the writes to the cluster's session log group (and its key).
      // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html
      enableExecuteCommand: props.ecsExec ?? false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.taskSecurityGroup],
      // With the Kerberos sidecar the app starts only once the sidecar holds its first ticket.
      healthCheckGracePeriod: Duration.seconds(props.task.kerberosSidecar ? SIDECAR_HEALTH_CHECK_GRACE_SECONDS : 60),
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

    const httpListener = this.loadBalancer.addListener('Http', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      // With a certificate, port 80 only sends browsers to HTTPS (301), keeping path and query.
      ...(https
        ? { defaultAction: elbv2.ListenerAction.redirect({ protocol: 'HTTPS', port: '443', permanent: true }) }
        : {}),
    });
    const listener = https
      ? this.loadBalancer.addListener('Https', {
          port: 443,
          protocol: elbv2.ApplicationProtocol.HTTPS,
          certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn!)],
          sslPolicy: HTTPS_SSL_POLICY,
          open: false,
        })
      : httpListener;
    if (!https) {
      acknowledgeGuardRule(
        httpListener,
        'ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK',
        'No certificate given: plain HTTP on port 80 serves a page without secrets. Set CERTIFICATE_ARN for HTTPS and a redirect.',
      );
    }
    this.url = `${https ? 'https' : 'http'}://${this.loadBalancer.loadBalancerDnsName}`;
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

/**
 * The bucket of the load balancer's access logs: SSE-S3 (the only encryption log delivery supports), no public access,
 * TLS only, objects expire after 90 days, emptied and deleted with the stack.
 *
 * Who may write depends on the region, which these environment-agnostic stacks learn only at deploy time: regions
 * that opened before August 2022 deliver from a regional Elastic Load Balancing account, later ones from the service
 * principal `logdelivery.elasticloadbalancing.amazonaws.com`. The policy grants the service principal always, and the
 * regional account (from a map of the regions aws-cdk-lib knows, with a condition) where there is one. aws-cdk-lib's
 * own `logAccessLogs` refuses a stack without a region, which is why it is not used.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
 */
function accessLogsBucket(scope: Construct): s3.Bucket {
  const bucket = logDestinationBucket(scope, 'AccessLogs');
  const logObjects = bucket.arnForObjects(`${ACCESS_LOGS_PREFIX}/AWSLogs/${Aws.ACCOUNT_ID}/*`);
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'LogDeliveryServicePrincipal',
      principals: [new iam.ServicePrincipal('logdelivery.elasticloadbalancing.amazonaws.com')],
      actions: ['s3:PutObject'],
      resources: [logObjects],
    }),
  );

  const none = 'none';
  const accounts = new CfnMapping(scope, 'ElbLogDeliveryAccounts', {
    mapping: Object.fromEntries(
      RegionInfo.regions.map((region) => [region.name, { account: region.elbv2Account ?? none }]),
    ),
  });
  const account = accounts.findInMap(Aws.REGION, 'account');
  const hasAccount = new CfnCondition(scope, 'ElbLogDeliveryAccountInRegion', {
    expression: Fn.conditionNot(Fn.conditionEquals(account, none)),
  });
  const regionalStatement = {
    Sid: 'LogDeliveryRegionalAccount',
    Effect: 'Allow',
    Principal: { AWS: Fn.sub('arn:${AWS::Partition}:iam::${Account}:root', { Account: account }) },
    Action: 's3:PutObject',
    Resource: logObjects,
  };
  // The statement list as CDK renders it, plus the regional statement where the condition holds (AWS::NoValue drops
  // the element elsewhere): PolicyStatement has no place for a condition of CloudFormation.
  const policy = bucket.policy!;
  (policy.node.defaultChild as s3.CfnBucketPolicy).addPropertyOverride(
    'PolicyDocument.Statement',
    Lazy.any({
      produce: () => [
        ...(Stack.of(scope).resolve(policy.document) as { Statement: unknown[] }).Statement,
        Fn.conditionIf(hasAccount.logicalId, regionalStatement, Aws.NO_VALUE),
      ],
    }),
  );

  // It is the log destination: logging its own access would need yet another bucket.
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'The bucket receives the load balancer access logs; logging its own access would need yet another bucket.',
  });
  acknowledgeGuardRules(bucket, {
    S3_BUCKET_LOGGING_ENABLED_CHECK:
      'The bucket receives the load balancer access logs; logging its own access would need yet another bucket.',
    S3_BUCKET_DEFAULT_ENCRYPTION_KMS_CHECK:
      'Load balancer access log delivery supports only SSE-S3 encryption on the destination bucket.',
    S3_BUCKET_OBJECT_LOCK_ENABLED_CHECK:
      'A sample people deploy and destroy: object lock would keep cdk destroy from deleting the logs and the bucket.',
    S3_EVENT_NOTIFICATIONS_ENABLED_CHECK: 'Nothing consumes events of the access logs; they are read on demand.',
  });
  return bucket;
}
