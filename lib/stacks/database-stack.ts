import { Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { DirectoryReference } from '../directory-reference';

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
  /** The domainless identity `{username, password, domainName}`; the bastion creates that AD user. */
  readonly identitySecret: secretsmanager.ISecret;
  /** The seamless-domain-join secret; the bastion creates that AD user. */
  readonly domainJoinSecret: secretsmanager.ISecret;
  /** The SSM parameter the bastion writes the CredSpec to. */
  readonly credSpecParameter: ssm.IStringParameter;
  /** The bucket the bastion writes the CredSpec object to. */
  readonly credSpecBucket: s3.IBucket;
  /** Key of the CredSpec object. */
  readonly credSpecObjectKey: string;
  /** Domain-joined mode: the CredSpec has no `HostAccountConfig`. */
  readonly domainJoinEcs: boolean;
  /** Instance class of SQL Server, without the `db.` prefix. */
  readonly dbInstanceType: string;
  /** Key pair of the bastion. @default - none: Systems Manager only */
  readonly keyPairName?: string;
  /** The only source allowed to RDP to the bastion. @default - no RDP, bastion in a private subnet */
  readonly rdpIngressCidr?: string;
}

/** RDS for SQL Server joined to the directory, and the bastion that configures AD, the database and the CredSpec. */
export class DatabaseStack extends Stack {
  /** Security group of SQL Server; clients add their own 1433 ingress rule from their stack. */
  public readonly databaseSecurityGroup: ec2.ISecurityGroup;
  /** The RDS instance identifier. */
  public readonly dbInstanceIdentifier: string;
  /** `<db-instance-id>.<directory name>`: the only server name that gets Kerberos. */
  public readonly kerberosHostName: string;

  constructor(scope: Construct, id: string, props: DatabaseStackProps) {
    super(scope, id, props);
    // Placeholder until the database issue lands: the interface other stacks rely on.
    this.databaseSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc: props.vpc,
      description: 'SQL Server: 1433 from the ECS hosts, the app tasks and the bastion only',
      allowAllOutbound: false,
    });
    this.dbInstanceIdentifier = `${props.solutionId}-sql`;
    this.kerberosHostName = `${this.dbInstanceIdentifier}.${props.directory.dnsName}`;
  }
}
