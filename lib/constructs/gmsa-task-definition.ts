import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { acknowledgeGuardRule } from '../guard-acknowledgements';
import { KerberosSidecarContainer } from './kerberos-sidecar-container';

/** Port the web app listens on (`ASPNETCORE_HTTP_PORTS` in `web-app/Dockerfile`). */
export const WEB_APP_PORT = 8080;

/** Liveness endpoint of the web app: 200 whenever the process serves requests, never touches the database. */
export const HEALTH_CHECK_PATH = '/healthz';

/**
 * Where the ECS agent (EC2) or Fargate mounts the Kerberos ticket cache that credentials-fetcher keeps for the gMSA.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linux-gmsa.html
 */
export const KERBEROS_TICKET_CACHE = '/var/credentials-fetcher/krbdir/krb5cc';

/**
 * UID of the non-root user of Microsoft's .NET 8+ images (`app`, also `$APP_UID`).
 * https://learn.microsoft.com/dotnet/core/docker/container-images#non-root-user (".NET 8 non-root user")
 */
export const DOTNET_APP_UID = 1654;

/**
 * Which user the web app's process runs as.
 *
 * The Kerberos ticket cache the container reads is written by credentials-fetcher on the host (EC2) or by Fargate,
 * and is mounted into the container owned by `root:root` with mode 0600 (aws/credentials-fetcher issues 68 and 233),
 * so a non-root process can read it only once the host grants that UID (or a group of it) read access. On Fargate the
 * mount is not ours to change: AWS Support calls it a platform limitation.
 */
export type AppUser =
  /** root, with the reason this mode needs it (written next to the Control Tower acknowledgement). */
  | { readonly kind: 'root'; readonly reason: string }
  /** The image's non-root user; only where the host makes the ticket cache readable to exactly this UID or its group. */
  | { readonly kind: 'non-root'; readonly uid: number };

/**
 * Whether the EC2 container instances make the gMSA ticket cache readable to {@link DOTNET_APP_UID} (and to nobody
 * else but root). On: credentials-fetcher writes it `root:root 0600`, and the hosts' gmsa-ticket-read.service
 * (scripts/ecs-host/grant-ticket-read.sh) gives group 1654 read access after every write, so the EC2 modes run the app
 * as UID 1654 (docs/security.md, "Running as non-root").
 */
export const EC2_HOSTS_GRANT_TICKET_READ = true;

/**
 * The user of each platform. EC2: the image's non-root user once the hosts grant it read access to the ticket cache
 * ({@link EC2_HOSTS_GRANT_TICKET_READ}), root until then. Fargate: root for good, unless AWS changes the mount.
 */
export function appUserFor(fargate: boolean, ec2HostsGrantTicketRead = EC2_HOSTS_GRANT_TICKET_READ): AppUser {
  if (!fargate && ec2HostsGrantTicketRead) return { kind: 'non-root', uid: DOTNET_APP_UID };
  return fargate
    ? {
        kind: 'root',
        reason:
          'Fargate mounts the gMSA ticket cache root:root 0600 and offers no way to change it (aws/credentials-fetcher ' +
          'issues 68 and 233; AWS Support: a platform limitation), so only root can read it.',
      }
    : {
        kind: 'root',
        reason:
          'credentials-fetcher writes the gMSA ticket cache root:root 0600 on the container instance, so only root ' +
          'can read it (aws/credentials-fetcher issues 68 and 233); non-root (UID 1654) waits for the host to grant read access.',
      };
}

/**
 * Writable paths of the app container, each a small volume of its own under a read-only root filesystem: /tmp for
 * .NET (its diagnostics sockets and any temporary file).
 */
export const WRITABLE_PATHS: Readonly<Record<string, string>> = {
  tmp: '/tmp',
};

/**
 * The two directories the SSM agent of ECS Exec writes, volumes only when ECS Exec is on (without them the agent exits
 * at once in a read-only container: aws/containers-roadmap issue 1359).
 */
