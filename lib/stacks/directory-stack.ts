import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { AlarmTopic } from '../constructs/alarm-topic';
import { CredSpecStorage } from '../constructs/credspec-storage';
import { DomainJoin, DomainJoinTag } from '../constructs/domain-join';
import { DomainlessIdentity } from '../constructs/domainless-identity';
import { ManagedDirectory } from '../constructs/managed-directory';
import { Network } from '../constructs/network';
import { DirectoryReference } from '../directory-reference';
import {
  directoryDnsName,
  DOMAIN_JOIN_USERNAME,
  DOMAINLESS_USERNAME,
  GMSA_NAME,
  SIDECAR_USERNAME,
} from '../directory-names';
import { TicketSource } from '../settings';

/** Props of {@link DirectoryStack}. */
export interface DirectoryStackProps extends StackProps {
  /** Prefix of the names people look up (secrets, parameter). */
  readonly solutionId: string;
  /**
   * NAT gateways of the VPC.
   * @default 1
   */
  readonly natGateways?: number;
  /**
   * An e-mail address the alarm topic subscribes.
   * @default - none
   */
  readonly alarmEmail?: string;
  /**
   * Who gets the app's ticket: with `sidecar` the identity secret is the sidecar's (`<SOLUTION_ID>/sidecar-identity`),
   * with `credentials-fetcher` credentials-fetcher's domainless identity.
   * @default 'credentials-fetcher'
   */
  readonly ticketSource?: TicketSource;
}

/** The network and the directory every other stack stands on, plus the secrets and the CredSpec's storage. */
export class DirectoryStack extends Stack {
  /** The VPC (DHCP options point at the directory's DNS). */
  public readonly vpc: ec2.IVpc;
  /** The directory. */
  public readonly directory: DirectoryReference;
  /** Password of the directory's `admin` user (plain string). */
  public readonly adminSecret: secretsmanager.ISecret;
  /**
   * `{username, password, domainName}` of the app's AD user, whose password the rotation function changes:
   * credentials-fetcher's domainless identity (`<SOLUTION_ID>/credentials-fetcher-identity`), or with
   * `TICKET_SOURCE=sidecar` the Kerberos sidecar's (`<SOLUTION_ID>/sidecar-identity`, user `ecs-sidecar-user`).
   */
  public readonly identitySecret: secretsmanager.ISecret;
  /** The seamless-domain-join secret (`awsSeamlessDomainUsername`, `awsSeamlessDomainPassword`). */
  public readonly domainJoinSecret: secretsmanager.ISecret;
  /** The tag that makes the domain-join association join an instance. */
  public readonly domainJoinTag: DomainJoinTag;
  /** SSM parameter holding the CredSpec. */
  public readonly credSpecParameter: ssm.IStringParameter;
  /** Bucket holding the CredSpec object. */
  public readonly credSpecBucket: s3.IBucket;
  /** Key of the CredSpec object. */
  public readonly credSpecObjectKey: string;
  /**
   * Members may connect to SQL Server on 1433 (the database stack admits this group). It lives here, in the stack
   * everything depends on, so the cluster stack needs no reference to the database stack and deploys alongside it.
   */
  public readonly sqlClientsSecurityGroup: ec2.ISecurityGroup;
  /**
   * The topic every alarm and rotation-failure rule notifies. It lives here, in the stack every other one depends on,
   * so each stack's alarms reach it without a reference between the database and cluster stacks.
   */
  public readonly alarmTopic: sns.ITopic;

  constructor(scope: Construct, id: string, props: DirectoryStackProps) {
    super(scope, id, props);
    const solutionId = props.solutionId;

    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', { displayName: solutionId, email: props.alarmEmail }).topic;
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.alarmTopic.topicArn,
      description:
        'Alarms of the gMSA chain: aws sns subscribe --topic-arn <arn> --protocol email --notification-endpoint <address>',
    });

    const network = new Network(this, 'Network', { natGateways: props.natGateways });
    this.vpc = network.vpc;
    this.sqlClientsSecurityGroup = new ec2.SecurityGroup(this, 'SqlClientsSecurityGroup', {
      vpc: network.vpc,
      description: 'SQL clients: SQL Server admits this group on 1433 (the ECS container instances)',
      // A marker group: its members' own groups carry their outbound rules.
      allowAllOutbound: false,
    });

    const directory = new ManagedDirectory(this, 'ManagedDirectory', {
      vpc: network.vpc,
      dnsName: directoryDnsName(solutionId),
      adminSecretName: `${solutionId}/active-directory-administrator-password`,
    });
    this.directory = {
      directoryId: directory.directoryId,
      dnsName: directory.dnsName,
      netbiosName: directory.netbiosName,
      dnsIpAddresses: directory.dnsIpAddresses,
    };
    this.adminSecret = directory.adminSecret;

    const sidecar = props.ticketSource === 'sidecar';
    // Same shape, so one rotation function rotates either (docs/sidecar.md). The sidecar reads its own with the task
    // role; no credentials-fetcher secret exists in that mode.
    this.identitySecret = sidecar
      ? new DomainlessIdentity(this, 'SidecarIdentity', {
          secretName: `${solutionId}/sidecar-identity`,
          username: SIDECAR_USERNAME,
          domainName: directory.dnsName,
          description: 'AD user the Kerberos sidecar signs in as (kinit) for the web app (TICKET_SOURCE=sidecar)',
        }).secret
      : new DomainlessIdentity(this, 'DomainlessIdentity', {
          secretName: `${solutionId}/credentials-fetcher-identity`,
          username: DOMAINLESS_USERNAME,
          domainName: directory.dnsName,
        }).secret;

    this.domainJoinTag = { key: 'gmsa-linux-ecs:domain-join', value: solutionId };
    const domainJoin = new DomainJoin(this, 'DomainJoin', {
      directoryId: directory.directoryId,
      directoryName: directory.dnsName,
      dnsIpAddresses: directory.dnsIpAddresses,
      joinUsername: DOMAIN_JOIN_USERNAME,
      tag: this.domainJoinTag,
    });
    this.domainJoinSecret = domainJoin.secret;

    const credSpec = new CredSpecStorage(this, 'CredSpecStorage', {
      parameterName: `/${solutionId}/credspec`,
      objectKey: `credspecs/${GMSA_NAME}.json`,
    });
    this.credSpecParameter = credSpec.parameter;
    this.credSpecBucket = credSpec.bucket;
    this.credSpecObjectKey = credSpec.objectKey;

    new CfnOutput(this, 'DirectoryId', { value: directory.directoryId, description: 'AWS Managed Microsoft AD id' });
    new CfnOutput(this, 'DirectoryName', { value: directory.dnsName, description: 'Directory DNS name' });
    new CfnOutput(this, 'AdminSecretName', {
      value: directory.adminSecret.secretName,
      description: 'Secret with the password of the directory user "admin"',
    });
    new CfnOutput(this, 'IdentitySecretName', {
      value: this.identitySecret.secretName,
      description: sidecar
        ? 'Secret the Kerberos sidecar reads (TICKET_SOURCE=sidecar)'
        : 'Secret credentials-fetcher reads in domainless mode',
    });
    new CfnOutput(this, 'CredSpecBucketName', { value: credSpec.bucket.bucketName });
    new CfnOutput(this, 'CredSpecObjectKey', { value: credSpec.objectKey });
    new CfnOutput(this, 'CredSpecParameterName', { value: credSpec.parameter.parameterName });
  }
}
