import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sam from 'aws-cdk-lib/aws-sam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeGuardRules } from '../guard-acknowledgements';
import { SQL_SERVER_DEFAULT_VERSION, SQL_SERVER_VERSION_PATTERN } from '../sql-server-version';

/** Props of {@link SqlServer}. */
export interface SqlServerProps {
  /** The VPC; the instance goes into its private subnets. */
  readonly vpc: ec2.IVpc;
  /** The directory id (`d-...`) the instance joins for Windows authentication. */
  readonly directoryId: string;
  /** The directory's DNS name; with the instance identifier it forms the Kerberos host name. */
  readonly directoryDnsName: string;
  /**
   * The DB instance identifier: lowercase letters, digits and single hyphens, starting with a letter, at most 63
   * characters. Set explicitly so the Kerberos host name is known at synth time.
   */
  readonly instanceIdentifier: string;
  /**
   * Instance class without the `db.` prefix, e.g. `t3.small`. Which classes a Region offers for an engine version:
   * `aws rds describe-orderable-db-instance-options --engine sqlserver-web`
   * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.RegionSupport.html).
   */
  readonly instanceType: string;
  /** The instance's security group (its owner adds the ingress rules). */
  readonly securityGroup: ec2.ISecurityGroup;
  /**
   * Engine version: a major version (`16.00`, RDS picks a current minor) or a full RDS version string
   * (`16.00.4236.2.v1`, which stops deploying the day RDS retires it).
   * @default SQL_SERVER_DEFAULT_VERSION (`16.00`)
   */
  readonly engineVersion?: string;
  /**
   * Days between rotations of the master user's password.
   * @default Duration.days(30)
   */
  readonly rotationInterval?: Duration;
}

/** The database the Chinook script creates and the app reads; spelled once for the bastion's config and the app. */
export const CHINOOK_DATABASE_NAME = 'Chinook';

/**
 * The logs RDS for SQL Server can export to CloudWatch Logs: the SQL Server error log and the SQL Server Agent log.
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Concepts.SQLServer.html
 */
export const SQL_SERVER_LOG_EXPORTS = ['error', 'agent'] as const;

/**
 * The CA that signs the instance's TLS certificate, pinned so the trust anchor is known: the app's image trusts AWS's
 * RDS CA bundle (web-app/rds-ca/global-bundle.pem), which holds this CA's root for every Region, and the connection
 * string verifies the certificate against it. RSA 2048 G1 is the CA RDS offers with the widest client support; its
 * roots are valid until 2061. https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html
 */
export const SQL_SERVER_CA_CERTIFICATE = rds.CaCertificate.RDS_CA_RSA2048_G1;

/**
 * DB parameters of the instance's own parameter group: `rds.force_ssl=1` makes SQL Server refuse every connection that
 * is not encrypted (AWS Config rule rds-sqlserver-encrypted-in-transit checks exactly this). The parameter is static:
 * an instance created with the group has it from the start, but switching an existing instance to the group leaves it
 * `pending-reboot` until the instance restarts (docs/operations.md).
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/SQLServer.Concepts.General.SSL.Using.html
 */
export const SQL_SERVER_PARAMETERS: Readonly<Record<string, string>> = { 'rds.force_ssl': '1' };

/** Name of the generated master user (SQL authentication; only the bastion uses it, to create the Windows logins). */
export const SQL_SERVER_MASTER_USERNAME = 'sqladmin';

const INSTANCE_IDENTIFIER = /^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$/;

/**
 * RDS for SQL Server Web edition joined to AWS Managed Microsoft AD, so that clients holding a Kerberos ticket for the
 * gMSA can sign in. A sample: deleted with the stack, without a final snapshot or retained backups.
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_SQLServerWinAuth.html
 */
