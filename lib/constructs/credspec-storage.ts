import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

/** Props of {@link CredSpecStorage}. */
export interface CredSpecStorageProps {
  /** Name of the SSM parameter, e.g. `/<SOLUTION_ID>/credspec`. */
  readonly parameterName: string;
  /** Key of the CredSpec object in the bucket. */
  readonly objectKey: string;
}

/** Value of the parameter until the bastion writes the real CredSpec; ECS fails clearly on it if read too early. */
export const CREDSPEC_PLACEHOLDER = 'placeholder: the bastion writes the CredSpec here during cdk deploy';

/**
 * Where the CredSpec lives: an SSM String parameter and an S3 object (Fargate reads only S3). The bastion writes both;
 * the task definition's `credentialSpecs` names one of them.
 */
export class CredSpecStorage extends Construct {
  /** The SSM parameter holding the CredSpec JSON. */
  public readonly parameter: ssm.StringParameter;
  /** The bucket holding the CredSpec object. */
  public readonly bucket: s3.Bucket;
  /** The bucket receiving the CredSpec bucket's server access logs. */
  public readonly accessLogsBucket: s3.Bucket;
  /** Key of the CredSpec object in {@link bucket}. */
  public readonly objectKey: string;

  constructor(scope: Construct, id: string, props: CredSpecStorageProps) {
    super(scope, id);
    this.objectKey = props.objectKey;

    this.parameter = new ssm.StringParameter(this, 'Parameter', {
      parameterName: props.parameterName,
      description: 'CredSpec of the gMSA (JSON), written by the bastion',
      stringValue: CREDSPEC_PLACEHOLDER,
      tier: ssm.ParameterTier.STANDARD,
    });

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      // Server access log delivery supports only SSE-S3 on the target bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'credspec-bucket/',
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
  }

  /** ARN of the CredSpec object, as `credentialSpecs` and IAM policies name it. */
  public get objectArn(): string {
    return this.bucket.arnForObjects(this.objectKey);
  }
}
