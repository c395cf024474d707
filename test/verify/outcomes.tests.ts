import { DescribeDirectoriesCommand, DirectoryServiceClient } from '@aws-sdk/client-directory-service';
import { DescribeDhcpOptionsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { credSpecCheck } from '../../verify/checks/credspec';
import { databaseCheck } from '../../verify/checks/database';
import { directoryCheck } from '../../verify/checks/directory';
import { identityCheck } from '../../verify/checks/identity';
import { instancesCheck } from '../../verify/checks/instances';
import { serviceCheck } from '../../verify/checks/service';
import { stacksCheck } from '../../verify/checks/stacks';
import { targetsCheck } from '../../verify/checks/targets';
import { DeployedStack } from '../../verify/types';
import { awsError, clientMock, DIRECTORY_ID, IDENTITY_SECRET, makeContext } from './helpers';

/*
 * What a user reads when a check fails: the whole outcome (the detail and the fix to apply), for the branches the other
 * verify tests reach only by status, and the stand-ins printed when AWS leaves a field out.
 */

const ds = clientMock(DirectoryServiceClient);
const ec2 = clientMock(EC2Client);
const ssm = clientMock(SSMClient);
const s3 = clientMock(S3Client);
const sm = clientMock(SecretsManagerClient);
const rds = clientMock(RDSClient);
const ecs = clientMock(ECSClient);
const elb = clientMock(ElasticLoadBalancingV2Client);

beforeEach(() => {
  for (const mock of [ds, ec2, ssm, s3, sm, rds, ecs, elb]) mock.reset();
});

/** The deployment without one output of one stack. */
const without =
  (role: string, key: string) =>
  (stacks: DeployedStack[]): DeployedStack[] =>
    stacks.map((s) => {
      if (s.role !== role) return s;
      const outputs = { ...s.outputs };
      delete outputs[key];
      return { ...s, outputs };
    });

describe('stacks check: outcomes', () => {
  test('fails on a stack still in progress, naming the first incomplete stack in the fix', async () => {
    const ctx = makeContext({}, (stacks) =>
      stacks.map((s) =>
        s.role === 'cluster' || s.role === 'application' ? { ...s, status: 'UPDATE_IN_PROGRESS' } : s,
      ),
    );
    expect(await stacksCheck.run(ctx)).toEqual({
      status: 'fail',
      detail: 'amazon-ecs-gmsa-linux-cluster UPDATE_IN_PROGRESS; amazon-ecs-gmsa-linux-application UPDATE_IN_PROGRESS',
      fix:
        'wait for an *_IN_PROGRESS stack; for a failed or rolled-back one read its first failed event: aws cloudformation ' +
        'describe-stack-events --stack-name amazon-ecs-gmsa-linux-cluster, fix it and deploy again.',
    });
  });

  test.each(['UPDATE_COMPLETE', 'IMPORT_COMPLETE'])('passes a stack %s', async (status) => {
    const ctx = makeContext({}, (stacks) => stacks.map((s) => ({ ...s, status })));
    expect((await stacksCheck.run(ctx)).status).toBe('pass');
  });

  test('fails on domain-joined stacks checked with domainless settings, and on an EC2 cluster checked as Fargate', async () => {
    const joined = makeContext({ domainJoinEcs: true }, (stacks) => stacks);
    const asDomainless = { ...joined, settings: { ...joined.settings, domainJoinEcs: false, fargate: true } };
    expect(await stacksCheck.run(asDomainless)).toEqual({
      status: 'fail',
      detail:
        'the stacks are domain-joined but the settings say domainless; the cluster is EC2 but the settings say ' +
        'Fargate (FARGATE=1)',
      fix: 'set the same FARGATE and DOMAIN_JOIN_ECS as for cdk deploy, then run again.',
    });
  });

  test('fails on domainless Fargate stacks checked with domain-joined EC2 settings', async () => {
    const fargate = makeContext({ fargate: true }, (stacks) => stacks);
    const asJoined = { ...fargate, settings: { ...fargate.settings, domainJoinEcs: true, fargate: false } };
    expect((await stacksCheck.run(asJoined)).detail).toBe(
      'the stacks are domainless but the settings say domain-joined (DOMAIN_JOIN_ECS=1); the cluster is Fargate-only ' +
        'but the settings say EC2',
    );
  });
});

describe('directory check: outcomes', () => {
  const FIX =
    "associate the stack's DHCP options set (domain-name-servers 10.0.1.10) with vpc-1: deploy the directory stack " +
    'again; hosts pick up DNS changes after a restart.';

  function givenDirectory(directory: Record<string, unknown> | undefined, dhcpOptionsId?: string): void {
    ds.on(DescribeDirectoriesCommand).resolves({ DirectoryDescriptions: directory ? [directory] : [] });
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ DhcpOptionsId: dhcpOptionsId }] });
    ec2.on(DescribeDhcpOptionsCommand).resolves({ DhcpOptions: [{ DhcpConfigurations: [] }] });
  }
  const ACTIVE = { Stage: 'Active', DnsIpAddrs: ['10.0.1.10'], VpcSettings: { VpcId: 'vpc-1' } };

  test('fails when the directory is not found', async () => {
    givenDirectory(undefined);
    expect(await directoryCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: `directory ${DIRECTORY_ID} not found`,
      fix: 'deploy the directory stack again.',
    });
  });

  test('fails on an Impaired directory, with its reason and what to do', async () => {
    givenDirectory({ Stage: 'Impaired', StageReason: 'DNS unreachable' });
    expect(await directoryCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: `directory ${DIRECTORY_ID} is Impaired (DNS unreachable)`,
      fix: 'a new directory takes 20-40 minutes to become Active; if it is Impaired or Failed, see the Directory Service console.',
    });
  });

  test('fails on a directory without a stage', async () => {
    givenDirectory({});
    expect((await directoryCheck.run(makeContext())).detail).toBe(`directory ${DIRECTORY_ID} is in an unknown stage`);
  });

  test.each([
    ['no VPC', { ...ACTIVE, VpcSettings: undefined }],
    ['no DNS addresses', { ...ACTIVE, DnsIpAddrs: [] }],
  ])('fails on an Active directory with %s', async (_case, directory) => {
    givenDirectory(directory);
    expect(await directoryCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: `directory ${DIRECTORY_ID} reports no VPC or no DNS addresses`,
      fix: 'see the Directory Service console.',
    });
  });

  test.each([undefined, 'default'])('fails when the VPC has DHCP options %p', async (dhcpOptionsId) => {
    givenDirectory(ACTIVE, dhcpOptionsId);
    expect(await directoryCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: 'VPC vpc-1 uses the default DHCP options (AmazonProvidedDNS)',
      fix: FIX,
    });
  });

  test('fails when the DHCP options have no domain-name-servers, saying "none"', async () => {
    givenDirectory(ACTIVE, 'dopt-1');
    expect(await directoryCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: "DHCP options dopt-1 of vpc-1 have domain-name-servers none, not the directory's 10.0.1.10",
      fix: FIX,
    });
  });

  test('passes naming the directory by its id when it reports no name', async () => {
    givenDirectory(ACTIVE, 'dopt-1');
    ec2.on(DescribeDhcpOptionsCommand).resolves({
      DhcpOptions: [{ DhcpConfigurations: [{ Key: 'domain-name-servers', Values: [{ Value: '10.0.1.10' }] }] }],
    });
    expect((await directoryCheck.run(makeContext())).detail).toBe(
      `${DIRECTORY_ID} Active; vpc-1 DNS 10.0.1.10 via dopt-1`,
    );
  });
});

