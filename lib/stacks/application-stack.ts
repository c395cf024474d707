import { CfnOutput, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { GmsaTaskDefinition } from '../constructs/gmsa-task-definition';
import { GmsaWebAppService, WebAppCapacity } from '../constructs/gmsa-web-app-service';
import { WebAppImage } from '../constructs/web-app-image';
import { DirectoryReference } from '../directory-reference';
import { AppMode } from '../settings';
import { ecsExecLogGroupNameFor } from './cluster-stack';

/** Props of {@link ApplicationStack}. */
export interface ApplicationStackProps extends StackProps {
  /** Prefix of the names people look up (the ECR repository). */
  readonly solutionId: string;
  /** The VPC of the directory stack. */
  readonly vpc: ec2.IVpc;
  /** The directory. */
  readonly directory: DirectoryReference;
  /** The cluster. */
  readonly cluster: ecs.ICluster;
  /** The EC2 capacity provider; absent with `FARGATE`. */
  readonly capacityProvider?: ecs.AsgCapacityProvider;
  /**
   * How many awsvpc tasks the container instances hold at their maximum count (the cluster stack's `ec2TaskSlots`);
   * the service's task counts stay within it. Absent with `FARGATE`.
   */
  readonly ec2TaskSlots?: number;
  /**
   * Security group of the container instances; absent with `FARGATE`. Not used for the web app's traffic: its tasks
   * run in `awsvpc` mode behind their own security group.
   */
  readonly instanceSecurityGroup?: ec2.ISecurityGroup;
  /**
   * The deployment mode: Fargate or EC2; a gMSA (domainless or domain-joined, CredSpec from S3 or SSM) or the Kerberos
   * sidecar (no CredSpec; the task role reads the identity secret).
   */
  readonly mode: AppMode;
  /** The CredSpec parameter. */
  readonly credSpecParameter: ssm.IStringParameter;
  /** The CredSpec bucket. */
  readonly credSpecBucket: s3.IBucket;
  /** Key of the CredSpec object. */
  readonly credSpecObjectKey: string;
  /**
   * The app's AD identity: the execution role reads it in domainless gMSA mode; in sidecar mode the sidecar reads it
   * with the task role.
   */
  readonly identitySecret: secretsmanager.ISecret;
  /** SQL Server's security group: the tasks get 1433 to it. */
  readonly databaseSecurityGroup: ec2.ISecurityGroup;
  /** `<db-instance-id>.<directory name>`, the server name of the connection string. */
  readonly kerberosHostName: string;
  /** The RDS endpoint's host name: the name the app verifies SQL Server's TLS certificate against. */
  readonly sqlServerEndpoint: string;
  /** The only source the load balancer admits. @default - open to the internet on port 80 */
  readonly albIngressCidr?: string;
  /**
   * ECS Exec into the web app's tasks; the cluster must have its `executeCommandConfiguration` (the cluster stack's
   * `ecsExec`). @default false
   */
  readonly ecsExec?: boolean;
  /** An existing image instead of building `web-app/`. @default - built from `web-app/` by `cdk deploy` */
  readonly appImage?: string;
  /** ACM certificate for HTTPS on 443 (port 80 then redirects). @default - HTTP only */
  readonly certificateArn?: string;
}

/** The web app: task definition (with `credentialSpecs`, or with the Kerberos sidecar), service and load balancer. */
export class ApplicationStack extends Stack {
  /** The web app's task definition, roles and log group. */
  public readonly task: GmsaTaskDefinition;
  /** The service and its load balancer. */
  public readonly webApp: GmsaWebAppService;
  /** The image and the `<SOLUTION_ID>/web-site` repository. */
  public readonly image: WebAppImage;

  constructor(scope: Construct, id: string, props: ApplicationStackProps) {
    super(scope, id, props);

    this.image = new WebAppImage(this, 'Image', {
      repositoryName: `${props.solutionId}/web-site`,
      appImage: props.appImage,
    });

    const mode = props.mode;
    this.task = new GmsaTaskDefinition(this, 'TaskDefinition', {
      fargate: mode.fargate,
      ...(mode.ticketSource === 'sidecar'
        ? { gmsa: { kind: 'kerberos-sidecar', identitySecret: props.identitySecret } }
        : {
            gmsa: mode.domainJoinEcs
              ? { kind: 'domain-joined' }
              : { kind: 'domainless', identitySecret: props.identitySecret },
            credSpec: mode.credSpecFromS3
              ? { kind: 's3', bucket: props.credSpecBucket, objectKey: props.credSpecObjectKey }
              : { kind: 'ssm', parameter: props.credSpecParameter },
          }),
      image: this.image.image,
      sqlServerHostName: props.kerberosHostName,
      sqlServerCertificateHostName: props.sqlServerEndpoint,
      ecsExec: props.ecsExec,
    });

    this.webApp = new GmsaWebAppService(this, 'WebApp', {
      vpc: props.vpc,
      cluster: props.cluster,
      capacity: mode.fargate ? { kind: 'fargate' } : ec2Capacity(props),
      task: this.task,
      ingressCidr: props.albIngressCidr,
      certificateArn: props.certificateArn,
      ecsExec: props.ecsExec,
    });

    // The rule lands in THIS stack (the peer is in the database stack, which deploys first and must not depend on
    // this one): SQL Server admits 1433 from the tasks' security group.
    this.webApp.taskSecurityGroup.connections.allowTo(
      props.databaseSecurityGroup,
      ec2.Port.tcp(1433),
      'SQL Server from the web app tasks',
    );

    // cdk-nag (AwsSolutions) findings this sample accepts, each with its reason in the template's metadata.
    Validations.of(this.task.executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken (added by CDK for the image pull) has no resource-level permissions.',
    });
    if (props.ecsExec) {
      Validations.of(this.task.taskRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ECS Exec (ECS_EXEC=1): the ssmmessages channel actions and logs:DescribeLogGroups have no resource-level permissions.',
      });
      Validations.of(this.task.taskRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${ecsExecLogGroupNameFor(props.solutionId)}:*]`,
        reason:
          'ECS Exec (ECS_EXEC=1): the SSM agent writes one log stream per session, named at run time, in this one session log group.',
      });
    }
    Validations.of(this.task.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds no secret: a connection string with Integrated Security (no password) and a file path.',
    });

    new CfnOutput(this, 'ServiceURL', {
      // https:// with CERTIFICATE_ARN: the browser then wants a name of the certificate (a DNS record to this name).
      value: this.webApp.url,
      description: 'The web app: open it in a browser; it shows KERBEROS when Windows authentication works',
    });
    new CfnOutput(this, 'ECRRepositoryURI', {
      value: this.image.repository.repositoryUri,
      description: 'Push your own image here and deploy with APP_IMAGE=<this URI>:<tag>',
    });
    new CfnOutput(this, 'ServiceName', {
      value: this.webApp.service.serviceName,
      description: 'ECS service of the web app',
    });
    new CfnOutput(this, 'LogGroupName', {
      value: this.task.logGroup.logGroupName,
      description: 'Logs of the web app containers',
    });
  }
}

function ec2Capacity(props: ApplicationStackProps): WebAppCapacity {
  if (props.capacityProvider === undefined || props.ec2TaskSlots === undefined) {
    throw new Error(
      "Missing capacityProvider or ec2TaskSlots: the application stack runs on EC2 (FARGATE is off) and needs the cluster stack's capacity provider and task slots.",
    );
  }
  return { kind: 'ec2', capacityProvider: props.capacityProvider, taskSlots: props.ec2TaskSlots };
}
