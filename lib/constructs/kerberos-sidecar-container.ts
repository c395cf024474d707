import * as path from 'path';
import { Duration } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** The sidecar's sources (Dockerfile, script, krb5.conf), built into an image by `cdk deploy`. */
export const KERBEROS_SIDECAR_DIRECTORY = path.join(__dirname, '..', '..', 'kerberos-sidecar');

/** UID and GID of the .NET images' non-root `app` user: the web app's user, and the sidecar's. */
export const APP_UID = 1654;

/** Where both containers mount the shared volume (the sidecar image's `VOLUME`, owned by {@link APP_UID}, 0700). */
export const SIDECAR_CACHE_DIRECTORY = '/var/kerberos';

/** The ticket cache the sidecar writes and the web app reads (`KRB5CCNAME=FILE:...`). */
export const SIDECAR_TICKET_CACHE = `${SIDECAR_CACHE_DIRECTORY}/krb5cc`;

/**
 * How long the service's load balancer health checks wait for a new task with the sidecar: the first ticket may take
 * the script's full retry budget (5 attempts, each a secret read and a kinit of at most 15 s, with 2 + 4 + 8 + 16 s
 * between them: about 3 minutes), then up to one health-check interval (30 s) until the sidecar is HEALTHY and the app
 * container starts, then the app's own start (30 s). Without it a slow first ticket looks like a failing app.
 */
export const SIDECAR_HEALTH_CHECK_GRACE_SECONDS = 240;

/** Props of {@link KerberosSidecarContainer}. */
export interface KerberosSidecarContainerProps {
  /** The web app's task definition (Fargate, or EC2 in `awsvpc` mode); the sidecar joins it as a second container. */
  readonly taskDefinition: ecs.TaskDefinition;
  /**
   * The AD user's secret, `{"username", "password", "domainName"}` (the domainless identity's shape, so the same
   * rotation function rotates it). The sidecar reads it with the TASK role at every renewal, which is how a rotated
   * password reaches it without a new task.
   */
  readonly identitySecret: secretsmanager.ISecret;
  /** The task's log group: the sidecar logs there under the stream prefix `kerberos-sidecar`. */
  readonly logGroup: logs.ILogGroup;
  /**
   * UID (and GID) of the app container's user: the sidecar runs as this user and the cache is owned by it, mode 0600.
   * @default APP_UID (1654)
   */
  readonly appUid?: number;
  /**
   * Name of the task volume that carries the cache from the sidecar to the app.
   * @default 'kerberos-ticket-cache'
   */
  readonly volumeName?: string;
  /**
   * The sidecar's image.
   * @default - built from `kerberos-sidecar/` by the CDK toolkit during `cdk deploy` (linux/amd64)
   */
  readonly image?: ecs.ContainerImage;
}

/**
 * The Kerberos sidecar of the "no gMSA" mode: a second, essential container in the web app's task that runs `kinit`
 * as an ordinary AD user, renews the ticket at half its life, and writes the cache atomically to a task volume, owned
 * by the app's UID with mode 0600. Unlike credentials-fetcher's cache (root:root 0600, aws/credentials-fetcher issues
 * #68 and #233), a non-root app can read it, on EC2 and on Fargate alike; no CredSpec and no credentials-fetcher are
 * involved. Pattern: "Using Windows Authentication with Linux Containers on Amazon ECS" (AWS Containers blog).
 *
 * {@link attachTo} wires the app container: the volume read-only, `KRB5CCNAME`, and a start that waits for the
 * sidecar to be HEALTHY (a cache with a ticket that does not end within 10 minutes).
 */
export class KerberosSidecarContainer extends Construct {
  /** The sidecar's container definition. */
  public readonly container: ecs.ContainerDefinition;
  /** Name of the shared task volume. */
  public readonly volumeName: string;
  /** The value of the app's `KRB5CCNAME`. */
  public readonly krb5ccname = `FILE:${SIDECAR_TICKET_CACHE}`;
  private readonly appUid: number;