export const ECS_EXEC_WRITABLE_PATHS: Readonly<Record<string, string>> = {
  'ssm-state': '/var/lib/amazon/ssm',
  'ssm-logs': '/var/log/amazon/ssm',
};

/**
 * The web app's connection string. `Server=` is the Kerberos name (the SPN's host), and the TLS certificate is verified
 * against the RDS endpoint's name, the name RDS puts in the certificate: `Encrypt=Mandatory` (not `Strict`, which needs
 * TDS 8 and SQL Server 2022, while the app supports 2016 to 2022) with `TrustServerCertificate=false` makes SqlClient
 * check the chain against the image's trust store (which holds the RDS CA bundle) and the name against
 * `HostNameInCertificate` (SqlClient 5.0+; ignored unless Encrypt is Mandatory or Strict).
 * https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnectionstringbuilder.hostnameincertificate
 */
export function chinookConnectionString(kerberosHostName: string, certificateHostName: string): string {
  return (
    `Server=${kerberosHostName};Database=Chinook;Integrated Security=true;` +
    `Encrypt=Mandatory;TrustServerCertificate=false;HostNameInCertificate=${certificateHostName}`
  );
}

/** Where the task definition reads the CredSpec from: the object or the parameter the bastion writes. */
export type CredSpecLocation =
  | { readonly kind: 's3'; readonly bucket: s3.IBucket; readonly objectKey: string }
  | { readonly kind: 'ssm'; readonly parameter: ssm.IStringParameter };

/** How the gMSA's Kerberos ticket is obtained. */
export type GmsaMode =
  /** credentials-fetcher logs in with the identity secret's user (`credentialspecdomainless:`). */
  | { readonly kind: 'domainless'; readonly identitySecret: secretsmanager.ISecret }
  /** The container instance is joined to the directory and uses its own computer account (`credentialspec:`). */
  | { readonly kind: 'domain-joined' }
  /**
   * No gMSA: a Kerberos sidecar in the task signs in as the AD user of `identitySecret` (TICKET_SOURCE=sidecar,
   * docs/sidecar.md). No `credentialSpecs`, no CredSpec; the app runs as {@link DOTNET_APP_UID}.
   */
  | { readonly kind: 'kerberos-sidecar'; readonly identitySecret: secretsmanager.ISecret };

/** Props of {@link GmsaTaskDefinition}. */
export interface GmsaTaskDefinitionProps {
  /** Run on Fargate (domainless, CredSpec in S3 only) instead of EC2 container instances with credentials-fetcher. */
  readonly fargate: boolean;
  /** Domainless or domain-joined gMSA. */
  readonly gmsa: GmsaMode;
  /** The CredSpec the bastion wrote; required with a gMSA, refused with the Kerberos sidecar. */
  readonly credSpec?: CredSpecLocation;
  /** The web app's image. */
  readonly image: ecs.ContainerImage;
  /**
   * Server name of the connection string: `<db-instance-id>.<directory DNS name>`, the name SQL Server's SPN is
   * registered under. Never the RDS endpoint.
   */
  readonly sqlServerHostName: string;
  /**
   * The RDS endpoint's host name, the name in SQL Server's TLS certificate: the app verifies the certificate against
   * it (`HostNameInCertificate`). A plain environment value, not a secret.
   */
  readonly sqlServerCertificateHostName: string;
  /**
   * Whether ECS Exec may open a shell in the container: the SSM agent's writable paths and, from the service, the task
   * role's channel permissions. Off, the task role holds nothing for it.
   * @default false
   */
  readonly ecsExec?: boolean;
  /**
   * The user the app's process runs as; a root user is acknowledged in the template with its reason.
   * @default appUserFor(fargate): root, until the host grants the image's UID read access to the ticket cache
   */
  readonly user?: AppUser;
  /**
   * Retention of the container log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Task definition of the web app with `credentialSpecs`, the execution role that can read exactly the CredSpec
 * (and in domainless mode the identity secret), a task role (ECS Exec only when it is on), and a log group destroyed
 * with the stack.
 *
 * Network mode is `awsvpc` on EC2 as on Fargate: each task gets its own network interface and security group, so the
 * rules "load balancer → tasks on 8080" and "tasks → SQL Server on 1433" name the tasks and nothing else, and one
 * load-balancer target type (IP) serves both launch types. The cost on EC2 is ENI density: a t3.medium holds two
 * awsvpc tasks (three ENIs, one of them the instance's own), so the cluster needs enough instances for the tasks.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-networking.html
 */
export class GmsaTaskDefinition extends Construct {
  /** The task definition. */
  public readonly taskDefinition: ecs.TaskDefinition;
  /** The web app's container. */
  public readonly container: ecs.ContainerDefinition;
  /** Role the ECS agent uses to pull the image, write logs and read the CredSpec (and identity secret). */
  public readonly executionRole: iam.Role;
  /** Role of the running task: nothing by default; the ECS Exec channel and session log with ECS Exec on. */
  public readonly taskRole: iam.Role;
  /** Log group of the container. */
  public readonly logGroup: logs.LogGroup;
  /** The exact `credentialSpecs` entry; absent with the Kerberos sidecar. */
  public readonly credentialSpec?: ecs.CredentialSpec;
  /** The Kerberos sidecar container; only with `gmsa.kind === 'kerberos-sidecar'`. */
  public readonly kerberosSidecar?: KerberosSidecarContainer;

