import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PASSWORD_EXCLUDED_CHARACTERS, PASSWORD_LENGTH } from '../directory-names';

/** Props of {@link DomainlessIdentity}. */
export interface DomainlessIdentityProps {
  /** Name of the secret, e.g. `<SOLUTION_ID>/credentials-fetcher-identity`. */
  readonly secretName: string;
  /** sAMAccountName of the AD user the bastion creates with this password. */
  readonly username: string;
  /** The directory's DNS name. */
  readonly domainName: string;
  /**
   * Description of the secret.
   * @default 'AD user credentials-fetcher uses to retrieve the gMSA password (domainless mode)'
   */
  readonly description?: string;
}

/**
 * The secret credentials-fetcher reads in domainless mode: `{username, password, domainName}` of an AD user that may
 * retrieve the gMSA's password. The bastion creates the user with this password.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linux-gmsa.html
 */
export class DomainlessIdentity extends Construct {
  /** The secret. */
  public readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: DomainlessIdentityProps) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      secretName: props.secretName,
      description:
        props.description ?? 'AD user credentials-fetcher uses to retrieve the gMSA password (domainless mode)',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: props.username, domainName: props.domainName }),
        generateStringKey: 'password',
        passwordLength: PASSWORD_LENGTH,
        excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS,
        requireEachIncludedType: true,
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotated by the DomainlessIdentityRotation function of the database stack in domainless mode (cdk-nag sees ' +
        'only schedules in this stack); in domain-joined mode no AD user or workload uses this secret. The Kerberos ' +
        "sidecar's identity (TICKET_SOURCE=sidecar) is rotated by the same function.",
    });
  }
}
