import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { AdManagementBastion } from '../constructs/ad-management-bastion';
import { buildCredSpecTemplate } from '../constructs/credspec-document';
import { CredSpecCleanup } from '../constructs/credspec-storage';
import { DomainlessIdentityRotation } from '../constructs/domainless-identity-rotation';
import { RotationFailureAlerts } from '../constructs/rotation-failure-alerts';
import { CHINOOK_DATABASE_NAME, SqlServer } from '../constructs/sql-server';
import { DirectoryReference } from '../directory-reference';
import { GMSA_NAME, GMSA_PRINCIPALS_GROUP, SIDECAR_USERNAME } from '../directory-names';
import { AppMode } from '../settings';

/** Props of {@link DatabaseStack}. */
export interface DatabaseStackProps extends StackProps {
  /** Prefix of the names people look up. */
  readonly solutionId: string;
  /** The VPC of the directory stack. */
  readonly vpc: ec2.IVpc;
  /** The directory the database and the bastion join. */
  readonly directory: DirectoryReference;
  /** Password of the directory's `admin` user. */
  readonly adminSecret: secretsmanager.ISecret;
  /**
   * The app's AD identity `{username, password, domainName}` (the directory stack's `identitySecret`): the domainless
   * identity, or in sidecar mode the sidecar's. The bastion creates that AD user; the rotation function rotates it.
   */
  readonly identitySecret: secretsmanager.ISecret;
  /** The seamless-domain-join secret; the bastion creates that AD user. */
  readonly domainJoinSecret: secretsmanager.ISecret;
  /** The SSM parameter the bastion writes the CredSpec to. */
  readonly credSpecParameter: ssm.IStringParameter;
  /** The bucket the bastion writes the CredSpec object to. */
  readonly credSpecBucket: s3.IBucket;
  /** Key of the CredSpec object. */
  readonly credSpecObjectKey: string;
  /**
   * The deployment mode. Domain-joined: the CredSpec has no `HostAccountConfig` and no AD user rotates. Sidecar: the
   * bastion also creates the sidecar's AD user and read-only SQL login, and the identity is the sidecar's.
   */
  readonly mode: AppMode;
  /** The directory stack's SQL clients group (ECS container instances): SQL Server admits it on 1433. */
  readonly sqlClientsSecurityGroup: ec2.ISecurityGroup;
  /** Instance class of SQL Server, without the `db.` prefix. */
  readonly dbInstanceType: string;
  /**
   * SQL Server engine version: a major version (`16.00`) or a full RDS version string.
   * @default SQL_SERVER_DEFAULT_VERSION
   */
  readonly dbEngineVersion?: string;
  /**
   * The bastion restarts instead of stopping after its run.
   * @default false
   */
  readonly keepBastionRunning?: boolean;
  /**
   * Windows Server 2022 AMI id of the bastion; changing it replaces the bastion.
   * @default - the latest one when EC2 launches the instance, kept for its lifetime
   */
  readonly bastionAmiId?: string;
  /** Key pair of the bastion. @default - none: Systems Manager only */
  readonly keyPairName?: string;
  /** The only source allowed to RDP to the bastion (BASTION_RDP_CIDR). @default - no RDP, bastion in a private subnet */
  readonly rdpIngressCidr?: string;
  /**
   * The bastion's role may read its four secrets again, for maintenance (BASTION_MAINTENANCE).
   * @default false
   */
  readonly bastionMaintenance?: boolean;
  /**
   * Days between rotations of the domainless identity's AD password (domainless mode only).
   * @default 30
   */
  readonly identityRotationDays?: number;
  /** The alarm topic: a failed rotation of the SQL Server or domainless identity secret is reported there. */
  readonly alarmTopic: sns.ITopic;
}

/** The DB instance identifier for a solution id; the bastion finds the instance by it at run time. */
export function dbInstanceIdentifierFor(solutionId: string): string {
  return `${solutionId}-sql`;
}

/** The bastion's log group for a solution id; the dashboard, in another stack, shows its last run by this name. */
export function bastionLogGroupNameFor(solutionId: string): string {
  return `/${solutionId}/active-directory-management-instance`;
}

/** The EventBridge rule reporting failed secret rotations; the dashboard, in another stack, finds it by this name. */
export function rotationFailureRuleNameFor(solutionId: string): string {
  return `${solutionId}-rotation-failed`;
}

