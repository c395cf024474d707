import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { PASSWORD_EXCLUDED_CHARACTERS, PASSWORD_LENGTH } from '../directory-names';

/** A tag that marks the instances the domain-join association joins. */
export interface DomainJoinTag {
  /** Tag key. */
  readonly key: string;
  /** Tag value. */
  readonly value: string;
}

/** Props of {@link DomainJoin}. */
export interface DomainJoinProps {
  /** The directory id (`d-...`). */
  readonly directoryId: string;
  /** The directory's DNS name. */
  readonly directoryName: string;
  /** The directory's DNS server addresses. */
  readonly dnsIpAddresses: string[];
  /** sAMAccountName of the AD user that joins hosts (the bastion creates it with the secret's password). */
  readonly joinUsername: string;
  /** The tag that selects the instances to join. */
  readonly tag: DomainJoinTag;
}

/**
 * SSM seamless domain join: the secret AWS-JoinDirectoryServiceDomain reads, and a State Manager association that
 * joins every instance carrying {@link DomainJoinProps.tag}, including instances launched later.
 * https://docs.aws.amazon.com/directoryservice/latest/admin-guide/seamlessly_join_linux_instance.html
 */
export class DomainJoin extends Construct {
  /** The seamless-domain-join secret (`awsSeamlessDomainUsername`, `awsSeamlessDomainPassword`). */
  public readonly secret: secretsmanager.Secret;
  /** The association. */
  public readonly association: ssm.CfnAssociation;

  constructor(scope: Construct, id: string, props: DomainJoinProps) {
    super(scope, id);

    this.secret = new secretsmanager.Secret(this, 'Secret', {
      // The name AWS-JoinDirectoryServiceDomain looks for; it can't be changed.
      secretName: `aws/directory-services/${props.directoryId}/seamless-domain-join`,
      description: 'AD user that joins instances to the directory (SSM seamless domain join)',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ awsSeamlessDomainUsername: props.joinUsername }),
        generateStringKey: 'awsSeamlessDomainPassword',
        passwordLength: PASSWORD_LENGTH,
        excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS,
        requireEachIncludedType: true,
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'SSM seamless domain join reads this password at every join; the account it belongs to may only join computers ' +
        'and add them to the gMSA group. Rotating it is left to the operator.',
    });

    this.association = new ssm.CfnAssociation(this, 'Association', {
      name: 'AWS-JoinDirectoryServiceDomain',
      parameters: {
        directoryId: [props.directoryId],
        directoryName: [props.directoryName],
        dnsIpAddresses: props.dnsIpAddresses,
      },
      targets: [{ key: `tag:${props.tag.key}`, values: [props.tag.value] }],
    });
  }
}