export class SqlServer extends Construct {
  /** The instance. */
  public readonly instance: rds.DatabaseInstance;
  /** The master user's credentials `{username, password, host, port, ...}`, rotated by a single-user rotation. */
  public readonly secret: secretsmanager.ISecret;
  /**
   * The same secret, not through its attachment to the instance: depending on it does not wait for the instance.
   * Its `username` and `password` exist from the start; `host` and `port` come with the attachment.
   */
  public readonly masterSecret: rds.DatabaseSecret;
  /** The rotation of {@link secret}; runs once right after it is created. */
  public readonly rotation: secretsmanager.SecretRotation;
  /** Log group of the master secret's rotation function, created ahead of it so `cdk destroy` removes it. */
  public readonly rotationLogGroup: logs.LogGroup;
  /** Log group of each exported log (`/aws/rds/instance/<id>/<log>`), created by the stack so it is deleted with it. */
  public readonly exportedLogGroups: Readonly<Record<(typeof SQL_SERVER_LOG_EXPORTS)[number], logs.LogGroup>>;
  /** The role RDS uses to join the directory. */
  public readonly domainRole: iam.Role;
  /** The DB instance identifier. */
  public readonly instanceIdentifier: string;
  /** The instance's parameter group (family `sqlserver-web-<major>.0`), with {@link SQL_SERVER_PARAMETERS}. */
  public readonly parameterGroup: rds.ParameterGroup;
  /**
   * The RDS endpoint's host name (`<id>.<random>.<region>.rds.amazonaws.com`): the name in the instance's TLS
   * certificate, so clients verify the certificate against it (`HostNameInCertificate`) while they connect to
   * {@link kerberosHostName}. A deploy-time value.
   */
  public readonly endpointAddress: string;
  /**
   * `<instance-id>.<directory DNS name>`: the only name with an SPN, so the only one that gets Kerberos; the RDS
   * endpoint falls back to NTLM. https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_SQLServerWinAuth.KerberosEndpoint.html
   */
  public readonly kerberosHostName: string;

