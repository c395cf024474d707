import * as fs from 'fs';
import * as path from 'path';
import { Annotations, CfnElement, Fn, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DomainJoinTag } from './domain-join';
import { DOTNET_APP_UID, EC2_HOSTS_GRANT_TICKET_READ } from './gmsa-task-definition';
import { ec2TaskSlots } from './gmsa-web-app-capacity';
import { LeaveDomainOnTermination } from './leave-domain-on-termination';
import { sessionManagerInstancePolicy } from './session-manager-instance-policy';

/** The host script, in this repository (checked with `bash -n` and shellcheck by the tests). */
export const HOST_SCRIPT_SOURCE = path.join(
  __dirname,
  '..',
  '..',
  'scripts',
  'ecs-host',
  'setup-credentials-fetcher-host.sh',
);

/** Where user data writes the host script on the instance, so people can read it there. */
export const HOST_SCRIPT_PATH = '/usr/local/sbin/setup-credentials-fetcher-host.sh';

/** The script that removes a terminating domain-joined host from AD (run by the lifecycle hook's automation). */
export const LEAVE_DOMAIN_SCRIPT_SOURCE = path.join(__dirname, '..', '..', 'scripts', 'ecs-host', 'leave-domain.sh');

/**
 * The service script that keeps the gMSA ticket caches readable by the non-root app's group (docs/security.md,
 * "Running as non-root"); user data writes it to {@link TICKET_READ_SCRIPT_PATH}, the host script runs it as a unit.
 */
export const TICKET_READ_SCRIPT_SOURCE = path.join(
  __dirname,
  '..',
  '..',
  'scripts',
  'ecs-host',
  'grant-ticket-read.sh',
);

/** Where user data writes the ticket-read script (the host script's TICKET_READ_SCRIPT). */
export const TICKET_READ_SCRIPT_PATH = '/usr/local/sbin/grant-ticket-read.sh';

/** Ends the heredoc that carries the script into user data; the script must not contain this line. */
const HEREDOC_END = 'GMSA_HOST_SCRIPT_END';

/** EC2 rejects user data above 16 KB (before base64). https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

/** The SSM document of the directory stack's domain-join association (DomainJoin in ./domain-join.ts). */
const DOMAIN_JOIN_DOCUMENT = 'AWS-JoinDirectoryServiceDomain';

/** Root volume size of the ECS-optimized AMI (GiB); room for the app image and the agent's cache. */
const ROOT_VOLUME_GIB = 30;

/** How the hosts' credentials-fetcher authenticates to Active Directory. */
export type HostDirectoryAccess = DomainlessHostAccess | DomainJoinedHostAccess;

/**
 * Kerberos sidecar mode (TICKET_SOURCE=sidecar): plain ECS-optimized hosts, no credentials-fetcher, no
 * `ECS_GMSA_SUPPORTED`, no secret; the task's own sidecar gets the ticket (docs/sidecar.md).
 */
export interface PlainHostAccess {
  /** Discriminator. */
  readonly mode: 'none';
}

/** What the hosts do for the tasks' Kerberos tickets: run credentials-fetcher (either way), or nothing. */
export type HostTicketAccess = HostDirectoryAccess | PlainHostAccess;

/**
 * User data of a plain host, after CDK's `ECS_CLUSTER` line: keep awsvpc tasks away from the instance metadata
 * service (the ECS agent allows it unless told otherwise; the instance role would otherwise be the task's). The
 * credentials-fetcher hosts' script writes the same line.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-agent-config.html (ECS_AWSVPC_BLOCK_IMDS)
 */
export const PLAIN_HOST_USER_DATA = ["echo 'ECS_AWSVPC_BLOCK_IMDS=true' >> /etc/ecs/ecs.config"];

/** Domainless: credentials-fetcher signs in with the AD user in a secret; the hosts stay out of the domain. */
export interface DomainlessHostAccess {
  /** Discriminator. */
  readonly mode: 'domainless';
  /**
   * `{username, password, domainName}`; credentials-fetcher reads it with the instance's credentials.
   * https://github.com/aws/credentials-fetcher/issues/218
   */
  readonly identitySecret: secretsmanager.ISecret;
}