/**
 * RDS for SQL Server joined to the directory, and the bastion that configures AD, the database and the CredSpec. The
 * two are created side by side: the bastion references nothing of the DB instance and waits for it at run time.
 */
export class DatabaseStack extends Stack {
  /** Security group of SQL Server; clients add their own 1433 ingress rule from their stack. */
  public readonly databaseSecurityGroup: ec2.ISecurityGroup;
  /** The RDS instance identifier. */
  public readonly dbInstanceIdentifier: string;
  /** `<db-instance-id>.<directory name>`: the only server name that gets Kerberos. */
  public readonly kerberosHostName: string;
  /**
   * The RDS endpoint's host name, the name in SQL Server's TLS certificate: clients verify the certificate against it
   * while they connect to {@link kerberosHostName}.
   */
  public readonly endpointAddress: string;
  /** SQL Server, its master secret and that secret's rotation. */
  public readonly sqlServer: SqlServer;
  /**
   * The bastion. Anything that must wait until AD, the database and the CredSpec are configured (e.g. the rotation
   * of the domainless identity's password, which must not change it before the bastion has created the AD user)
   * depends on `bastion.configured`, whose creation completes only on the run's success signal.
   */
  public readonly bastion: AdManagementBastion;
  /** Rotation of the domainless identity's password; absent in domain-joined mode, which has no such AD user. */
  public readonly identityRotation?: DomainlessIdentityRotation;
  /** Reports failed rotations of the SQL Server master secret and the domainless identity to the alarm topic. */
  public readonly rotationFailureAlerts: RotationFailureAlerts;

