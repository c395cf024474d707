import { createServer } from 'node:net';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../../verify/cli';
import { createClients } from '../../verify/clients';
import { DEFAULT_SETTINGS, Settings } from '../../lib/settings';
import { CheckContext, DeployedStack, StackRole } from '../../verify/types';

// The SDK's Node 22 notice says nothing about these tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const clientMocks = new Map<unknown, unknown>();

/**
 * The one mock of an AWS SDK client class for all the verify tests: they run in one Jest file
 * (test/verify.test.ts), and mocking a class again detaches the mock made before (its behaviours would be lost).
 */
export const clientMock: typeof mockClient = (client, options) => {
  let mock = clientMocks.get(client);
  if (mock === undefined) {
    mock = mockClient(client, options);
    clientMocks.set(client, mock);
  }
  return mock as never;
};

export const SOLUTION_ID = 'amazon-ecs-gmsa-linux';
export const DIRECTORY_ID = 'd-1234567890';
export const DOMAIN = `directory.${SOLUTION_ID}.com`;
export const IDENTITY_SECRET = `${SOLUTION_ID}/credentials-fetcher-identity`;
export const IDENTITY_SECRET_ARN = `arn:aws:secretsmanager:us-east-1:111122223333:secret:${IDENTITY_SECRET}-AbCdEf`;

/** The outputs each stack has in domainless EC2 mode with the application (contract 8 keys). */
export function outputsFor(role: StackRole): Record<string, string> {
  switch (role) {
    case 'directory':
      return {
        DirectoryId: DIRECTORY_ID,
        DirectoryName: DOMAIN,
        AdminSecretName: `${SOLUTION_ID}/active-directory-administrator-password`,
        IdentitySecretName: IDENTITY_SECRET,
        CredSpecBucketName: 'credspec-bucket',
        CredSpecObjectKey: 'credspecs/SampleWebApp.json',
        CredSpecParameterName: `/${SOLUTION_ID}/credspec`,
      };
    case 'database':
      return {
        IdentityRotationLogGroupName: '/rotation-log',
        DBInstanceIdentifier: `${SOLUTION_ID}-sql`,
        KerberosHostName: `${SOLUTION_ID}-sql.${DOMAIN}`,
        DBInstanceEndpointAddress: 'db.example.us-east-1.rds.amazonaws.com',
        DBCredentialsSecretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf',
        ADManagementInstanceId: 'i-0123456789abcdef0',
        ADManagementLogGroupName: '/bastion-log',
      };
    case 'cluster':
      return { ClusterName: `${SOLUTION_ID}-cluster`, ECSAutoScalingGroupName: 'asg-1' };
    case 'application':
      return {
        ServiceURL: 'http://alb.example.com',
        ECRRepositoryURI: '111122223333.dkr.ecr.us-east-1.amazonaws.com/web',
        ServiceName: 'web-app',
        LogGroupName: '/app-log',
      };
  }
}

/** A complete deployment in the given mode; `edit` changes stacks before the context is built. */
export function makeContext(
  settings: Partial<Settings> = {},
  edit: (stacks: DeployedStack[]) => DeployedStack[] = (stacks) => stacks,
  extra: Partial<CheckContext> = {},
): CheckContext {
  const full: Settings = { ...DEFAULT_SETTINGS, deployApp: true, ...settings };
  const roles: StackRole[] = ['directory', 'database', 'cluster', 'application'];
  const stacks = roles.map((role) => {
    const outputs = outputsFor(role);
    if (role === 'database' && full.domainJoinEcs) delete outputs.IdentityRotationLogGroupName;
    if (role === 'cluster' && full.fargate) delete outputs.ECSAutoScalingGroupName;
    return { role, name: `${SOLUTION_ID}-${role}`, status: 'CREATE_COMPLETE', outputs };
  });
  return {
    settings: full,
    region: 'us-east-1',
    deployment: { stacks: edit(stacks) },
    clients: createClients('us-east-1', { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }),
    signal: new AbortController().signal,
    pageTimeoutMs: 2000,
    ...extra,
  };
}

/** A complete deployment whose application stack outputs `serviceUrl` as its ServiceURL (the page check's target). */
export function contextWithServiceUrl(serviceUrl: string, extra: Partial<CheckContext> = {}): CheckContext {
  return makeContext(
    {},
    (stacks) =>
      stacks.map((s) => (s.role === 'application' ? { ...s, outputs: { ...s.outputs, ServiceURL: serviceUrl } } : s)),
    extra,
  );
}

/** A port on 127.0.0.1 that nothing listens on: bound once to get a free one, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An SDK-style error with a name, as services throw them. */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name });
}

/** Runs the verify CLI's main() in-process with test clients; returns the exit code and what it printed. */
export async function runCli(argv: string[], env: Record<string, string> = {}, budgetMs?: number) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    env,
    budgetMs,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    clients: createClients('us-east-1', { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }),
  });
  return { code, stdout, stderr };
}