/** Domain-joined: the hosts join the directory and their computer accounts may retrieve the gMSA's password. */
export interface DomainJoinedHostAccess {
  /** Discriminator. */
  readonly mode: 'domain-joined';
  /** The directory's DNS name, e.g. `directory.amazon-ecs-gmsa-linux.com`. */
  readonly domainName: string;
  /**
   * The domain controllers' IP addresses (the directory's DNS addresses): a new host waits until each of them lists it
   * in {@link gmsaPrincipalsGroup}, since credentials-fetcher's kinit may reach any of them.
   */
  readonly domainControllers: string[];
  /** The seamless-domain-join secret: SSM's join and the host's group membership step sign in with it. */
  readonly domainJoinSecret: secretsmanager.ISecret;
  /** The tag the directory stack's AWS-JoinDirectoryServiceDomain association targets. */
  readonly domainJoinTag: DomainJoinTag;
  /** The AD group whose members may retrieve the gMSA's password; each new host adds itself. */
  readonly gmsaPrincipalsGroup: string;
}

/** Props of {@link CredentialsFetcherHosts}. */
export interface CredentialsFetcherHostsProps {
  /** The VPC; the instances go into its private subnets. */
  readonly vpc: ec2.IVpc;
  /** The cluster the instances register with, through an ASG capacity provider. */
  readonly cluster: ecs.Cluster;
  /** How credentials-fetcher authenticates to Active Directory; `none`: plain hosts without it (sidecar mode). */
  readonly directoryAccess: HostTicketAccess;
  /**
   * The credentials-fetcher version every host installs (`credentials-fetcher-<version>` from the AL2023 repositories);
   * a host whose repositories lack it fails its setup and is replaced. Validated by `bin/settings.ts`.
   */
  readonly credentialsFetcherVersion: string;
  /**
   * Ships the hosts' logs to CloudWatch: user data writes the agent's installer and the host script runs it first.
   * @default - no CloudWatch agent; the logs stay on the hosts
   */
  readonly hostLogs?: HostLogShipping;
  /** Instance type, e.g. `t3.medium` (x86_64: the architecture credentials-fetcher documents). */
  readonly instanceType: string;
  /** Minimum number of instances. */
  readonly minCapacity: number;
  /** Maximum number of instances. */
  readonly maxCapacity: number;
  /**
   * Groups the instances join besides their own, e.g. the directory stack's SQL clients group, which SQL Server admits
   * on 1433 without this stack referencing the database stack.
   * @default - none
   */
  readonly additionalSecurityGroups?: ec2.ISecurityGroup[];
  /**
   * The group (GID) the hosts let read the gMSA ticket caches, besides root: the non-root app's. The hosts run
   * gmsa-ticket-read.service, which re-grants it after every write credentials-fetcher makes.
   * @default DOTNET_APP_UID (1654) while EC2_HOSTS_GRANT_TICKET_READ is on, else none (the caches stay root-only)
   */
  readonly ticketReaderGid?: number;
}

/**
 * ECS container instances that can run gMSA tasks: ECS-optimized Amazon Linux 2023 with credentials-fetcher, in an
 * Auto Scaling group registered as a capacity provider. User data runs `scripts/ecs-host/setup-credentials-fetcher-host.sh`,
 * and the ECS agent starts only after it has succeeded; a host on which it fails is marked unhealthy and replaced.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linux-gmsa.html
 */
export class CredentialsFetcherHosts extends Construct {
  /** The Auto Scaling group. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The capacity provider, registered with the cluster. */
  public readonly capacityProvider: ecs.AsgCapacityProvider;
  /** The instances' security group: no inbound rule; other stacks open what the tasks need. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The instance role. */
  public readonly role: iam.Role;
  /** The user data (the host script is appended last, so its exit status is the user data's). */
  public readonly userData: ec2.UserData;
  /** How many awsvpc tasks the group holds at its maximum size: (network interfaces - 1) per host. */
  public readonly awsvpcTaskSlots: number;
  /** Domain-joined only: removes a terminating host from AD (lifecycle hook, rule, runbook). */
  public readonly leaveDomain?: LeaveDomainOnTermination;

