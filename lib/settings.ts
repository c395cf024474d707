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
  /**
   * The deployer's IPv4 CIDR (an address is stored as `/32`): the only source the web app's load balancer admits (with
   * `deployApp`); absent means the load balancer is open to the internet. It has nothing to do with the bastion.
   */
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
  /**
   * The one IPv4 CIDR (an address is stored as `/32`) that may RDP (3389) to the Windows bastion, which then sits in a
   * public subnet with a public IP address; absent means a private subnet and no inbound rule at all (Session Manager
   * port forwarding, docs/bastion.md). Setting or unsetting it replaces the bastion.
   */
  readonly bastionRdpCidr?: string;
  /**
   * Maintenance: the bastion's role may read the AD admin, seamless-join, identity and SQL Server master secrets again
   * (its first run's access ends with that run). Turn it off again after (docs/bastion.md); never replaces the bastion.
   */
  readonly bastionMaintenance: boolean;
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
  // --- TICKET_SOURCE (docs/sidecar.md) ---
  /**
   * Who gets the app's Kerberos ticket: `credentials-fetcher` (a gMSA, through credentials-fetcher on the EC2 hosts or
   * Fargate's own) or `sidecar` (a Kerberos sidecar container in the task runs `kinit` as an ordinary AD user; no gMSA,
   * no CredSpec, plain ECS-optimized hosts). The stacks do not read this directly: {@link appModeOf} folds it with the
   * other mode switches into one {@link AppMode}.
   */
  readonly ticketSource: TicketSource;
  // --- end TICKET_SOURCE ---
  /**
   * ECS Exec into the web app's tasks (`aws ecs execute-command`), each session logged to the cluster stack's
   * KMS-encrypted log group `/aws/ecs/<SOLUTION_ID>/exec`. Off by default: a shell in the container runs as root and
   * can copy the gMSA's Kerberos ticket.
   */
  readonly ecsExec: boolean;
}

// --- TICKET_SOURCE (docs/sidecar.md) -----------------------------------------------------------------------------
/** The values of `TICKET_SOURCE`. */
export const TICKET_SOURCES = ['credentials-fetcher', 'sidecar'] as const;

/** Who gets the app's Kerberos ticket (see {@link Settings.ticketSource}). */
export type TicketSource = (typeof TICKET_SOURCES)[number];

/**
 * The deployment mode: the one value the stacks switch on, built once from the settings by {@link appModeOf}, so that
 * an impossible combination (a sidecar with domain-joined hosts, a CredSpec store in sidecar mode) cannot be written.
 */
export type AppMode =
  /** gMSA: credentials-fetcher (EC2) or Fargate gets the ticket; the task definition has `credentialSpecs`. */
  | {
      readonly ticketSource: 'credentials-fetcher';
      /** Run the app on Fargate (then domainless with the CredSpec in S3). */
      readonly fargate: boolean;
      /** EC2 hosts join the directory (`credentialspec:`) instead of domainless (`credentialspecdomainless:`). */
      readonly domainJoinEcs: boolean;
      /** The task definition reads the CredSpec from S3 instead of SSM. */
      readonly credSpecFromS3: boolean;
    }
  /** Kerberos sidecar: no gMSA, no CredSpec, no credentials-fetcher; the app runs as a non-root user. */
  | {
      readonly ticketSource: 'sidecar';
      /** Run the app on Fargate instead of plain ECS-optimized EC2 hosts. */
      readonly fargate: boolean;
    };

/** The mode of a settings object (bin/settings.ts has refused DOMAIN_JOIN_ECS with the sidecar already). */
export function appModeOf(settings: Settings): AppMode {
  if (settings.ticketSource === 'sidecar') {
    if (settings.domainJoinEcs) {
      throw new Error(
        'Invalid settings: TICKET_SOURCE=sidecar with DOMAIN_JOIN_ECS=1; the sidecar needs no joined host.',
      );
    }
    return { ticketSource: 'sidecar', fargate: settings.fargate };
  }
  return {
    ticketSource: 'credentials-fetcher',
    fargate: settings.fargate,
    domainJoinEcs: settings.domainJoinEcs,
    credSpecFromS3: settings.credSpecFromS3,
  };
}
// --- end TICKET_SOURCE -------------------------------------------------------------------------------------------

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
  bastionMaintenance: false,
  ecsInstanceType: 't3.medium',
  ecsMinCapacity: 1,
  ecsMaxCapacity: 2,
  identityRotationDays: 30,
  credentialsFetcherVersion: CREDENTIALS_FETCHER_DEFAULT_VERSION,
  ticketSource: 'credentials-fetcher',
  ecsExec: false,
};