  constructor(scope: Construct, id: string, props: DatabaseStackProps) {
    super(scope, id, props);

    this.databaseSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc: props.vpc,
      description: 'SQL Server: 1433 from the ECS hosts, the app tasks, the bastion and the password rotation only',
      // SQL Server joined to AWS Managed AD talks to the domain controllers (DNS, Kerberos, LDAP, RPC, SMB on many
      // ports): https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_SQLServer_SelfManagedActiveDirectory.Requirements.html
      allowAllOutbound: true,
    });

    this.sqlServer = new SqlServer(this, 'SqlServer', {
      vpc: props.vpc,
      directoryId: props.directory.directoryId,
      directoryDnsName: props.directory.dnsName,
      instanceIdentifier: dbInstanceIdentifierFor(props.solutionId),
      instanceType: props.dbInstanceType,
      engineVersion: props.dbEngineVersion,
      securityGroup: this.databaseSecurityGroup,
    });
    this.dbInstanceIdentifier = this.sqlServer.instanceIdentifier;
    this.kerberosHostName = this.sqlServer.kerberosHostName;
    this.endpointAddress = this.sqlServer.endpointAddress;

    const mode = props.mode;
    // The identity secret is credentials-fetcher's (domainless), the sidecar's, or unused (domain-joined).
    const identity =
      mode.ticketSource === 'sidecar'
        ? { domainless: undefined, sidecar: props.identitySecret }
        : { domainless: mode.domainJoinEcs ? undefined : props.identitySecret, sidecar: undefined };
    // In sidecar mode the bastion still creates the gMSA and writes the CredSpec (without HostAccountConfig, like
    // domain-joined mode): Configure-Database.ps1 gives the gMSA its login, and the same directory can switch back to
    // TICKET_SOURCE=credentials-fetcher without a new bastion run (docs/sidecar.md).
    const credSpecTemplate = buildCredSpecTemplate({
      gmsaName: GMSA_NAME,
      dnsName: props.directory.dnsName,
      netbiosName: props.directory.netbiosName,
      domainlessCredentialArn: identity.domainless?.secretArn,
    });

    this.bastion = new AdManagementBastion(this, 'AdManagementBastion', {
      vpc: props.vpc,
      directory: props.directory,
      adminSecret: props.adminSecret,
      identitySecret: identity.domainless,
      sidecarIdentitySecret: identity.sidecar,
      // Only domain-joined hosts use the join user (docs/security.md).
      domainJoinSecret:
        mode.ticketSource === 'credentials-fetcher' && mode.domainJoinEcs ? props.domainJoinSecret : undefined,
      // The secret itself, not its attachment (which waits for the instance); the identifier as the same plain string
      // the instance is created with.
      databaseSecret: this.sqlServer.masterSecret,
      databaseInstanceIdentifier: dbInstanceIdentifierFor(props.solutionId),
      databaseName: CHINOOK_DATABASE_NAME,
      gmsaName: GMSA_NAME,
      gmsaPrincipalsGroup: GMSA_PRINCIPALS_GROUP,
      credSpecTemplate,
      credSpecParameter: props.credSpecParameter,
      credSpecBucket: props.credSpecBucket,
      credSpecObjectKey: props.credSpecObjectKey,
      logGroupName: bastionLogGroupNameFor(props.solutionId),
      rdpIngressCidr: props.rdpIngressCidr,
      maintenance: props.bastionMaintenance,
      keyPairName: props.keyPairName,
      keepRunning: props.keepBastionRunning,
      amiId: props.bastionAmiId,
    });

    // The bastion writes the CredSpec's two copies; cdk destroy deletes them through this, after the bastion is gone.
    const credSpecCleanup = new CredSpecCleanup(this, 'CredSpecCleanup', {
      parameter: props.credSpecParameter,
      bucket: props.credSpecBucket,
      objectKey: props.credSpecObjectKey,
    });
    this.bastion.configured.node.addDependency(credSpecCleanup);

    // Only the ingress side: the members' own groups allow all outbound traffic. The clients group comes from the
    // directory stack, so stacks that deploy alongside this one (the cluster) reach SQL Server without referencing it.
    this.databaseSecurityGroup.addIngressRule(
      props.sqlClientsSecurityGroup,
      ec2.Port.tcp(1433),
      'from the SQL clients group (ECS container instances)',
    );
    // Only the ingress side: the bastion's group already allows all outbound traffic.
    this.databaseSecurityGroup.addIngressRule(
      this.bastion.securityGroup,
      ec2.Port.tcp(1433),
      'from the AD management instance',
    );

    // The first rotation runs as soon as the schedule exists: it must not change the master password while the
    // bastion is using it, so it waits for the bastion's success signal.
    const rotationSchedule = this.sqlServer.secret.node.tryFindChild('RotationSchedule');
    if (rotationSchedule === undefined) {
      throw new Error(
        'The SQL Server secret has no RotationSchedule child: CDK changed where addRotationSingleUser puts it.',
      );
    }
    rotationSchedule.node.addDependency(this.bastion.configured);

    const rotated = identity.domainless ?? identity.sidecar;
    if (rotated !== undefined) {
      // Creating the schedule rotates at once: wait until the bastion has created the AD user with the first password.
      // The same function and four steps for the sidecar's user: only the user it may reset differs.
      this.identityRotation = new DomainlessIdentityRotation(this, 'DomainlessIdentityRotation', {
        secret: rotated,
        username: identity.sidecar ? SIDECAR_USERNAME : undefined,
        directoryId: props.directory.directoryId,
        vpc: props.vpc,
        rotationDays: props.identityRotationDays,
        dependsOn: [this.bastion.configured],
        alertTopic: props.alarmTopic,
      });
      new CfnOutput(this, 'IdentityRotationLogGroupName', {
        value: this.identityRotation.logGroup.logGroupName,
        description: identity.sidecar
          ? "Log of the Kerberos sidecar identity's password rotation"
          : 'Log of the domainless identity password rotation',
      });
    }

    this.rotationFailureAlerts = new RotationFailureAlerts(this, 'RotationFailureAlerts', {
      secrets: [this.sqlServer.secret, ...(rotated ? [rotated] : [])],
      topic: props.alarmTopic,
      ruleName: rotationFailureRuleNameFor(props.solutionId),
    });

    new CfnOutput(this, 'DBInstanceIdentifier', { value: this.dbInstanceIdentifier });
    new CfnOutput(this, 'KerberosHostName', {
      value: this.kerberosHostName,
      description: 'Server name for Windows authentication (Kerberos); the RDS endpoint only gets NTLM',
    });
    new CfnOutput(this, 'DBInstanceEndpointAddress', { value: this.sqlServer.instance.dbInstanceEndpointAddress });
    new CfnOutput(this, 'DBCredentialsSecretArn', { value: this.sqlServer.secret.secretArn });
    new CfnOutput(this, 'ADManagementInstanceId', {
      value: this.bastion.instance.instanceId,
      description:
        'Windows instance that configured AD, SQL Server and the CredSpec (scripts in C:\\SampleConfig); stopped after its run; started again it changes nothing (docs/bastion.md)',
    });
    new CfnOutput(this, 'ADManagementLogGroupName', {
      value: this.bastion.logGroup.logGroupName,
      description: 'Log of the configuration run: aws logs tail <name> --follow',
    });
  }
}
