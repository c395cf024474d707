import * as crypto from 'crypto';
import * as path from 'path';
import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { DirectoryReference } from '../directory-reference';
import { sessionManagerInstancePolicy } from './session-manager-instance-policy';

/** Where the scripts land on the instance: the folder the blog post names, so people find and re-run them there. */
export const BASTION_SCRIPT_FOLDER = 'C:\\SampleConfig';

/** The scripts the bastion downloads (from `scripts/`), under the names the blog post uses. */
export const BASTION_SCRIPTS = [
  'Invoke-BastionSetup.ps1',
  'Configure-AD.ps1',
  'Configure-Database.ps1',
  'Generate-CredSpec.ps1',
  'Add-ECSContainerInstancesToADGroup.ps1',
  // Dot-sourced by Configure-Database.ps1 and Configure-SidecarUser.ps1.
  'SqlServerLogins.ps1',
  // Kerberos sidecar mode only (SidecarIdentitySecretId set); shipped always, so the run's files do not depend on it.
  'Configure-SidecarUser.ps1',
] as const;

/** The file the first-boot run reads its settings from (no secrets in it: only secret ids). */
export const BASTION_CONFIG_FILE = `${BASTION_SCRIPT_FOLDER}\\bastion-setup.json`;

/** The CredSpec template with the SID and GUID placeholders, as Generate-CredSpec.ps1 reads it. */
export const CREDSPEC_TEMPLATE_FILE = `${BASTION_SCRIPT_FOLDER}\\credspec-template.json`;

/**
 * The SQL Server build of the Chinook sample database, downloaded by the bastion at run time (third-party data is not
 * committed here). Pinned to a commit, not a branch: on `master` the auto-increment variant started creating
 * `[Chinook_AutoIncrement]` in February 2024. This file creates `[Chinook]`. https://github.com/lerocha/chinook-database
 */
export const CHINOOK_SCRIPT_URL =
  'https://raw.githubusercontent.com/lerocha/chinook-database/7f67772503d71ba90f19283c38e93923addb43fa/ChinookDatabase/DataSources/Chinook_SqlServer.sql';

/** SHA-256 of {@link CHINOOK_SCRIPT_URL}'s content (601,344 bytes); Configure-Database.ps1 refuses any other content. */
export const CHINOOK_SCRIPT_SHA256 = '5ea75c9e925ead917d3fabea6ed3cc8c1ff1d036b61e915c94631aafa2b0802b';

/**
 * The bounds of every step of the first run, in the units the script reads (the user data's settings file carries
 * them: one source for the script and the signal timeout). The run reports its own failure before CloudFormation gives
 * up only if their worst case, {@link bastionRunWorstCaseMinutes}, stays below the signal timeout: the construct
 * refuses a shorter `signalTimeout`, and test/constructs/ad-management-bastion.test.ts sums them.
 */