describe('CredSpec check: outcomes', () => {
  test('fails on EC2 with both copies missing, naming both, and the log group stand-in without a database output', async () => {
    ssm.on(GetParameterCommand).rejects(awsError('ParameterNotFound'));
    s3.on(GetObjectCommand).rejects(awsError('NotFound'));
    expect(await credSpecCheck.run(makeContext({}, without('database', 'ADManagementLogGroupName')))).toEqual({
      status: 'fail',
      detail:
        'no CredSpec at SSM parameter /amazon-ecs-gmsa-linux/credspec and s3://credspec-bucket/credspecs/SampleWebApp.json',
      fix:
        'the bastion writes it: read its log (aws logs tail <ADManagementLogGroupName>) and redeploy the database ' +
        'stack to run it again.',
    });
  });

  test.each([
    ['SSM', 'SSM parameter /amazon-ecs-gmsa-linux/credspec'],
    ['S3', 's3://credspec-bucket/credspecs/SampleWebApp.json'],
  ])('fails when reading the %s copy is denied, naming the copy and the error', async (service, where) => {
    ssm
      .on(GetParameterCommand)
      .rejects(service === 'SSM' ? awsError('AccessDeniedException', 'no') : awsError('ParameterNotFound'));
    s3.on(GetObjectCommand).rejects(awsError(service === 'S3' ? 'AccessDenied' : 'NoSuchKey', 'no'));
    const failure = credSpecCheck.run(makeContext());
    await expect(failure).rejects.toMatchObject({
      name: 'CheckFailure',
      message: `reading ${where} failed (${service === 'SSM' ? 'AccessDeniedException' : 'AccessDenied'}: no)`,
      fix: 'check that your credentials may read it.',
    });
  });
});