  constructor(scope: Construct, id: string, props: GmsaTaskDefinitionProps) {
    super(scope, id);
    validate(props);

    // Both roles are assumed by ECS tasks; neither gets a managed policy. CDK adds the image pull (ECR asset) and log
    // permissions to the execution role itself, scoped to the repository and the log group, which is what the
    // AmazonECSTaskExecutionRolePolicy managed policy grants on "*".
    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'ECS agent: pull the web app image, write its logs, read the CredSpec',
    });
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description:
        props.gmsa.kind === 'kerberos-sidecar'
          ? 'The web app task: the Kerberos sidecar reads its identity secret; ECS Exec only when it is on'
          : 'The web app task: nothing unless ECS Exec is on',
    });

    this.taskDefinition = props.fargate
      ? new ecs.FargateTaskDefinition(this, 'Fargate', {
          cpu: 512,
          memoryLimitMiB: 1024,
          // gMSA on Fargate: Linux on x86_64 only. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-linux-gmsa.html
          runtimePlatform: {
            operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
            cpuArchitecture: ecs.CpuArchitecture.X86_64,
          },
          executionRole: this.executionRole,
          taskRole: this.taskRole,
        })
      : new ecs.Ec2TaskDefinition(this, 'Ec2', {
          networkMode: ecs.NetworkMode.AWS_VPC,
          executionRole: this.executionRole,
          taskRole: this.taskRole,
        });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.credentialSpec = credentialSpecOf(props);
    // The sidecar writes the cache for the app's UID: the app runs as that non-root user on EC2 and Fargate alike.
    const sidecar = props.gmsa.kind === 'kerberos-sidecar';
    const user: AppUser =
      props.user ?? (sidecar ? { kind: 'non-root', uid: DOTNET_APP_UID } : appUserFor(props.fargate));

    this.container = this.taskDefinition.addContainer('web', {
      image: props.image,
      essential: true,
      // EC2 has no task-level size in awsvpc mode unless given; the container's limits place it. On Fargate the hard
      // limit is the task's memory: a runaway process is stopped by the container's limit, not by the platform.
      // With the sidecar on Fargate, the task's 1024 MiB also holds the sidecar's limit (64 MiB).
      ...(props.fargate ? { memoryLimitMiB: sidecar ? 960 : 1024 } : { cpu: 256, memoryLimitMiB: 512 }),
      portMappings: [{ containerPort: WEB_APP_PORT, protocol: ecs.Protocol.TCP }],
      credentialSpecs: this.credentialSpec ? [this.credentialSpec] : undefined,
      environment: {
        // The AD name of the instance, never the RDS endpoint: SQL Server's SPN is registered for
        // `<db-instance-id>.<directory DNS name>` only. With the endpoint name the driver finds no SPN, falls back to
        // NTLM, and NTLM fails from a Linux container that holds nothing but a Kerberos ticket.
        // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_SQLServerWinAuth.html
        // The certificate is verified against the RDS endpoint's name (chinookConnectionString).
        ConnectionStrings__Chinook: chinookConnectionString(
          props.sqlServerHostName,
          props.sqlServerCertificateHostName,
        ),
        // SqlClient (GSSAPI) finds the gMSA's ticket through the standard Kerberos variable (the sidecar sets its own).
        ...(sidecar ? {} : { KRB5CCNAME: KERBEROS_TICKET_CACHE }),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'web' }),
      // The aspnet runtime image has bash but neither curl nor wget: bash's /dev/tcp sends the request and the status
      // line must say 200. CMD (not CMD-SHELL) because /bin/sh on the image is dash, which has no /dev/tcp.
      healthCheck: {
        command: ['CMD', 'bash', '-c', healthCheckScript()],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
      // An init process reaps the processes ECS Exec's SSM agent (when it is on) or anything else leaves behind.
      // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html
      linuxParameters: new ecs.LinuxParameters(this, 'LinuxParameters', { initProcessEnabled: true }),
      // Nothing in the image changes at run time; the few paths that must be written are volumes (WRITABLE_PATHS).
      readonlyRootFilesystem: true,
      // The image's USER is root (web-app/Dockerfile); the task definition says which user runs, per mode.
      user: user.kind === 'non-root' ? String(user.uid) : undefined,
    });
    // A volume without a host path: on EC2 a Docker volume of the task, on Fargate the task's ephemeral storage; both
    // are empty at start and removed with the task. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html
    const writablePaths = { ...WRITABLE_PATHS, ...(props.ecsExec ? ECS_EXEC_WRITABLE_PATHS : {}) };
    for (const [name, containerPath] of Object.entries(writablePaths)) {
      this.taskDefinition.addVolume({ name });
      this.container.addMountPoints({ sourceVolume: name, containerPath, readOnly: false });
    }
    if (user.kind === 'root') {
      acknowledgeGuardRule(this.taskDefinition, 'ECS_TASK_DEFINITION_NONROOT_USER_CHECK', user.reason);
    }

    if (props.gmsa.kind === 'kerberos-sidecar') {
      // Same log group (stream prefix kerberos-sidecar), task role reads the one secret; the app waits until HEALTHY.
      this.kerberosSidecar = new KerberosSidecarContainer(this, 'KerberosSidecar', {
        taskDefinition: this.taskDefinition,
        identitySecret: props.gmsa.identitySecret,
        logGroup: this.logGroup,
        appUid: user.kind === 'non-root' ? user.uid : DOTNET_APP_UID,
      });
      this.kerberosSidecar.attachTo(this.container);
      return;
    }
    this.grantCredSpecRead(props);
  }

  /**
   * `credentialSpecs` grants nothing by itself. The ECS agent (on the instance, or Fargate's) reads the CredSpec and,
   * in domainless mode, the identity secret with the task EXECUTION role's credentials.
   * https://github.com/aws/amazon-ecs-agent/blob/master/agent/taskresource/credentialspec/credentialspec_linux.go
   */
  private grantCredSpecRead(props: GmsaTaskDefinitionProps): void {
    const credSpec = props.credSpec;
    if (credSpec === undefined) return;
    if (credSpec.kind === 's3') {
      this.executionRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadCredSpecObject',
          actions: ['s3:GetObject'],
          resources: [credSpec.bucket.arnForObjects(credSpec.objectKey)],
        }),
      );
      // Before the download the agent finds the bucket's region with a signed HeadBucket (s3manager.GetBucketRegion,
      // agent/s3/factory/factory.go), which S3 authorizes as s3:ListBucket on the bucket. A 403 still carries the
      // x-amz-bucket-region header the agent reads, but granting it keeps the answer a 200. The agent never calls
      // GetBucketLocation, so s3:GetBucketLocation is not granted.
      this.executionRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'LocateCredSpecBucket',
          actions: ['s3:ListBucket'],
          resources: [credSpec.bucket.bucketArn],
        }),
      );
      // The bucket is encrypted with SSE-S3: no KMS permission to add.
    } else {
      // The agent reads the parameter with GetParameters (agent/ssm, GetSecretsFromSSM).
      this.executionRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadCredSpecParameter',
          actions: ['ssm:GetParameters'],
          resources: [credSpec.parameter.parameterArn],
        }),
      );
    }
    if (props.gmsa.kind === 'domainless') {
      // The CredSpec's HostAccountConfig names this secret; the agent reads it at task start and at each renewal.
      this.executionRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadDomainlessIdentity',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [props.gmsa.identitySecret.secretArn],
        }),
      );
      // A customer-managed key would also need kms:Decrypt; the identity secret uses the AWS managed key.
      props.gmsa.identitySecret.encryptionKey?.grantDecrypt(this.executionRole);
    }
  }
}