export const BASTION_RUN_BOUNDS = {
  /** Each of the two instance metadata calls (session token, instance id): `Invoke-RestMethod -TimeoutSec`. */
  metadataTimeoutSeconds: 30,
  /**
   * The AD tools (a Windows feature) and the pinned SqlServer module from the PowerShell Gallery: neither install has a
   * timeout of its own, so the run does them in a background job that it stops at this bound.
   */
  moduleInstallMinutes: 15,
  /** The wait for the directory to answer (`Get-ADDomain`), by the clock. */
  directoryWaitMinutes: 30,
  /** The wait for SQL Server to be `available` and `joined` to the directory (RDS documents 20–40 minutes), by the clock. */
  databaseWaitMinutes: 60,
  /**
   * One probe still in flight when a wait's deadline passes (`Get-ADDomain`, `DescribeDBInstances`): each wait may
   * overrun its own bound by this much.
   */
  probeAllowanceMinutes: 2,
  /**
   * Configure-AD.ps1 and Generate-CredSpec.ps1: a fixed, small number of AD Web Services and AWS API calls. An
   * allowance, not enforced by the script: the AD cmdlets have no timeout parameter (each call ends at AD Web Services'
   * own operation timeout) and the AWS Tools retry with the SDK's timeouts.
   */
  adConfigurationMinutes: 10,
  /**
   * Configure-Database.ps1 as a whole: the two downloads, every query (the Chinook load included) and the login
   * retries share this budget; a query gets at most the time left, and no retry starts after it.
   */
  databaseConfigurationMinutes: 30,
  /** A query still connecting when the database budget ends (`Invoke-Sqlcmd -ConnectionTimeout`). */
  sqlConnectTimeoutSeconds: 30,
  /** The longest any one query may run (the Chinook load), within the database budget. */
  queryTimeoutSeconds: 600,
  /** The longest either download (RDS CA bundle, Chinook script) may take, within the database budget. */
  downloadTimeoutSeconds: 300,
  /** `CREATE LOGIN ... FROM WINDOWS` attempts while SQL Server's domain controller has not seen the new gMSA yet. */
  loginRetryAttempts: 20,
  /** Pause between two login attempts. */
  loginRetryDelaySeconds: 30,
  /**
   * Attempts to detach the run's secret access from the role before the SUCCESS signal (the last step), when IAM
   * answers with a failure that may pass (ServiceFailure, throttling, no answer); a refusal fails at once.
   */
  revokeAttempts: 4,
  /** Pause between two detach attempts. */
  revokeRetryDelaySeconds: 15,
  /** What the run needs after its last bound to signal FAILURE and write its log, with room to spare. */
  marginMinutes: 10,
} as const;

/** The waits a caller may change (the others are fixed). */
type BastionWaits = { readonly directoryWaitMinutes: number; readonly databaseWaitMinutes: number };

/**
 * The longest the first run can take before it has signalled, in minutes: every bound of {@link BASTION_RUN_BOUNDS}
 * (each wait plus one probe in flight, both IMDS calls, a connection attempt in flight at the end of the database
 * budget, the pauses between detach attempts) plus the margin. The signal timeout must be at least this.
 */
export function bastionRunWorstCaseMinutes(waits: BastionWaits = BASTION_RUN_BOUNDS, sidecarUser = false): number {
  const b = BASTION_RUN_BOUNDS;
  // Kerberos sidecar mode: Configure-SidecarUser.ps1 runs after Configure-Database.ps1 with a budget of the same
  // length (its AD calls within the AD allowance), and may also end with a connection attempt in flight.
  const sidecarStep = sidecarUser
    ? b.adConfigurationMinutes + b.databaseConfigurationMinutes + b.sqlConnectTimeoutSeconds / 60
    : 0;
  return (
    sidecarStep +
    (2 * b.metadataTimeoutSeconds) / 60 +
    b.moduleInstallMinutes +
    waits.directoryWaitMinutes +
    b.probeAllowanceMinutes +
    b.adConfigurationMinutes +
    waits.databaseWaitMinutes +
    b.probeAllowanceMinutes +
    b.databaseConfigurationMinutes +
    b.sqlConnectTimeoutSeconds / 60 +
    ((b.revokeAttempts - 1) * b.revokeRetryDelaySeconds) / 60 +
    b.marginMinutes
  );
}

/** Default bounded wait for the directory to answer, in minutes. */
export const DEFAULT_DIRECTORY_WAIT_MINUTES = BASTION_RUN_BOUNDS.directoryWaitMinutes;

/** Default bounded wait for the RDS instance to be `available` and joined, in minutes. */
export const DEFAULT_DATABASE_WAIT_MINUTES = BASTION_RUN_BOUNDS.databaseWaitMinutes;

/**
 * The SqlServer PowerShell module the run installs, exactly this version. `Invoke-Sqlcmd -Encrypt Mandatory` needs
 * version 22 or later (v22 added `-Encrypt`: microsoft/SQLServerPSModule issue 33); 22.4.5.1 broke loading in some
 * hosts (microsoft/SQLServerPSModule issue 111, microsoft/aspire issue 9926, which pinned 22.3.0 as this does).
 */
export const SQLSERVER_MODULE_VERSION = '22.3.0';

