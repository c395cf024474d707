import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DirectoryServiceClient } from '@aws-sdk/client-directory-service';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';

/** One client per service the checks call. */
export interface AwsClients {
  readonly cloudFormation: CloudFormationClient;
  readonly directoryService: DirectoryServiceClient;
  readonly ec2: EC2Client;
  readonly ecs: ECSClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly rds: RDSClient;
  readonly s3: S3Client;
  readonly secretsManager: SecretsManagerClient;
  readonly ssm: SSMClient;
}

/** Per request: 3 s to connect, 8 s for the answer, one retry. The run as a whole is bounded by the runner. */
export const CONNECTION_TIMEOUT_MS = 3000;
export const REQUEST_TIMEOUT_MS = 8000;

/** Fixed credentials, for tests; the default provider chain finds real ones. */
export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Test seams: another endpoint (a local fake) and shorter timeouts. */
export interface ClientOptions {
  readonly endpoint?: string;
  readonly requestTimeoutMs?: number;
}

/** Clients for a region (undefined: the SDK's own resolution, env then profile). */
export function createClients(
  region?: string,
  credentials?: StaticCredentials,
  options: ClientOptions = {},
): AwsClients {
  const config = {
    region,
    credentials,
    endpoint: options.endpoint,
    maxAttempts: 2,
    requestHandler: {
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
      // Without it the handler only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    },
  };
  return {
    cloudFormation: new CloudFormationClient(config),
    directoryService: new DirectoryServiceClient(config),
    ec2: new EC2Client(config),
    ecs: new ECSClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    rds: new RDSClient(config),
    s3: new S3Client(config),
    secretsManager: new SecretsManagerClient(config),
    ssm: new SSMClient(config),
  };
}