describe('domainless identity check: outcomes', () => {
  const ROTATED = { RotationEnabled: true, LastRotatedDate: new Date('2026-11-30T10:00:00Z') };
  const VALUE = JSON.stringify({ username: 'u', password: 'p', domainName: 'd' });

  test('is skipped in domain-joined mode, saying why', async () => {
    expect(await identityCheck.run(makeContext({ domainJoinEcs: true }))).toEqual({
      status: 'skip',
      detail: 'domain-joined mode: the hosts use their computer accounts',
    });
  });

  test('fails when the secret is not JSON, telling how to put the value back', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'x' });
    const outcome = await identityCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.fix).toBe(
      `put {"username","password","domainName"} back (aws secretsmanager put-secret-value --secret-id ${IDENTITY_SECRET}) ` +
        "with the AD user's current password, or redeploy the directory stack.",
    );
  });

  test('fails when rotation is off, pointing at the database stack', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: VALUE });
    sm.on(DescribeSecretCommand).resolves({ ...ROTATED, RotationEnabled: undefined });
    expect(await identityCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: `rotation is off for ${IDENTITY_SECRET}`,
      fix: 'redeploy the database stack: it creates the rotation schedule.',
    });
  });

  test('fails on a stalled rotation, with the log group stand-in when the output is missing', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: VALUE });
    sm.on(DescribeSecretCommand).resolves({
      ...ROTATED,
      VersionIdsToStages: { v1: ['AWSCURRENT'], v2: ['AWSPENDING'] },
    });
    expect(await identityCheck.run(makeContext({}, without('database', 'IdentityRotationLogGroupName')))).toEqual({
      status: 'fail',
      detail: `the last rotation of ${IDENTITY_SECRET} did not finish (version v2 is still AWSPENDING)`,
      fix:
        'read the rotation log (aws logs tail <IdentityRotationLogGroupName>), fix the cause, then: aws secretsmanager ' +
        `rotate-secret --secret-id ${IDENTITY_SECRET}`,
    });
  });

  test('fails when never rotated, telling how to rotate', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: VALUE });
    sm.on(DescribeSecretCommand).resolves({ RotationEnabled: true });
    expect(await identityCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: `${IDENTITY_SECRET} has never completed a rotation`,
      fix: `read the rotation log (aws logs tail /rotation-log); then: aws secretsmanager rotate-secret --secret-id ${IDENTITY_SECRET}`,
    });
  });

  test('lets an error other than AccessDenied reach the runner', async () => {
    sm.on(GetSecretValueCommand).rejects(awsError('ResourceNotFoundException', 'gone'));
    await expect(identityCheck.run(makeContext())).rejects.toThrow('gone');
  });
});

describe('SQL Server check: outcomes', () => {
  test('fails when RDS does not know the instance, and while it has no status', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({});
    expect((await databaseCheck.run(makeContext())).fix).toBe('deploy the database stack again.');
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{}] });
    expect(await databaseCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: 'amazon-ecs-gmsa-linux-sql is in an unknown state',
      fix: 'wait until it is available (aws rds wait db-instance-available --db-instance-identifier amazon-ecs-gmsa-linux-sql).',
    });
  });

  test('fails when not a member, and when the membership is failed, each with its fix', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceStatus: 'available' }] });
    expect((await databaseCheck.run(makeContext())).fix).toBe(
      "redeploy the database stack (it sets the instance's Domain and its IAM role AmazonRDSDirectoryServiceAccess).",
    );
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [{ DBInstanceStatus: 'available', DomainMemberships: [{ Domain: DIRECTORY_ID, Status: 'failed' }] }],
    });
    expect((await databaseCheck.run(makeContext())).fix).toBe(
      'a "pending-*" status settles within minutes; "failed" needs the directory Active and the instance role ' +
        'AmazonRDSDirectoryServiceAccess, then reboot the instance.',
    );
  });
});