/**
 * The public SSM parameter of Windows Server 2022 (English, Full, Base). EC2 resolves it when it launches the instance
 * (`resolve:ssm:` in ImageId), never CloudFormation at deploy time: the template holds this constant text, so a new
 * monthly AMI changes nothing in the template and never replaces the instance by itself.
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/finding-an-ami-parameter-store.html
 */
export const BASTION_AMI_PARAMETER = '/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base';

/**
 * The marker a successful, signalled run leaves: `{ConfigurationDigest, InstanceId, SignalledAt}`. A later boot of the
 * same configuration finds it and does nothing (EC2Launch v2 runs user data again after a run that stopped or
 * restarted the computer: EC2Launch v2 troubleshooting, "Service runs user data more than once").
 */
export const BASTION_DONE_MARKER = `${BASTION_SCRIPT_FOLDER}\\bastion-setup.done.json`;

/** One AMI id, in whatever region the stack deploys to (`genericWindows` wants a region map; this id is the user's). */
function fixedWindowsImage(imageId: string): ec2.IMachineImage {
  return {
    getImage: () => ({ imageId, osType: ec2.OperatingSystemType.WINDOWS, userData: ec2.UserData.forWindows() }),
  };
}

const SCRIPTS_DIR = path.join(__dirname, '..', '..', 'scripts');

/** Props of {@link AdManagementBastion}. */
export interface AdManagementBastionProps {
  /** The VPC of the directory. */
  readonly vpc: ec2.IVpc;
  /** The directory to configure and join. */
  readonly directory: DirectoryReference;
  /** Password (plain string) of the directory's `admin` user. */
  readonly adminSecret: secretsmanager.ISecret;
  /**
   * Domainless mode: `{username, password, domainName}` of the AD user to create and put into the gMSA group.
   * @default - domain-joined mode: no domainless user
   */
  readonly identitySecret?: secretsmanager.ISecret;
  /**
   * Kerberos sidecar mode: `{username, password, domainName}` of the AD user the sidecar signs in as; the run creates
   * it with a read-only login on the database (Configure-SidecarUser.ps1).
   * @default - no sidecar user
   */
  readonly sidecarIdentitySecret?: secretsmanager.ISecret;
  /**
   * Domain-joined mode: the seamless-domain-join secret; the bastion creates that AD user with the secret's password
   * and lets it add computers to the gMSA group.
   * @default - domainless modes: nothing joins, so no join user and no rights on the group
   */
  readonly domainJoinSecret?: secretsmanager.ISecret;
  /**
   * SQL Server's master credentials (`username`, `password`): the secret itself, not its attachment to the instance,
   * so that the bastion does not wait for the instance.
   */
  readonly databaseSecret: secretsmanager.ISecret;
  /**
   * The DB instance identifier, as a plain string: the run finds the endpoint with `Get-RDSDBInstance` once the
   * instance is available. Never a reference to the instance, which would make the bastion wait for it.
   */
  readonly databaseInstanceIdentifier: string;
  /** The database the Chinook script creates and the logins default to. */
  readonly databaseName: string;
  /** gMSA name, without `$`. */
  readonly gmsaName: string;
  /** The AD group whose members may retrieve the gMSA's password. */
  readonly gmsaPrincipalsGroup: string;
  /** The CredSpec with the SID and GUID placeholders (see `credspec-document.ts`). */
  readonly credSpecTemplate: string;
  /** The SSM parameter the CredSpec is written to. */
  readonly credSpecParameter: ssm.IStringParameter;
  /** The bucket the CredSpec object is written to. */
  readonly credSpecBucket: s3.IBucket;
  /** Key of the CredSpec object. */
  readonly credSpecObjectKey: string;
  /** Name of the log group the run writes to, e.g. `/<SOLUTION_ID>/active-directory-management-instance`. */
  readonly logGroupName: string;
  /**
   * The only source allowed to RDP in; the instance then sits in a public subnet with a public IP address. A decision
   * of its own (setting `BASTION_RDP_CIDR`), never implied by the web app's allow-list.
   * @default - private subnet, no inbound rule at all: reach it with Systems Manager Session Manager (port forwarding
   * for RDP, docs/bastion.md)
   */
  readonly rdpIngressCidr?: string;
  /**
   * Maintenance: the role may read the four secrets again, through a policy of its own that stays attached while this
   * is on (the run's own access ends with the run). Not part of the configuration: turning it on or off never
   * replaces the instance.
   * @default false
   */
  readonly maintenance?: boolean;
  /**
   * Existing EC2 key pair, to decrypt the local Administrator password.
   * @default - no key pair
   */
  readonly keyPairName?: string;
  /**
   * Instance type.
   * @default t3.medium
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * Stay running after the run instead of stopping (the instance stops itself once it has signalled and joined the
   * domain; started again, it finds its done-marker and changes nothing). Part of the configuration: changing it
   * replaces the instance.
   * @default false
   */
  readonly keepRunning?: boolean;
  /**
   * A Windows Server 2022 AMI id to launch, fixed in the template; changing it replaces the instance (one new run).
   * @default - the AMI that {@link BASTION_AMI_PARAMETER} names when EC2 launches the instance, kept for its lifetime
   */
  readonly amiId?: string;
  /**
   * How long the run waits for the directory to answer before it fails.
   * @default DEFAULT_DIRECTORY_WAIT_MINUTES
   */
  readonly directoryWaitMinutes?: number;
  /**
   * How long the run waits for the RDS instance to be available before it fails.
   * @default DEFAULT_DATABASE_WAIT_MINUTES
   */
  readonly databaseWaitMinutes?: number;
  /**
   * How long CloudFormation waits for the run's signal: at least {@link bastionRunWorstCaseMinutes} of the waits, so
   * the run reports its own failure before CloudFormation gives up (a shorter one is refused).
   * @default - bastionRunWorstCaseMinutes(waits), rounded up to a whole minute
   */
  readonly signalTimeout?: Duration;
}

