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

/** Where the scripts land on the instance: the folder the blog post names, so people find and re-run them there. */
export const BASTION_SCRIPT_FOLDER = 'C:\\SampleConfig';

/** The scripts the bastion downloads (from `scripts/`), under the names the blog post uses. */
export const BASTION_SCRIPTS = [
  'Invoke-BastionSetup.ps1',
  'Configure-AD.ps1',
  'Configure-Database.ps1',
  'Generate-CredSpec.ps1',
  'Add-ECSContainerInstancesToADGroup.ps1',
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

/** Default bounded wait for the directory to answer, in minutes. */
export const DEFAULT_DIRECTORY_WAIT_MINUTES = 30;

/** Default bounded wait for the RDS instance to be `available`, in minutes (RDS documents 20–40 for SQL Server). */
export const DEFAULT_DATABASE_WAIT_MINUTES = 60;

/** Time the run needs besides its two waits (module installs, AD, CredSpec, Chinook load), in minutes. */
const WORK_MINUTES = 30;

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
  /** The seamless-domain-join secret; the bastion creates that AD user with the secret's password. */
  readonly domainJoinSecret: secretsmanager.ISecret;
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
   * The only source allowed to RDP in; the instance then sits in a public subnet.
   * @default - private subnet, no inbound rule at all: reach it with Systems Manager Session Manager
   */
  readonly rdpIngressCidr?: string;
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
   * domain; start it again for maintenance).
   * @default false
   */
  readonly keepRunning?: boolean;
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
   * How long CloudFormation waits for the run's signal: longer than both bounded waits together, so the run reports
   * its own failure before CloudFormation gives up.
   * @default - the two waits plus 30 minutes of work
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
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });

    const assets = BASTION_SCRIPTS.map(
      (name) => new Asset(this, name.replace(/[^A-Za-z0-9]/g, ''), { path: path.join(SCRIPTS_DIR, name) }),
    );
    this.grantPermissions(props, assets);

    const directoryWaitMinutes = props.directoryWaitMinutes ?? DEFAULT_DIRECTORY_WAIT_MINUTES;
    const databaseWaitMinutes = props.databaseWaitMinutes ?? DEFAULT_DATABASE_WAIT_MINUTES;
    const signalTimeout =
      props.signalTimeout ?? Duration.minutes(directoryWaitMinutes + databaseWaitMinutes + WORK_MINUTES);

    const userData = ec2.UserData.forWindows();
    this.instance = new ec2.Instance(this, 'Instance', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: publicAccess ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: this.securityGroup,
      role: this.role,
      instanceType: props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MEDIUM),
      machineImage: ec2.MachineImage.latestWindows(ec2.WindowsVersion.WINDOWS_SERVER_2022_ENGLISH_FULL_BASE),
      userData,
      httpTokens: ec2.HttpTokens.REQUIRED,
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

    // New scripts must run on a new instance (user data runs once), so the logical id follows the scripts' content;
    // the run signals this id, which therefore must not depend on the rendered user data itself.
    const digest = crypto
      .createHash('sha256')
      .update([this.node.path, ...assets.map((a) => a.assetHash)].join(','))
      .digest('hex');
    const logicalId = `AdManagementInstance${digest.slice(0, 8).toUpperCase()}`;
    this.configured.overrideLogicalId(logicalId);

    const config = {
      Region: Aws.REGION,
      StackName: stack.stackName,
      LogicalResourceId: logicalId,
      LogGroupName: props.logGroupName,
      DomainName: props.directory.dnsName,
      NetBiosName: props.directory.netbiosName,
      AdminSecretId: props.adminSecret.secretArn,
      IdentitySecretId: props.identitySecret?.secretArn ?? '',
      DomainJoinSecretId: props.domainJoinSecret.secretArn,
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
      KeepRunning: props.keepRunning ?? false,
      DirectoryWaitMinutes: directoryWaitMinutes,
      DatabaseWaitMinutes: databaseWaitMinutes,
    };

    // Small on purpose: the scripts come from S3. Anything failing before the run starts still signals FAILURE.
    userData.addCommands(
      "$ErrorActionPreference = 'Stop'",
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
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'The policy Systems Manager documents for managed instances: Session Manager is the way in without RDP.',
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only autoscaling:DescribeAutoScalingGroups and ec2:DescribeInstances (read-only, no resource-level permissions) ' +
        'for Add-ECSContainerInstancesToADGroup.ps1; every other statement names its resource.',
    });
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC28',
      reason: 'A configuration instance that idles after the deploy; basic monitoring is enough.',
    });
    Validations.of(this.instance).acknowledge({
      id: 'AwsSolutions-EC29',
      reason: 'A sample people deploy and destroy: cdk destroy must terminate the instance; it holds no data.',
    });
  }

  /** The permissions the run needs, each on the one resource it concerns. */
  private grantPermissions(props: AdManagementBastionProps, assets: Asset[]): void {
    props.adminSecret.grantRead(this.role);
    props.identitySecret?.grantRead(this.role);
    props.domainJoinSecret.grantRead(this.role);
    props.databaseSecret.grantRead(this.role);
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