  constructor(scope: Construct, id: string, props: KerberosSidecarContainerProps) {
    super(scope, id);
    this.appUid = props.appUid ?? APP_UID;
    validate(this.appUid);
    this.volumeName = props.volumeName ?? 'kerberos-ticket-cache';

    // A bind-mount volume without a host path: task storage on Fargate, Docker-managed on EC2; gone with the task.
    // ECS initializes it from the sidecar image's VOLUME directory, so it starts owned by the app's UID, mode 0700.
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html
    props.taskDefinition.addVolume({ name: this.volumeName });

    const linuxParameters = new ecs.LinuxParameters(this, 'LinuxParameters');
    // Neither root nor any capability: the script writes files it owns, in a directory it owns.
    linuxParameters.dropCapabilities(ecs.Capability.ALL);

    this.container = props.taskDefinition.addContainer('kerberos-sidecar', {
      image:
        props.image ??
        ecs.ContainerImage.fromAsset(KERBEROS_SIDECAR_DIRECTORY, {
          // The image's tools are tested on x86_64 Debian; the task definitions are x86_64 (see gmsa-task-definition).
          platform: Platform.LINUX_AMD64,
        }),
      essential: true,
      user: `${this.appUid}:${this.appUid}`,
      readonlyRootFilesystem: true,
      // kinit, curl and jq every few hours: a small share. On EC2 (awsvpc, no task size) the limits place it; on
      // Fargate they come out of the task's size.
      cpu: 32,
      memoryReservationMiB: 32,
      memoryLimitMiB: 64,
      linuxParameters,
      environment: {
        SECRET_SOURCE: `secretsmanager:${props.identitySecret.secretArn}`,
        TICKET_CACHE: SIDECAR_TICKET_CACHE,
        CACHE_UID: String(this.appUid),
        CACHE_GID: String(this.appUid),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: 'kerberos-sidecar' }),
      // Fails while the cache is missing or its ticket ends within 600 s (HEALTH_MIN_REMAINING_SECONDS). The app
      // starts only once this passes; later, an essential container that stays unhealthy makes ECS replace the task.
      healthCheck: {
        command: ['CMD', '/usr/local/bin/kerberos-sidecar', 'health'],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(10),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
    });
    this.container.addMountPoints({
      sourceVolume: this.volumeName,
      containerPath: SIDECAR_CACHE_DIRECTORY,
      readOnly: false,
    });

    this.grantSecretRead(props);
  }

  /**
   * Wires the app container to the cache: the shared volume read-only at {@link SIDECAR_CACHE_DIRECTORY},
   * `KRB5CCNAME`, and a start that waits for the sidecar to be HEALTHY. The app container itself must run as the same
   * UID (`user: '1654:1654'` where it is created): the cache is 0600.
   */
  public attachTo(app: ecs.ContainerDefinition): void {
    app.addMountPoints({ sourceVolume: this.volumeName, containerPath: SIDECAR_CACHE_DIRECTORY, readOnly: true });
    app.addEnvironment('KRB5CCNAME', this.krb5ccname);
    app.addContainerDependencies({ container: this.container, condition: ecs.ContainerDependencyCondition.HEALTHY });
  }

  /**
   * The sidecar calls GetSecretValue itself, with the TASK role's credentials (from the ECS container credentials
   * endpoint), at every renewal. Not DescribeSecret or any other action: the script needs nothing else.
   */
  private grantSecretRead(props: KerberosSidecarContainerProps): void {
    const secret = props.identitySecret;
    props.taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSidecarIdentity',
        actions: ['secretsmanager:GetSecretValue'],
        // A secret imported by name has a partial ARN: the six random characters Secrets Manager appends must match.
        resources: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
      }),
    );
    // A customer-managed key would also need kms:Decrypt; the AWS managed key needs nothing more.
    secret.encryptionKey?.grantDecrypt(props.taskDefinition.taskRole);
  }
}

/** The cache's owner must be a non-root user: the point of the sidecar is a non-root app. */
function validate(appUid: number): void {
  if (!Number.isInteger(appUid) || appUid < 1 || appUid > 2_147_483_646) {
    throw new Error(
      `Invalid appUid ${appUid}: expected the app container's non-root UID, a whole number from 1 (1654 for the .NET images' app user).`,
    );
  }
}