/**
 * The "active-directory-management-instance": a Windows Server 2022 instance that, at first boot and unattended,
 * creates the gMSA, its group and the AD users, writes the CredSpec, waits (bounded) for SQL Server, loads the sample
 * database and creates its Windows logins, signals CloudFormation, joins the domain and then stops (or restarts, with
 * `keepRunning`), so that people can start it later to manage the directory. It references nothing of the RDS
 * instance, so it starts as soon as the directory exists, while RDS is still creating SQL Server. The scripts reach
 * it as S3 assets (user data stops at 16 KB) and stay in `C:\SampleConfig`.
 *
 * One run per configuration (docs/bastion.md): the instance's logical id carries a digest of everything its user data
 * holds, so a changed setting, script or AMI choice is a new instance that runs once and signals (`cdk diff` shows the
 * old id removed and the new one added), never an in-place user-data update, which CloudFormation applies by
 * restarting the instance without waiting for a signal. A later boot of the same configuration does nothing.
 */
export class AdManagementBastion extends Construct {
  /** The instance; its creation completes only when the run has signalled success. It stops itself afterwards. */
  public readonly instance: ec2.Instance;
  /** The L1 instance carrying the creation policy: depend on it to run after AD, database and CredSpec are configured. */
  public readonly configured: ec2.CfnInstance;
  /** The instance's security group. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The instance's role. */
  public readonly role: iam.Role;
  /** The log group of the configuration run (one stream per instance id). */
  public readonly logGroup: logs.LogGroup;
  /** SHA-256 of the instance's configuration; its first 8 hex digits end the instance's logical id. */
  public readonly configurationDigest: string;
  /**
   * The secret reads of the first run: attached to the role until the run detaches it, its last step before the
   * SUCCESS signal. Its logical id ends with the configuration digest, like the instance's: a new instance gets a new,
   * attached policy.
   */
  public readonly runSecretsPolicy: iam.ManagedPolicy;
  /** The secret reads for maintenance, attached while `maintenance` is on; undefined otherwise. */
  public readonly maintenanceSecretsPolicy?: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: AdManagementBastionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const publicAccess = props.rdpIngressCidr !== undefined;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: props.logGroupName,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: publicAccess
        ? 'AD management instance: RDP from the deployer address only'
        : 'AD management instance: no inbound, Systems Manager only',
      // Reaches the domain controllers, SQL Server, the PowerShell Gallery, GitHub (sample data) and AWS APIs.
      allowAllOutbound: true,
    });
    if (props.rdpIngressCidr !== undefined) {
      this.securityGroup.addIngressRule(
        ec2.Peer.ipv4(props.rdpIngressCidr),
        ec2.Port.tcp(3389),
        'RDP from the deployer',
      );
    }

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'AD management instance: configures AD, the database and the CredSpec',
      managedPolicies: [sessionManagerInstancePolicy(this)],
    });

    const assets = BASTION_SCRIPTS.map(
      (name) => new Asset(this, name.replace(/[^A-Za-z0-9]/g, ''), { path: path.join(SCRIPTS_DIR, name) }),
    );
    this.grantPermissions(props, assets);

    const directoryWaitMinutes = props.directoryWaitMinutes ?? DEFAULT_DIRECTORY_WAIT_MINUTES;
    const databaseWaitMinutes = props.databaseWaitMinutes ?? DEFAULT_DATABASE_WAIT_MINUTES;
    const worstCase = Math.ceil(
      bastionRunWorstCaseMinutes(
        { directoryWaitMinutes, databaseWaitMinutes },
        props.sidecarIdentitySecret !== undefined,
      ),
    );
    const signalTimeout = props.signalTimeout ?? Duration.minutes(worstCase);
    if (signalTimeout.toMinutes({ integral: false }) < worstCase) {
      throw new Error(
        `The bastion's signal timeout of ${signalTimeout.toMinutes({ integral: false })} minutes is shorter than its ` +
          `run's worst case of ${worstCase} minutes (BASTION_RUN_BOUNDS): CloudFormation would give up before the run ` +
          'reports its own failure. Use a longer signalTimeout or shorter waits.',
      );
    }
    if (props.amiId !== undefined && !/^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(props.amiId)) {
      throw new Error(
        `The bastion's AMI id "${props.amiId}" is invalid: expected ami- and 8 or 17 hexadecimal digits.`,
      );
    }
    // Never MachineImage.latestWindows: that is an SSM parameter CloudFormation resolves at every deploy, so each
    // monthly Windows release would replace the instance (a full run, one more computer object in AD).
    const machineImage =
      props.amiId !== undefined
        ? fixedWindowsImage(props.amiId)
        : ec2.MachineImage.resolveSsmParameterAtLaunch(BASTION_AMI_PARAMETER, { os: ec2.OperatingSystemType.WINDOWS });
    const subnetType = publicAccess ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS;

    const userData = ec2.UserData.forWindows();
    this.instance = new ec2.Instance(this, 'Instance', {
      vpc: props.vpc,
      vpcSubnets: { subnetType },
      securityGroup: this.securityGroup,
      role: this.role,
      instanceType: props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MEDIUM),
      machineImage,
      userData,
      httpTokens: ec2.HttpTokens.REQUIRED,
      // Explicit, not the account default: with 1, IMDS answers nothing that comes through one more network hop (a
      // container on the instance). https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: '/dev/sda1',
          volume: ec2.BlockDeviceVolume.ebs(50, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
      ],
      keyPair: props.keyPairName ? ec2.KeyPair.fromKeyPairName(this, 'KeyPair', props.keyPairName) : undefined,
      propagateTagsToVolumeOnCreation: true,
      // The run ends with Stop-Computer: an instance that stops itself must stop, not terminate.
      instanceInitiatedShutdownBehavior: ec2.InstanceInitiatedShutdownBehavior.STOP,
    });
    this.configured = this.instance.node.defaultChild as ec2.CfnInstance;
    // CloudFormation waits for the run's one signal: the stack completes only once AD, the database and the CredSpec
    // are configured, and fails if the run reports an error or never reports.
    this.configured.cfnOptions.creationPolicy = {
      resourceSignal: { count: 1, timeout: signalTimeout.toIsoString() },
    };

    const b = BASTION_RUN_BOUNDS;
    const configuration = {
      Region: Aws.REGION,
      StackName: stack.stackName,
      LogGroupName: props.logGroupName,
      DomainName: props.directory.dnsName,
      NetBiosName: props.directory.netbiosName,
      AdminSecretId: props.adminSecret.secretArn,
      IdentitySecretId: props.identitySecret?.secretArn ?? '',
      SidecarIdentitySecretId: props.sidecarIdentitySecret?.secretArn ?? '',
      DomainJoinSecretId: props.domainJoinSecret?.secretArn ?? '',
      DatabaseSecretId: props.databaseSecret.secretArn,
      DatabaseInstanceIdentifier: props.databaseInstanceIdentifier,
      DatabaseName: props.databaseName,
      GmsaName: props.gmsaName,
      GmsaPrincipalsGroup: props.gmsaPrincipalsGroup,
      CredSpecTemplatePath: CREDSPEC_TEMPLATE_FILE,
      CredSpecParameterName: props.credSpecParameter.parameterName,
      CredSpecBucketName: props.credSpecBucket.bucketName,
      CredSpecObjectKey: props.credSpecObjectKey,
      ChinookScriptUrl: CHINOOK_SCRIPT_URL,
      ChinookScriptSha256: CHINOOK_SCRIPT_SHA256,
      SqlServerModuleVersion: SQLSERVER_MODULE_VERSION,
      KeepRunning: props.keepRunning ?? false,
      DirectoryWaitMinutes: directoryWaitMinutes,
      DatabaseWaitMinutes: databaseWaitMinutes,
      MetadataTimeoutSeconds: b.metadataTimeoutSeconds,
      ModuleInstallMinutes: b.moduleInstallMinutes,
      DatabaseConfigurationMinutes: b.databaseConfigurationMinutes,
      SqlConnectTimeoutSeconds: b.sqlConnectTimeoutSeconds,
      QueryTimeoutSeconds: b.queryTimeoutSeconds,
      DownloadTimeoutSeconds: b.downloadTimeoutSeconds,
      LoginRetryAttempts: b.loginRetryAttempts,
      LoginRetryDelaySeconds: b.loginRetryDelaySeconds,
      RevokeAttempts: b.revokeAttempts,
      RevokeRetryDelaySeconds: b.revokeRetryDelaySeconds,
      RoleName: this.role.roleName,
    };

    // One run per configuration. The digest covers everything the instance's first boot depends on: the scripts, the
    // settings file and the CredSpec template (tokens resolved to the references they stand for), the image choice,
    // the subnet type and the key pair. A change to any of them is a new logical id, i.e. a new instance that runs
    // once and signals; the run signals this id, so the digest cannot include the id itself.
    const digest = crypto
      .createHash('sha256')
      .update(
        JSON.stringify(
          stack.resolve({
            path: this.node.path,
            scripts: assets.map((a) => a.assetHash),
            configuration,
            credSpecTemplate: props.credSpecTemplate,
            image: props.amiId ?? `resolve:ssm:${BASTION_AMI_PARAMETER}`,
            subnetType,
            keyPair: props.keyPairName ?? null,
          }),
        ),
      )
      .digest('hex');
    const logicalId = `AdManagementInstance${digest.slice(0, 8).toUpperCase()}`;
    this.configured.overrideLogicalId(logicalId);
    this.configurationDigest = digest;

    this.runSecretsPolicy = this.grantRunSecrets(props, digest);
    // The policy's ARN is a function of the digest (its logical id ends with it), so it stays out of the digest, like
    // the instance's own logical id.
    const config = {
      ...configuration,
      LogicalResourceId: logicalId,
      ConfigurationDigest: digest,
      RunPolicyArn: this.runSecretsPolicy.managedPolicyArn,
    };
    if (props.maintenance === true) {
      this.maintenanceSecretsPolicy = this.grantMaintenanceSecrets(props);
    }

    // Small on purpose: the scripts come from S3. Anything failing before the run starts still signals FAILURE.
    // A later boot of this configuration (EC2Launch v2 runs user data again after a run that stopped or restarted the
    // computer) finds the done-marker and stops here: no download overwrites scripts a person edited, nothing is
    // signalled to a resource that no longer waits.
    userData.addCommands(
      "$ErrorActionPreference = 'Stop'",
      `if ((Test-Path '${BASTION_DONE_MARKER}') -and ((Get-Content -Raw '${BASTION_DONE_MARKER}' | ConvertFrom-Json).ConfigurationDigest -eq '${digest}')) { Write-Output 'Configuration ${digest.slice(0, 8)} ran and signalled already: nothing to do.'; exit 0 }`,
      'try {',
      `New-Item -ItemType Directory -Force -Path '${BASTION_SCRIPT_FOLDER}' | Out-Null`,
      ...assets.map(
        (asset, i) =>
          `Read-S3Object -BucketName '${asset.s3BucketName}' -Key '${asset.s3ObjectKey}' -File '${BASTION_SCRIPT_FOLDER}\\${BASTION_SCRIPTS[i]}' -Region '${Aws.REGION}' | Out-Null`,
      ),
      // Single-quoted here-strings: PowerShell expands nothing inside them.
      `Set-Content -Path '${CREDSPEC_TEMPLATE_FILE}' -Encoding UTF8 -Value @'`,
      props.credSpecTemplate,
      "'@",
      `Set-Content -Path '${BASTION_CONFIG_FILE}' -Encoding UTF8 -Value @'`,
      JSON.stringify(config, undefined, 1),
      "'@",
      `& '${BASTION_SCRIPT_FOLDER}\\Invoke-BastionSetup.ps1' -ConfigPath '${BASTION_CONFIG_FILE}'`,
      '} catch {',
      '$_ | Out-String | Write-Output',
      `Send-CFNResourceSignal -StackName '${stack.stackName}' -LogicalResourceId '${logicalId}' -UniqueId 'user-data' -Status FAILURE -Region '${Aws.REGION}'`,
      '}',
    );

    // The run writes to the log group from its first line.
    this.configured.node.addDependency(this.logGroup);

    // cdk-nag (AwsSolutions) findings this sample accepts, each with its reason in the template's metadata.
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only autoscaling:DescribeAutoScalingGroups and ec2:DescribeInstances (read-only, no resource-level permissions) ' +
        'for Add-ECSContainerInstancesToADGroup.ps1; every other statement names its resource.',
    });
    if (props.amiId === undefined) {
      // CloudFormation's schema wants an ami- id (E1152), yet EC2 takes `resolve:ssm:<public parameter>` for ImageId
      // and resolves it at launch (CDK's resolveSsmParameterAtLaunch, aws/aws-cdk pull request 26273; cfn-lint
      // accepts it for launch templates since aws-cloudformation/cfn-lint pull request 3340).
      // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/finding-an-ami-parameter-store.html
      Validations.of(this.instance).acknowledge({
        id: 'CloudFormation-Validate::E1152',
        reason:
          'EC2 resolves resolve:ssm:<parameter> in ImageId at launch: the AMI is chosen once per instance, never by a deploy.',
      });
    }
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC28',
      reason: 'A configuration instance that idles after the deploy; basic monitoring is enough.',
    });
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC29',
      reason: 'A sample people deploy and destroy: cdk destroy must terminate the instance; it holds no data.',
    });
  }

  /** Reads of the secrets the run uses: the AD admin, SQL Server's master, and the join, domainless or sidecar identity of its mode. */
  private static grantSecretReads(props: AdManagementBastionProps, policy: iam.ManagedPolicy): void {
    props.adminSecret.grantRead(policy);
    props.identitySecret?.grantRead(policy);
    props.sidecarIdentitySecret?.grantRead(policy);
    props.domainJoinSecret?.grantRead(policy);
    props.databaseSecret.grantRead(policy);
  }

  /**
   * The first run's keys, for that run only: a managed policy attached to the role, which the role may detach from
   * itself (that policy and nothing else) and which the run detaches as its last step before the SUCCESS signal. Its
   * logical id ends with the configuration digest, and everything it holds (the secret ARNs, the role) is part of the
   * configuration: CloudFormation never updates it in place (which could attach it again); a new configuration is a
   * new instance with a new, attached policy, and the old one is deleted with the old instance. A detached policy is
   * drift CloudFormation leaves alone until then (docs/bastion.md, "The run's keys").
   */
  private grantRunSecrets(props: AdManagementBastionProps, digest: string): iam.ManagedPolicy {
    const policy = new iam.ManagedPolicy(this, 'RunSecrets', {
      description: 'AD management instance: the secret reads of its first run, which detaches this policy when done',
      roles: [this.role],
    });
    AdManagementBastion.grantSecretReads(props, policy);
    (policy.node.defaultChild as iam.CfnManagedPolicy).overrideLogicalId(
      `AdManagementRunSecrets${digest.slice(0, 8).toUpperCase()}`,
    );
    // DetachRolePolicy is authorized on the role; the condition key iam:PolicyARN names the one policy it may detach.
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EndRunSecrets',
        actions: ['iam:DetachRolePolicy'],
        resources: [this.role.roleArn],
        conditions: { ArnEquals: { 'iam:PolicyARN': policy.managedPolicyArn } },
      }),
    );
    // The run reads the secrets from its start.
    this.configured.node.addDependency(policy);
    return policy;
  }

  /**
   * Maintenance (BASTION_MAINTENANCE): the same reads in a policy of a fixed logical id, which the role may not
   * detach; deploying with the setting off deletes it. The instance does not change either way.
   */
  private grantMaintenanceSecrets(props: AdManagementBastionProps): iam.ManagedPolicy {
    const policy = new iam.ManagedPolicy(this, 'MaintenanceSecrets', {
      description:
        'AD management instance: secret reads for maintenance (BASTION_MAINTENANCE); deploy without it after',
      roles: [this.role],
    });
    AdManagementBastion.grantSecretReads(props, policy);
    return policy;
  }

  /** The permissions the run needs, each on the one resource it concerns. */
  private grantPermissions(props: AdManagementBastionProps, assets: Asset[]): void {
    // No secret here: the reads are in the run's own policy (runSecretsPolicy), which the run detaches.
    // The scripts' objects only, not the whole CDK assets bucket.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadScripts',
        actions: ['s3:GetObject'],
        resources: assets.map((asset) => asset.bucket.arnForObjects(asset.s3ObjectKey)),
      }),
    );
    // Get first: the run writes only when the value differs (re-runs change nothing that is already right). The
    // parameter and the object are not CloudFormation resources (no stack update can write a stale value back); the
    // run creates them, the database stack's CredSpecCleanup deletes them.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteCredSpecParameter',
        actions: ['ssm:GetParameter', 'ssm:PutParameter'],
        resources: [props.credSpecParameter.parameterArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteCredSpecObject',
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [props.credSpecBucket.arnForObjects(props.credSpecObjectKey)],
      }),
    );
    // Without it, S3 answers a GetObject on a missing key with 403 instead of 404, and the first run could not tell
    // "not written yet" from "denied".
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListCredSpecBucket',
        actions: ['s3:ListBucket'],
        resources: [props.credSpecBucket.bucketArn],
      }),
    );
    // The run waits for SQL Server and reads its endpoint by identifier: the ARN is built from the plain identifier,
    // not taken from the instance, so the bastion does not depend on it.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeDatabaseInstance',
        actions: ['rds:DescribeDBInstances'],
        resources: [
          Stack.of(this).formatArn({
            service: 'rds',
            resource: 'db',
            resourceName: props.databaseInstanceIdentifier,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    this.logGroup.grantWrite(this.role);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SignalCreation',
        actions: ['cloudformation:SignalResource'],
        resources: [Stack.of(this).stackId],
      }),
    );
    // For Add-ECSContainerInstancesToADGroup.ps1 (people who scale by hand). Both are read-only Describe actions that
    // support no resource-level permissions, so AWS requires "*":
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeEcsContainerInstances',
        actions: ['autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeInstances'],
        resources: ['*'],
      }),
    );
  }
}
