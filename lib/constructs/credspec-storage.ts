import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { logDestinationBucket } from './log-destination-bucket';
import { acknowledgeGuardRules } from '../guard-acknowledgements';

/** Days an earlier version of the CredSpec object is kept after it is replaced or deleted. */
export const CREDSPEC_NONCURRENT_DAYS = 30;

/** Props of {@link CredSpecStorage}. */
export interface CredSpecStorageProps {
  /** Name of the SSM parameter, e.g. `/<SOLUTION_ID>/credspec`. */
  readonly parameterName: string;
  /** Key of the CredSpec object in the bucket. */
  readonly objectKey: string;
}

/**
 * Where the CredSpec lives: an SSM String parameter and an S3 object (Fargate reads only S3), both written by the
 * bastion from one string. Neither is a CloudFormation resource: a parameter owned by CloudFormation would get its
 * template value back on any update of that resource, and every new task would then fail to start. This construct
 * only creates the bucket and names the parameter; {@link CredSpecCleanup} deletes both copies on `cdk destroy`.
 */
export class CredSpecStorage extends Construct {
  /**
   * The SSM parameter holding the CredSpec JSON, by name only: its ARN is built from the name, and nothing in any
   * template reads its value.
   */
  public readonly parameter: ssm.IStringParameter;
  /** The bucket holding the CredSpec object. */
  public readonly bucket: s3.Bucket;
  /** The bucket receiving the CredSpec bucket's server access logs. */
  public readonly accessLogsBucket: s3.Bucket;
  /** Key of the CredSpec object in {@link bucket}. */
  public readonly objectKey: string;

  constructor(scope: Construct, id: string, props: CredSpecStorageProps) {
    super(scope, id);
    this.objectKey = props.objectKey;

    // A dynamic reference, not the default template parameter of type AWS::SSM::Parameter::Value: such a parameter
    // would make CloudFormation read the value at deploy time, before the bastion has written it. The reference is
    // never rendered because nothing reads `stringValue`.
    this.parameter = ssm.StringParameter.fromStringParameterAttributes(this, 'Parameter', {
      parameterName: props.parameterName,
      forceDynamicReference: true,
    });

    this.accessLogsBucket = logDestinationBucket(this, 'AccessLogs');

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Every task reads this one object: an overwrite or a delete by mistake can be undone from an earlier version,
      // and earlier versions go after CREDSPEC_NONCURRENT_DAYS.
      versioned: true,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(CREDSPEC_NONCURRENT_DAYS) }],
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'credspec-bucket/',
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    acknowledgeGuardRules(this.accessLogsBucket, {
      S3_BUCKET_LOGGING_ENABLED_CHECK:
        "The bucket receives the CredSpec bucket's server access logs; logging its own access would need yet another bucket.",
      S3_BUCKET_DEFAULT_ENCRYPTION_KMS_CHECK:
        'Server access log delivery supports only SSE-S3 encryption on the destination bucket.',
      ...SAMPLE_BUCKET_ACKNOWLEDGEMENTS,
    });
    acknowledgeGuardRules(this.bucket, {
      S3_BUCKET_DEFAULT_ENCRYPTION_KMS_CHECK:
        'SSE-S3: the CredSpec holds no secret (names and SIDs of the directory), and a KMS key would cost money and ' +
        'need kms:Decrypt for the ECS agent in every mode.',
      ...SAMPLE_BUCKET_ACKNOWLEDGEMENTS,
    });
  }

  /** ARN of the CredSpec object, as `credentialSpecs` and IAM policies name it. */
  public get objectArn(): string {
    return this.bucket.arnForObjects(this.objectKey);
  }
}

/** Control Tower rules that neither bucket of a sample people deploy and destroy follows. */
const SAMPLE_BUCKET_ACKNOWLEDGEMENTS: Readonly<Record<string, string>> = {
  S3_BUCKET_OBJECT_LOCK_ENABLED_CHECK:
    'A sample people deploy and destroy: object lock would keep cdk destroy from emptying and deleting the bucket.',
  S3_EVENT_NOTIFICATIONS_ENABLED_CHECK:
    'Nothing in the solution reacts to new objects in this bucket; they are read on demand.',
};

/** Props of {@link CredSpecCleanup}. */
export interface CredSpecCleanupProps {
  /** The CredSpec parameter the bastion writes. */
  readonly parameter: ssm.IStringParameter;
  /** The bucket of the CredSpec object. */
  readonly bucket: s3.IBucket;
  /** Key of the CredSpec object. */
  readonly objectKey: string;
}

/**
 * Deletes the CredSpec parameter and object when its stack is deleted, and does nothing on create or update: the
 * bastion owns their value. Fixed physical ids, so no update ever replaces (and thereby deletes) them. Put it in the
 * stack of the writer, and make the writer depend on it, so the deletion runs after the writer is gone.
 */
export class CredSpecCleanup extends Construct {
  /** Deletes the SSM parameter (a missing parameter is not an error). */
  public readonly parameterCleanup: cr.AwsCustomResource;
  /** Deletes the S3 object (S3 answers a missing key with success). */
  public readonly objectCleanup: cr.AwsCustomResource;

  constructor(scope: Construct, id: string, props: CredSpecCleanupProps) {
    super(scope, id);

    // One call per resource: AwsCustomResource runs a single API call per event. Both share CDK's one provider
    // function per stack, whose role gets exactly these two statements. Its log group is ours, so that it has a
    // retention and `cdk destroy` removes it (CDK's default one is retained).
    const logGroup = new logs.LogGroup(this, 'ProviderLogGroup', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.parameterCleanup = new cr.AwsCustomResource(this, 'Parameter', {
      resourceType: 'Custom::CredSpecParameterCleanup',
      onDelete: {
        service: 'SSM',
        action: 'DeleteParameter',
        parameters: { Name: props.parameter.parameterName },
        physicalResourceId: cr.PhysicalResourceId.of('credspec-parameter-cleanup'),
        ignoreErrorCodesMatching: 'ParameterNotFound',
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['ssm:DeleteParameter'], resources: [props.parameter.parameterArn] }),
      ]),
      installLatestAwsSdk: false,
      logGroup,
    });
    this.objectCleanup = new cr.AwsCustomResource(this, 'Object', {
      resourceType: 'Custom::CredSpecObjectCleanup',
      onDelete: {
        service: 'S3',
        action: 'DeleteObject',
        parameters: { Bucket: props.bucket.bucketName, Key: props.objectKey },
        physicalResourceId: cr.PhysicalResourceId.of('credspec-object-cleanup'),
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['s3:DeleteObject'],
          resources: [props.bucket.arnForObjects(props.objectKey)],
        }),
      ]),
      installLatestAwsSdk: false,
      logGroup,
    });
    // CDK's single provider function of AwsCustomResource, shared by the stack: only its role is ours to annotate.
    const providerId = `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`;
    const providerRole = Stack.of(this).node.tryFindChild(providerId)?.node.tryFindChild('ServiceRole');
    if (providerRole === undefined) {
      throw new Error(
        `AwsCustomResource's provider function ${providerId} has no ServiceRole: CDK changed its layout.`,
      );
    }
    Validations.of(providerRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's AwsCustomResource provider function: the managed policy only lets it write its own CloudWatch logs.",
    });
  }
}