describe('container instances check: outcomes', () => {
  const FIX =
    'on the instance (Session Manager): systemctl status credentials-fetcher; once its socket ' +
    '/var/credentials-fetcher/socket/credentials_fetcher.sock exists, sudo systemctl restart ecs.';

  test('is skipped on Fargate, saying why', async () => {
    expect(await instancesCheck.run(makeContext({ fargate: true }))).toEqual({
      status: 'skip',
      detail: 'Fargate: no container instances',
    });
  });

  test('fails with no instance registered, naming the Auto Scaling group and the logs to read', async () => {
    ecs.on(ListContainerInstancesCommand, { status: 'ACTIVE' }).resolves({});
    expect(await instancesCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: 'no container instance registered in amazon-ecs-gmsa-linux-cluster',
      fix:
        'check that the Auto Scaling group asg-1 has running instances; on one, read /var/log/ecs/ecs-init.log and the ' +
        'user data log (/var/log/cloud-init-output.log).',
    });
  });

  test('fails naming each instance by its id, its ARN or "an instance", with the fix', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ['a', 'b', 'c'] });
    ecs.on(DescribeContainerInstancesCommand).resolves({
      containerInstances: [
        { ec2InstanceId: 'i-1', agentConnected: false, attributes: [{ name: 'ecs.capability.gmsa-domainless' }] },
        { containerInstanceArn: 'arn:ci/2' },
        { attributes: [{ name: 'ecs.capability.gmsa' }] },
      ],
    });
    expect(await instancesCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail:
        'i-1: agent disconnected; arn:ci/2: no ecs.capability.gmsa-domainless; an instance: no ecs.capability.gmsa-domainless',
      fix: FIX,
    });
  });

  test('passes counting the instances', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ['a'] });
    ecs.on(DescribeContainerInstancesCommand).resolves({
      containerInstances: [{ attributes: [{ name: 'ecs.capability.gmsa' }] }],
    });
    expect(await instancesCheck.run(makeContext({ domainJoinEcs: true }))).toEqual({
      status: 'pass',
      detail: '1 instance(s) in amazon-ecs-gmsa-linux-cluster, each with ecs.capability.gmsa',
    });
  });
});

describe('ECS service check: outcomes', () => {
  function given(service: Record<string, unknown> | undefined, tasks: Record<string, unknown>[] = []): void {
    ecs.on(DescribeServicesCommand).resolves({ services: service ? [service] : [] });
    ecs.on(ListTasksCommand).resolves({ taskArns: tasks.map((_, i) => `t${i}`) });
    ecs.on(DescribeTasksCommand).resolves({ tasks });
  }

  test.each([
    [undefined, 'service web-app is not found'],
    [{ status: 'DRAINING' }, 'service web-app is DRAINING'],
  ])('fails when the service is %p', async (service, detail) => {
    given(service);
    expect(await serviceCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail,
      fix: 'redeploy the application stack.',
    });
  });

  test('fails with tasks pending, summarising the stopped reasons with the container reason, and the app log', async () => {
    given({ status: 'ACTIVE', runningCount: 0, desiredCount: 2, pendingCount: 2 }, [
      { stoppedReason: 'Essential container in task exited', containers: [{}, { reason: 'OutOfMemory' }] },
      {},
    ]);
    expect(await serviceCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail:
        'web-app: 0/2 running, 2 pending; stopped: 1× Essential container in task exited: OutOfMemory; 1× no reason given',
      fix:
        'read the stopped reasons (aws ecs describe-tasks) and the app log (/app-log); PENDING tasks on EC2 mean no ' +
        'instance has the gMSA capability (see "Container instances").',
    });
  });

  test('fails without counts from ECS, and names the log output when it is missing', async () => {
    given({ status: 'ACTIVE' });
    const outcome = await serviceCheck.run(makeContext({}, without('application', 'LogGroupName')));
    expect(outcome.detail).toBe('web-app: 0/0 running');
    expect(outcome.fix).toContain('the app log (LogGroupName output)');
  });

  test('passes, mentioning tasks stopped recently', async () => {
    given({ status: 'ACTIVE', runningCount: 2, desiredCount: 2 }, [{ stoppedReason: 'Scaling activity' }]);
    expect(await serviceCheck.run(makeContext())).toEqual({
      status: 'pass',
      detail: 'web-app: 2/2 running; recently stopped: 1× Scaling activity',
    });
  });
});

describe('load balancer targets check: outcomes', () => {
  const FIX = 'targets register once tasks run (see "ECS service"); a failing health check is in the app log.';

  test('fails when the service has no target group', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [{ loadBalancers: [{}] }] });
    expect(await targetsCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: 'the service has no target group',
      fix: 'redeploy the application stack.',
    });
  });

  test('fails naming each unhealthy target with its reason and description, or stand-ins', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [{ loadBalancers: [{ targetGroupArn: 'tg' }] }] });
    elb.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        {
          Target: { Id: '10.0.0.1' },
          TargetHealth: { State: 'unhealthy', Reason: 'Target.Timeout', Description: 'slow' },
        },
        { Target: { Id: '10.0.0.2' }, TargetHealth: { State: 'draining', Reason: 'Target.DeregistrationInProgress' } },
        {},
        { Target: { Id: '10.0.0.4' }, TargetHealth: { State: 'healthy' } },
      ],
    });
    expect(await targetsCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail:
        '10.0.0.1 unhealthy (Target.Timeout: slow); 10.0.0.2 draining (Target.DeregistrationInProgress); target unknown',
      fix: FIX,
    });
  });

  test('fails with no registered target', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [{ loadBalancers: [{ targetGroupArn: 'tg' }] }] });
    elb.on(DescribeTargetHealthCommand).resolves({});
    expect(await targetsCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: 'no registered targets',
      fix: FIX,
    });
  });
});