/** The `credentialSpecs` entry for the mode: prefix by domainless/domain-joined, ARN of the object or parameter. */
function credentialSpecOf(props: GmsaTaskDefinitionProps): ecs.CredentialSpec | undefined {
  const credSpec = props.credSpec;
  if (credSpec === undefined || props.gmsa.kind === 'kerberos-sidecar') return undefined;
  if (props.gmsa.kind === 'domainless') {
    return credSpec.kind === 's3'
      ? ecs.DomainlessCredentialSpec.fromS3Bucket(credSpec.bucket, credSpec.objectKey)
      : ecs.DomainlessCredentialSpec.fromSsmParameter(credSpec.parameter);
  }
  return credSpec.kind === 's3'
    ? ecs.DomainJoinedCredentialSpec.fromS3Bucket(credSpec.bucket, credSpec.objectKey)
    : ecs.DomainJoinedCredentialSpec.fromSsmParameter(credSpec.parameter);
}

/** A GET of the health endpoint with nothing but bash: exit 0 only on an HTTP 200 status line. */
function healthCheckScript(): string {
  return (
    `exec 3<>/dev/tcp/127.0.0.1/${WEB_APP_PORT}` +
    ` && printf 'GET ${HEALTH_CHECK_PATH} HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3` +
    " && head -n 1 <&3 | grep -q ' 200 '"
  );
}