  constructor(scope: Construct, id: string, props: CredentialsFetcherHostsProps) {
    super(scope, id);
    const access = props.directoryAccess;
    if (
      !Number.isInteger(props.minCapacity) ||
      props.minCapacity < 0 ||
      props.maxCapacity < Math.max(1, props.minCapacity)
    ) {
      throw new Error(
        `Container instance capacity ${props.minCapacity}..${props.maxCapacity} is invalid: expected whole numbers with ` +
          '0 <= ECS_MIN_CAPACITY <= ECS_MAX_CAPACITY and ECS_MAX_CAPACITY >= 1.',
      );
    }

    const instanceType = new ec2.InstanceType(props.instanceType);
    if (instanceType.architecture !== ec2.InstanceArchitecture.X86_64) {
      throw new Error(
        `ECS_INSTANCE_TYPE "${props.instanceType}" is ${instanceType.architecture}: credentials-fetcher hosts run on the ` +
          'x86_64 ECS-optimized Amazon Linux 2023 AMI; choose an x86_64 type such as t3.medium or m5.large.',
      );
    }
    // Refuses a type without a known network-interface count, and hosts that cannot hold one rolling deployment.
    this.awsvpcTaskSlots = ec2TaskSlots(props.instanceType, props.maxCapacity);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description:
        'ECS container instances: no inbound from outside; out to AD, SQL Server, package repositories and AWS APIs',
      allowAllOutbound: true,
    });
    // Other stacks call `connections.allowTo(...)` so that their ingress rule lands in this stack; the matching
    // egress rule is redundant with allowAllOutbound, which CDK reports.
    Annotations.of(this.securityGroup).acknowledgeWarning(
      '@aws-cdk/aws-ec2:ipv4IgnoreEgressRule',
      'all outbound traffic is allowed on purpose: AD, SQL Server, package repositories and AWS APIs',
    );

    this.role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description:
        access.mode === 'none'
          ? 'ECS container instances (Kerberos sidecar mode: no credentials-fetcher)'
          : `ECS container instances with credentials-fetcher (${access.mode})`,
      managedPolicies: [
        // Session Manager access (no SSH, no inbound rule), Run Command and, in domain-joined mode, the State Manager
        // association of the SSM domain join; no parameter or document of the account on "*".
        sessionManagerInstancePolicy(this, {
          associationDocuments: access.mode === 'domain-joined' ? [DOMAIN_JOIN_DOCUMENT] : [],
        }),
        // https://docs.aws.amazon.com/directoryservice/latest/admin-guide/seamlessly_join_linux_instance.html
        ...(access.mode === 'domain-joined'
          ? [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMDirectoryServiceAccess')]
          : []),
      ],
    });
    if (access.mode === 'domainless') {
      // credentials-fetcher reads the domainless identity with the instance's credentials; nothing else on the host
      // needs a secret. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linux-gmsa.html
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadDomainlessIdentity',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [access.identitySecret.secretArn],
        }),
      );
    } else if (access.mode === 'domain-joined') {
      // AWS-JoinDirectoryServiceDomain reads (Describe + Get) the seamless-domain-join secret with the instance's
      // credentials, and so does the host script for the group membership.
      access.domainJoinSecret.grantRead(this.role);
    }

    this.userData = ec2.UserData.forLinux();
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(ecs.AmiHardwareType.STANDARD),
      instanceType,
      role: this.role,
      securityGroup: this.securityGroup,
      userData: this.userData,
      requireImdsv2: true,
      // One hop: a container behind a bridge (one more hop) cannot reach the instance metadata service and take the
      // instance role, whatever the account's default. The agent and credentials-fetcher use the host network.
      // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(ROOT_VOLUME_GIB, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
          }),
        },
      ],
    });
    props.additionalSecurityGroups?.forEach((group) => launchTemplate.addSecurityGroup(group));

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'AutoScalingGroup', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate,
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      // Managed termination protection is off (below), so instances are not protected either: `cdk destroy` and
      // scale-in can terminate them.
      newInstancesProtectedFromScaleIn: false,
    });
    if (access.mode === 'domain-joined') {
      // The directory stack's State Manager association joins every instance that carries this tag.
      Tags.of(this.autoScalingGroup).add(access.domainJoinTag.key, access.domainJoinTag.value, {
        applyToLaunchedInstances: true,
      });
    }

    // A host whose setup failed asks Auto Scaling to replace it. A separate policy (not the role's default policy):
    // the statement names the group, and the group's launch template needs the role. Plain hosts run no setup script.
    const reportHealth =
      access.mode === 'none'
        ? undefined
        : new iam.Policy(this, 'ReportHealthPolicy', {
            roles: [this.role],
            statements: [
              new iam.PolicyStatement({
                sid: 'ReportOwnHealth',
                actions: ['autoscaling:SetInstanceHealth'],
                resources: [this.autoScalingGroup.autoScalingGroupArn],
              }),
            ],
          });

    this.capacityProvider = new ecs.AsgCapacityProvider(this, 'CapacityProvider', {
      autoScalingGroup: this.autoScalingGroup,
      enableManagedScaling: true,
      // Off so that `cdk destroy` can terminate instances that still run tasks.
      enableManagedTerminationProtection: false,
      // ECS drains an instance's tasks before Auto Scaling terminates it, without CDK's drain-hook Lambda function.
      // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instance-draining.html
      enableManagedDraining: true,
    });
    // Writes ECS_CLUSTER into user data and gives the role the ECS agent's permissions on this cluster.
    props.cluster.addAsgCapacityProvider(this.capacityProvider);

    if (access.mode === 'domain-joined') {
      // A replaced or scaled-in host takes its computer account out of AD. The runbook carries the script (user data
      // has no room left for it under EC2's 16 KB limit), so it also reaches hosts launched before a change to it.
      this.leaveDomain = new LeaveDomainOnTermination(this, 'LeaveDomainOnTermination', {
        autoScalingGroup: this.autoScalingGroup,
        commands: leaveDomainCommands(access),
      });
    }

    if (access.mode === 'none') {
      this.userData.addCommands(...PLAIN_HOST_USER_DATA);
      this.acknowledgeNagFindings(access, reportHealth);
      return;
    }
    if (props.hostLogs) this.userData.addCommands(...props.hostLogs.installerCommands());
    const ticketReaderGid = props.ticketReaderGid ?? (EC2_HOSTS_GRANT_TICKET_READ ? DOTNET_APP_UID : undefined);
    if (ticketReaderGid !== undefined) {
      if (!Number.isInteger(ticketReaderGid) || ticketReaderGid <= 0) {
        throw new Error(
          `Ticket reader GID ${ticketReaderGid} is invalid: expected a positive whole number (the app's group, e.g. ${DOTNET_APP_UID}).`,
        );
      }
      this.userData.addCommands(
        ...scriptFileCommands(TICKET_READ_SCRIPT_PATH, withoutCommentLines(readScript(TICKET_READ_SCRIPT_SOURCE))),
      );
    }
    // Last command of user data: the script's exit status becomes the user data's.
    this.userData.addCommands(
      ...hostScriptCommands(
        access,
        props.credentialsFetcherVersion,
        undefined,
        props.hostLogs?.agentConfigParameterName,
        ticketReaderGid,
      ),
    );

    this.acknowledgeNagFindings(access, reportHealth);
  }

  /** cdk-nag (AwsSolutions) findings this sample accepts, each with its reason in the template's metadata. */
  private acknowledgeNagFindings(access: HostTicketAccess, reportHealth: iam.Policy | undefined): void {
    if (access.mode === 'domain-joined') {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMDirectoryServiceAccess]',
        reason: 'The policy AWS documents for SSM seamless domain join (ds:CreateComputer, ds:DescribeDirectories).',
      });
    }
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::ecs:Submit*]',
      reason: "CDK's ECS agent statement, limited to this cluster's ARN.",
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "CDK's ECS agent statements: ecs:Poll and ecs:StartTelemetrySession are conditioned on this cluster; " +
        'ecs:DiscoverPollEndpoint and ecr:GetAuthorizationToken support no resource-level permissions.',
    });
    if (reportHealth)
      Validations.of(reportHealth).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/<${Stack.of(this).getLogicalId(this.autoScalingGroup.node.defaultChild as CfnElement)}>]`,
        reason: "The group's ARN holds an id known only after creation; the group's name pins this one group.",
      });
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-AS3',
      reason:
        'Scaling events show in the group activity history and the ECS capacity provider; no one subscribes here.',
    });
  }
}

/** What the hosts need to ship their logs (ContainerHostLogs): the installer's user-data lines and its configuration. */
export interface HostLogShipping {
  installerCommands(): string[];
  /** The SSM parameter holding the agent's configuration, passed to the host script as `--cloudwatch-config`. */
  readonly agentConfigParameterName: string;
}

/**
 * The user-data lines that write the host script and run it with the mode's arguments. The script goes without its
 * comment lines (EC2 user data holds 16 KB); the commented script is the one in this repository.
 * @param version the credentials-fetcher version to install
 * @param script the script's text; defaults to {@link HOST_SCRIPT_SOURCE}
 * @param cloudWatchConfigParameter the SSM parameter of the CloudWatch agent's configuration, when hosts ship logs
 * @param ticketReaderGid the group the hosts let read the gMSA ticket caches (`--ticket-reader-gid`), if any
 */
export function hostScriptCommands(
  access: HostDirectoryAccess,
  version: string,
  script = readScript(HOST_SCRIPT_SOURCE),
  cloudWatchConfigParameter?: string,
  ticketReaderGid?: number,
): string[] {
  const args = [
    '--mode',
    access.mode,
    '--credentials-fetcher-version',
    version,
    ...(access.mode === 'domainless' ? [] : directoryArguments(access, true)),
    ...(cloudWatchConfigParameter === undefined ? [] : ['--cloudwatch-config', cloudWatchConfigParameter]),
    ...(ticketReaderGid === undefined ? [] : ['--ticket-reader-gid', String(ticketReaderGid)]),
  ];
  return [...scriptFileCommands(HOST_SCRIPT_PATH, withoutCommentLines(script)), commandLine(HOST_SCRIPT_PATH, args)];
}

/**
 * The script without its comment-only and blank lines, and without the indentation of the others (EC2 user data holds
 * 16 KB; bash ignores leading blanks); the shebang and shellcheck directives stay. Sound for scripts without heredocs
 * (refused) or strings that span lines (a test compares bash's own reading of each host script before and after).
 */
export function withoutCommentLines(script: string): string {
  if (/<<-?\s*['"]?[A-Za-z_]/.test(script)) {
    throw new Error('The host script must not contain a heredoc: its comment lines are removed for user data.');
  }
  return script
    .split('\n')
    .filter((line, index) => {
      const trimmed = line.trim();
      if (trimmed === '') return false;
      if (!trimmed.startsWith('#')) return true;
      return (index === 0 && trimmed.startsWith('#!')) || trimmed.startsWith('# shellcheck ');
    })
    .map((line) => line.trimStart())
    .join('\n');
}

/**
 * The shell lines Run Command runs on a terminating domain-joined host: write the leave-domain script to a temporary
 * file, run it with the mode's arguments, remove it, and exit with the script's status.
 * @param script the script's text; defaults to {@link LEAVE_DOMAIN_SCRIPT_SOURCE}
 */
export function leaveDomainCommands(
  access: DomainJoinedHostAccess,
  script = readScript(LEAVE_DOMAIN_SCRIPT_SOURCE),
): string[] {
  if (script.includes('{{')) {
    throw new Error('The leave-domain script must not contain "{{": SSM would read it as a document parameter.');
  }
  return [
    'script="$(mktemp)"',
    ...scriptFileCommands('"${script}"', script).slice(0, -1),
    `${commandLine('bash "${script}"', directoryArguments(access, false))} && status=0 || status=$?`,
    'rm -f "${script}"',
    'exit "${status}"',
  ];
}

function readScript(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** The user-data lines that write a script to `file` and make it executable. */
function scriptFileCommands(file: string, script: string): string[] {
  if (script.split('\n').some((line) => line.trim() === HEREDOC_END)) {
    throw new Error(`The host script must not contain a line "${HEREDOC_END}": it ends the heredoc in user data.`);
  }
  return [
    // Quoted delimiter: the shell expands nothing inside the script text.
    `cat > ${file} <<'${HEREDOC_END}'`,
    script.trimEnd(),
    HEREDOC_END,
    `chmod 0755 ${file}`,
  ];
}

/** The directory's arguments of both scripts; the host script also takes the domain controllers. */
function directoryArguments(access: DomainJoinedHostAccess, withDomainControllers: boolean): string[] {
  return [
    '--domain',
    access.domainName,
    ...(withDomainControllers ? ['--domain-controllers', joinAddresses(access.domainControllers)] : []),
    '--join-secret',
    access.domainJoinSecret.secretArn,
    '--group',
    access.gmsaPrincipalsGroup,
  ];
}

/** `a,b` from a list of addresses, which may be one unresolved list token (another stack's attribute). */
function joinAddresses(addresses: string[]): string {
  return Token.isUnresolved(addresses) || addresses.some((address) => Token.isUnresolved(address))
    ? Fn.join(',', addresses)
    : addresses.join(',');
}

/** `file 'arg' 'arg' ...`; every argument single-quoted, so each must be free of quotes and shell characters. */
function commandLine(file: string, args: string[]): string {
  const unsafe = args.find((arg) => !Token.isUnresolved(arg) && !/^[A-Za-z0-9._:/@+=,-]+$/.test(arg));
  if (unsafe !== undefined) {
    throw new Error(
      `Host script argument "${unsafe}" has characters user data would have to escape; use letters, digits and . _ : / @ + = , -.`,
    );
  }
  return [file, ...args.map((a) => `'${a}'`)].join(' ');
}
