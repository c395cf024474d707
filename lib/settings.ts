import { SQL_SERVER_DEFAULT_VERSION } from './sql-server-version';

/**
 * The credentials-fetcher every EC2 container instance installs: 2.0.1, the version whose RPM (scriptlet, ecs.service
 * drop-in, startup-order helper) and known issue (aws/credentials-fetcher#218: tasks fail unless the instance role may
 * read the domainless secret, which this app grants) the host script and its tests model. AL2023 also carries 1.3.8,
 * 2.0.0, 2.0.2 and 2.0.3; see docs/container-hosts.md.
 */
export const CREDENTIALS_FETCHER_DEFAULT_VERSION = '2.0.1';

/** `VERSION` or `VERSION-RELEASE` as dnf takes it after the package name (`credentials-fetcher-2.0.1-1.amzn2023.0.5`). */
export const CREDENTIALS_FETCHER_VERSION_PATTERN = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z._]+)?$/;

/**
 * The validated, typed settings of the app. Only `bin/` builds one (from environment variables and CDK context);
 * everything under `lib/` receives it, or parts of it, as props.
 */
export interface Settings {
  /** Prefix of every name a person looks up: stacks, secrets, cluster, repository. */
  readonly solutionId: string;
  /** EC2 container instances join the directory (`credentialspec:`) instead of domainless mode (`credentialspecdomainless:`). */
  readonly domainJoinEcs: boolean;
  /** Run the application on Fargate; no EC2 container instances are created. */
  readonly fargate: boolean;
  /** The task definition reads the CredSpec from the S3 object instead of the SSM parameter. */
  readonly credSpecFromS3: boolean;
  /** Create the application stack. */
  readonly deployApp: boolean;
  /** Key pair for the Windows bastion; absent means no key pair (Systems Manager only). */
  readonly ec2InstanceKeyPairName?: string;
  /** The deployer's IPv4 CIDR (an address is stored as `/32`); absent means nothing may RDP in. */
  readonly mySgIngressCidr?: string;
  /** Number of NAT gateways of the VPC (1 or 2). */
  readonly natGateways: number;
  /** Instance class of the SQL Server instance, e.g. `t3.small`. */
  readonly dbInstanceType: string;
  /** SQL Server engine version: a major version (`16.00`, RDS picks the minor) or a full RDS version string. */
  readonly dbEngineVersion: string;
  /** The Windows bastion restarts instead of stopping once it has signalled. */
  readonly keepBastionRunning: boolean;
  /**
   * A Windows Server 2022 AMI id for the bastion; absent means the latest one when EC2 launches the instance, kept for
   * the instance's lifetime. Changing it replaces the bastion (docs/bastion.md).
   */
  readonly bastionAmiId?: string;
  /** Instance type of the ECS container instances, e.g. `t3.medium`. */
  readonly ecsInstanceType: string;
  /** Minimum number of ECS container instances. */
  readonly ecsMinCapacity: number;
  /** Maximum number of ECS container instances. */
  readonly ecsMaxCapacity: number;
  /** An existing container image for the web app instead of building `web-app/`; absent means build from source. */
  readonly appImage?: string;
  /** Days between automatic rotations of the domainless identity's password. */
  readonly identityRotationDays: number;
  /**
   * ACM certificate ARN (in the deployment's region) for HTTPS on the load balancer; port 80 then redirects to 443.
   * Absent means plain HTTP on port 80.
   */
  readonly certificateArn?: string;
  /** The credentials-fetcher version the EC2 container instances install (`credentials-fetcher-<version>`). */
  readonly credentialsFetcherVersion: string;
  /** An e-mail address the alarm topic subscribes (it confirms by mail); absent means no subscription. */
  readonly alarmEmail?: string;
  /**
   * ECS Exec into the web app's tasks (`aws ecs execute-command`), each session logged to the cluster stack's
   * KMS-encrypted log group `/aws/ecs/<SOLUTION_ID>/exec`. Off by default: a shell in the container runs as root and
   * can copy the gMSA's Kerberos ticket.
   */
  readonly ecsExec: boolean;
}

/** The defaults `bin/` applies when a setting is unset; tests build settings from them too. */
export const DEFAULT_SETTINGS: Settings = {
  solutionId: 'amazon-ecs-gmsa-linux',
  domainJoinEcs: false,
  fargate: false,
  credSpecFromS3: false,
  deployApp: false,
  natGateways: 1,
  dbInstanceType: 't3.small',
  dbEngineVersion: SQL_SERVER_DEFAULT_VERSION,
  keepBastionRunning: false,
  ecsInstanceType: 't3.medium',
  ecsMinCapacity: 1,
  ecsMaxCapacity: 2,
  identityRotationDays: 30,
  credentialsFetcherVersion: CREDENTIALS_FETCHER_DEFAULT_VERSION,
  ecsExec: false,
};
