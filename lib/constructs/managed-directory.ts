import { RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as directoryservice from 'aws-cdk-lib/aws-directoryservice';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  DIRECTORY_NETBIOS_NAME,
  MAX_DIRECTORY_NAME_LENGTH,
  PASSWORD_EXCLUDED_CHARACTERS,
  PASSWORD_LENGTH,
} from '../directory-names';

/** Props of {@link ManagedDirectory}. */
export interface ManagedDirectoryProps {
  /** The VPC; the directory's two domain controllers go into its private subnets (two AZs). */
  readonly vpc: ec2.IVpc;
  /** Fully qualified DNS name, at most 47 characters (RDS for SQL Server's limit). */
  readonly dnsName: string;
  /**
   * NetBIOS (short) name.
   * @default DIRECTORY_NETBIOS_NAME
   */
  readonly netbiosName?: string;
  /** Name of the secret holding the `admin` user's password. */
  readonly adminSecretName: string;
}

/**
 * AWS Managed Microsoft AD (Standard edition) with a generated admin password, and the VPC's DHCP options set
 * pointing at the directory's DNS servers so that every host and task resolves the domain.
 */
export class ManagedDirectory extends Construct {
  /** The directory id (`d-...`). */
  public readonly directoryId: string;
  /** The fully qualified DNS name. */
  public readonly dnsName: string;
  /** The NetBIOS name. */
  public readonly netbiosName: string;
  /** The domain controllers' IP addresses (the directory's DNS servers). */
  public readonly dnsIpAddresses: string[];
  /** The secret holding the password of the directory's `admin` user (a plain string, not JSON). */
  public readonly adminSecret: secretsmanager.Secret;
  /** The L1 directory, for dependencies. */
  public readonly resource: directoryservice.CfnMicrosoftAD;

  constructor(scope: Construct, id: string, props: ManagedDirectoryProps) {
    super(scope, id);

    if (props.dnsName.length > MAX_DIRECTORY_NAME_LENGTH) {
      // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_SQLServerWinAuth.html (domain name length)
      throw new Error(
        `Directory name "${props.dnsName}" has ${props.dnsName.length} characters; RDS for SQL Server allows at most ${MAX_DIRECTORY_NAME_LENGTH}: choose a shorter SOLUTION_ID.`,
      );
    }
    this.dnsName = props.dnsName;
    this.netbiosName = props.netbiosName ?? DIRECTORY_NETBIOS_NAME;

    this.adminSecret = new secretsmanager.Secret(this, 'AdminPassword', {
      secretName: props.adminSecretName,
      description: `Password of the "admin" user of ${props.dnsName}`,
      generateSecretString: {
        passwordLength: PASSWORD_LENGTH,
        excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS,
        // AD's complexity policy wants three of four character classes; ask for all four.
        requireEachIncludedType: true,
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.adminSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "The directory takes this password once, at creation; afterwards only the bastion's configuration run reads it. " +
        'Rotating the AD admin password is left to the operator: this sample rotates the credentials its workloads use.',
    });

    const privateSubnets = props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    this.resource = new directoryservice.CfnMicrosoftAD(this, 'Directory', {
      name: props.dnsName,
      shortName: this.netbiosName,
      edition: 'Standard',
      password: this.adminSecret.secretValue.unsafeUnwrap(),
      vpcSettings: {
        vpcId: props.vpc.vpcId,
        // Managed AD takes exactly two subnets in two AZs.
        subnetIds: privateSubnets.subnetIds.slice(0, 2),
      },
    });
    this.directoryId = this.resource.ref;
    this.dnsIpAddresses = Token.asList(this.resource.attrDnsIpAddresses);

    // Hosts and tasks must resolve the domain through the directory's DNS servers, or Kerberos can't find a KDC.
    // https://docs.aws.amazon.com/directoryservice/latest/admin-guide/dhcp_options_set.html
    const dhcpOptions = new ec2.CfnDHCPOptions(this, 'DhcpOptions', {
      domainName: props.dnsName,
      domainNameServers: this.dnsIpAddresses,
    });
    new ec2.CfnVPCDHCPOptionsAssociation(this, 'DhcpOptionsAssociation', {
      vpcId: props.vpc.vpcId,
      dhcpOptionsId: dhcpOptions.ref,
    });
  }
}