/** Fargate runs gMSA only domainless with the CredSpec in S3, and never as a non-root user (see {@link AppUser}). */
function validate(props: GmsaTaskDefinitionProps): void {
  if (props.user?.kind === 'non-root' && !(Number.isInteger(props.user.uid) && props.user.uid > 0)) {
    throw new Error(
      `Invalid app user UID ${props.user.uid}: a non-root user has a positive whole UID, e.g. ${DOTNET_APP_UID}.`,
    );
  }
  if (props.gmsa.kind === 'kerberos-sidecar') {
    if (props.credSpec !== undefined) {
      throw new Error('Invalid CredSpec with the Kerberos sidecar: the task has no credentialSpecs; pass no credSpec.');
    }
    if (props.user?.kind === 'root') {
      throw new Error('Invalid app user with the Kerberos sidecar: the sidecar writes the cache for a non-root UID.');
    }
    return;
  }
  if (props.credSpec === undefined) {
    throw new Error(`Missing CredSpec for ${props.gmsa.kind} gMSA: pass the S3 object or the SSM parameter.`);
  }
  if (!props.fargate) return;
  if (props.user?.kind === 'non-root') {
    throw new Error(
      'Invalid app user for Fargate: Fargate mounts the ticket cache readable by root only; leave the user at root.',
    );
  }
  if (props.gmsa.kind !== 'domainless') {
    throw new Error(
      'Invalid gMSA mode for Fargate: Fargate supports only domainless gMSA; use the domainless identity or EC2.',
    );
  }
  if (props.credSpec?.kind !== 's3') {
    throw new Error(
      'Invalid CredSpec location for Fargate: Fargate reads the CredSpec only from S3; pass the S3 object.',
    );
  }
}
