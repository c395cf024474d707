import { CfnWaitConditionHandle, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { DirectoryReference } from '../directory-reference';

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
  /** Security group of the container instances; absent with `FARGATE`. */
  readonly instanceSecurityGroup?: ec2.ISecurityGroup;
  /** Run on Fargate. */
  readonly fargate: boolean;
  /** Domain-joined mode (`credentialspec:`) instead of domainless (`credentialspecdomainless:`). */
  readonly domainJoinEcs: boolean;
  /** Read the CredSpec from the S3 object instead of the SSM parameter. */
  readonly credSpecFromS3: boolean;
  /** The CredSpec parameter. */
  readonly credSpecParameter: ssm.IStringParameter;
  /** The CredSpec bucket. */
  readonly credSpecBucket: s3.IBucket;
  /** Key of the CredSpec object. */
  readonly credSpecObjectKey: string;
  /** The domainless identity; the execution role reads it in domainless mode. */
  readonly identitySecret: secretsmanager.ISecret;
  /** SQL Server's security group: the tasks get 1433 to it. */
  readonly databaseSecurityGroup: ec2.ISecurityGroup;
  /** `<db-instance-id>.<directory name>`, the server name of the connection string. */
  readonly kerberosHostName: string;
  /** The only source the load balancer admits. @default - open to the internet on port 80 */
  readonly albIngressCidr?: string;
  /** An existing image instead of building `web-app/`. @default - built from `web-app/` by `cdk deploy` */
  readonly appImage?: string;
}

/** The web app: task definition with `credentialSpecs`, service and load balancer. */
export class ApplicationStack extends Stack {
  constructor(scope: Construct, id: string, props: ApplicationStackProps) {
    super(scope, id, props);
    // Placeholder until the application issue lands.
    void props;
    new CfnWaitConditionHandle(this, 'Placeholder');
  }
}