  constructor(scope: Construct, id: string, props: SqlServerProps) {
    super(scope, id);

    if (!INSTANCE_IDENTIFIER.test(props.instanceIdentifier)) {
      throw new Error(
        `DB instance identifier "${props.instanceIdentifier}" is invalid: use 1 to 63 lowercase letters, digits or single hyphens, starting with a letter and not ending with a hyphen.`,
      );
    }
    const engineVersion = props.engineVersion ?? SQL_SERVER_DEFAULT_VERSION;
    if (!SQL_SERVER_VERSION_PATTERN.test(engineVersion)) {
      throw new Error(
        `SQL Server engine version "${engineVersion}" is invalid: use a major version such as 16.00 or a full RDS version such as 16.00.4236.2.v1.`,
      );
    }
    this.instanceIdentifier = props.instanceIdentifier;
    this.kerberosHostName = `${props.instanceIdentifier}.${props.directoryDnsName}`;

    // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_SQLServerWinAuth.SettingUp.html (IAM role). Both
    // principals, as CDK's own default domain role has: RDS and its Directory Service integration assume it. Opt-in
    // Regions need a regional form of the second principal instead:
    // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.RDS_Fea_Regions_DB-eng.Feature.KerberosAuthentication.html
    this.domainRole = new iam.Role(this, 'DomainRole', {
      assumedBy: new iam.CompositePrincipal(
        new iam.ServicePrincipal('rds.amazonaws.com'),
        new iam.ServicePrincipal('directoryservice.rds.amazonaws.com'),
      ),
      description: 'Lets RDS join SQL Server to the directory',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonRDSDirectoryServiceAccess')],
    });

    // Created apart from the instance so that its ARN references nothing of the instance: the bastion reads it while
    // RDS is still creating the instance. The instance attaches it (adding host and port) once it exists.
    this.masterSecret = new rds.DatabaseSecret(this, 'MasterSecret', { username: SQL_SERVER_MASTER_USERNAME });

    // RDS writes exported logs to /aws/rds/instance/<id>/<log>, creating the group (no retention, kept after the
    // stack) unless it exists. Created here first, with a retention, they are deleted with the stack.
    this.exportedLogGroups = Object.fromEntries(
      SQL_SERVER_LOG_EXPORTS.map((log) => [
        log,
        new logs.LogGroup(this, `${log[0].toUpperCase()}${log.slice(1)}LogGroup`, {
          logGroupName: `/aws/rds/instance/${props.instanceIdentifier}/${log}`,
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ]),
    ) as SqlServer['exportedLogGroups'];

    const engine = rds.DatabaseInstanceEngine.sqlServerWeb({
      version: rds.SqlServerEngineVersion.of(engineVersion, engineVersion.slice(0, 5)),
    });
    // CDK names the family from the major version: sqlserver-web-16.0 for 16.00, as RDS does.
    this.parameterGroup = new rds.ParameterGroup(this, 'ParameterGroup', {
      engine,
      description: 'SQL Server for gMSA: encrypted connections only (rds.force_ssl)',
      parameters: { ...SQL_SERVER_PARAMETERS },
    });

    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      engine,
      parameterGroup: this.parameterGroup,
      caCertificate: SQL_SERVER_CA_CERTIFICATE,
      licenseModel: rds.LicenseModel.LICENSE_INCLUDED,
      instanceType: new ec2.InstanceType(props.instanceType),
      instanceIdentifier: props.instanceIdentifier,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [props.securityGroup],
      // With the username given, the template names it as a string instead of reading it from the secret.
      credentials: rds.Credentials.fromSecret(this.masterSecret, SQL_SERVER_MASTER_USERNAME),
      domain: props.directoryId,
      domainRole: this.domainRole,
      storageEncrypted: true,
      cloudwatchLogsExports: [...SQL_SERVER_LOG_EXPORTS],
      storageType: rds.StorageType.GP3,
      allocatedStorage: 20,
      multiAz: false,
      autoMinorVersionUpgrade: true,
      // A sample people deploy and destroy: no final snapshot, no retained automated backups, no deletion protection.
      backupRetention: Duration.days(1),
      deleteAutomatedBackups: true,
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.secret = this.instance.secret!;
    this.endpointAddress = this.instance.dbInstanceEndpointAddress;
    for (const logGroup of Object.values(this.exportedLogGroups)) this.instance.node.addDependency(logGroup);

    // The rotation function gets its own security group; the instance's group admits it on 1433.
    this.rotation = this.instance.addRotationSingleUser({
      automaticallyAfter: props.rotationInterval ?? Duration.days(30),
    });
    // The rotation function comes from the Serverless Application Repository, in a nested stack we can't change: its
    // default log group /aws/lambda/<name> would outlive `cdk destroy`. Creating that group here, before the first
    // rotation, gives it a retention and deletes it with the stack.
    const application = this.rotation.node.findChild('Resource') as sam.CfnApplication;
    const functionName = (application.parameters as Record<string, string>).functionName;
    this.rotationLogGroup = new logs.LogGroup(this, 'RotationLogGroup', {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    application.node.addDependency(this.rotationLogGroup);

    // cdk-nag (AwsSolutions) findings this sample accepts, each with its reason in the template's metadata.
    Validations.of(this.domainRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSDirectoryServiceAccess]',
      reason:
        'The managed policy RDS documents for joining a directory; it grants only Directory Service authorization calls.',
    });
    for (const [id, reason] of [
      ['AwsSolutions-RDS3', 'A sample: one Availability Zone keeps its cost down; production would set multiAz.'],
      ['AwsSolutions-RDS10', 'A sample people deploy and destroy: cdk destroy must delete the instance.'],
      [
        'AwsSolutions-RDS11',
        'Clients and the Kerberos SPN use the SQL Server default port; the security group admits 1433 only from named groups.',
      ],
    ]) {
      Validations.of(this.instance).acknowledge({ id, reason });
    }
    acknowledgeGuardRules(this.instance, {
      RDS_INSTANCE_MULTI_AZ_SUPPORT_CHECK:
        'A sample: one Availability Zone keeps its cost down; production would set multiAz.',
      RDS_INSTANCE_DELETION_PROTECTION_ENABLED_CHECK:
        'A sample people deploy and destroy: cdk destroy must delete the instance.',
      RDS_INSTANCE_BACKUP_ENABLED_CHECK:
        'A sample people deploy and destroy: one day of automated backups, deleted with the instance.',
      RDS_INSTANCE_ENHANCED_MONITORING_ENABLED_CHECK:
        'A sample: CloudWatch metrics and the exported error and agent logs; Enhanced Monitoring costs extra and needs another role.',
      RDS_INSTANCE_NO_DEFAULT_PORTS_CHECK:
        'Clients and the Kerberos SPN use the SQL Server default port; the security group admits 1433 only from named groups.',
      RDS_STORAGE_ENCRYPTED_KMS_KEY_CHECK:
        'Storage is encrypted with the AWS managed key for RDS; a customer managed key costs money and adds key policy to keep.',
    });
    if (!/\.v[0-9]+$/.test(engineVersion)) {
      // CloudFormation's schema lists only full versions (E9006), yet RDS takes a major version and picks a current
      // minor for it; a pinned minor stops deploying ("Cannot find version") the day RDS retires it.
      // https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html (EngineVersion)
      Validations.of(this.instance).acknowledge({
        id: 'CloudFormation-Validate::E9006',
        reason:
          'RDS accepts a major version and picks a current minor for it; a pinned minor fails to deploy once RDS retires it.',
      });
    }
  }
}
