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
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { credSpecCheck } from '../../verify/checks/credspec';
import { directoryCheck } from '../../verify/checks/directory';
import { instancesCheck } from '../../verify/checks/instances';
import { serviceCheck } from '../../verify/checks/service';
import { sidecarCheck } from '../../verify/checks/sidecar';
import { CheckOutcome } from '../../verify/types';
import { clientMock, DIRECTORY_ID, makeContext } from './helpers';

/*
 * AWS answers leave out what they do not have: a list member, a field, the whole list. Whatever the answer lacks, a
 * check ends with a pass or fail that says what it saw, never with a TypeError from reading into a missing value, and
 * never with a pass built on nothing (a service described by none of its tasks is no evidence of healthy tasks).
 */

const ds = clientMock(DirectoryServiceClient);
const ec2 = clientMock(EC2Client);
const ecs = clientMock(ECSClient);
const ssm = clientMock(SSMClient);
const s3 = clientMock(S3Client);

const CLUSTER = 'amazon-ecs-gmsa-linux-cluster';

beforeEach(() => {
  for (const mock of [ds, ec2, ecs, ssm, s3]) mock.reset();
});

/** An Active directory in vpc-1 with two DNS addresses, unless `fields` says otherwise. */
function givenDirectory(fields: Record<string, unknown> = {}): void {
  ds.on(DescribeDirectoriesCommand, { DirectoryIds: [DIRECTORY_ID] }).resolves({
    DirectoryDescriptions: [
      { Stage: 'Active', DnsIpAddrs: ['10.0.2.10', '10.0.1.10'], VpcSettings: { VpcId: 'vpc-1' }, ...fields },
    ],
  });
}

describe('directory check on sparse answers', () => {
  test('fails naming the directory when Directory Service returns no description list', async () => {
    ds.on(DescribeDirectoriesCommand).resolves({});
    expect(await directoryCheck.run(makeContext())).toMatchObject({
      status: 'fail',
      detail: `directory ${DIRECTORY_ID} not found`,
    });
  });

  test('fails when the directory reports no DNS addresses', async () => {
    givenDirectory({ DnsIpAddrs: undefined });
    expect((await directoryCheck.run(makeContext())).detail).toBe(
      `directory ${DIRECTORY_ID} reports no VPC or no DNS addresses`,
    );
    expect(ec2.calls()).toHaveLength(0);
  });

  test("fails naming the VPC when EC2 does not know the directory's VPC", async () => {
    givenDirectory();
    ec2.on(DescribeVpcsCommand, { VpcIds: ['vpc-1'] }).resolves({});
    expect(await directoryCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: "the directory's VPC vpc-1 was not found",
      fix: 'see the Directory Service console: the directory needs its VPC.',
    });
    ec2.on(DescribeVpcsCommand, { VpcIds: ['vpc-1'] }).resolves({ Vpcs: [] });
    expect((await directoryCheck.run(makeContext())).detail).toBe("the directory's VPC vpc-1 was not found");
  });

  test.each([
    ['no DHCP options set in the answer', {}],
    ['an empty list of DHCP options sets', { DhcpOptions: [] }],
    ['a set without configurations', { DhcpOptions: [{ DhcpOptionsId: 'dopt-1' }] }],
    ['domain-name-servers without values', { DhcpOptions: [{ DhcpConfigurations: [{ Key: 'domain-name-servers' }] }] }],
  ])('fails with "domain-name-servers none" on %s, and the fix names both DNS addresses', async (_case, answer) => {
    givenDirectory();
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1', DhcpOptionsId: 'dopt-1' }] });
    ec2.on(DescribeDhcpOptionsCommand, { DhcpOptionsIds: ['dopt-1'] }).resolves(answer);
    const outcome = await directoryCheck.run(makeContext());
    expect(outcome.detail).toBe(
      "DHCP options dopt-1 of vpc-1 have domain-name-servers none, not the directory's 10.0.1.10, 10.0.2.10",
    );
    expect(outcome.fix).toContain('(domain-name-servers 10.0.1.10, 10.0.2.10) with vpc-1');
  });

  test('lists every server the DHCP options do name', async () => {
    givenDirectory();
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1', DhcpOptionsId: 'dopt-1' }] });
    ec2.on(DescribeDhcpOptionsCommand).resolves({
      DhcpOptions: [
        {
          DhcpConfigurations: [
            { Key: 'domain-name-servers', Values: [{ Value: '10.0.1.10' }, { Value: 'AmazonProvidedDNS' }] },
          ],
        },
      ],
    });
    expect((await directoryCheck.run(makeContext())).detail).toBe(
      "DHCP options dopt-1 of vpc-1 have domain-name-servers 10.0.1.10, AmazonProvidedDNS, not the directory's " +
        '10.0.1.10, 10.0.2.10',
    );
  });
});

describe('container instances check on sparse answers', () => {
  test('fails, not passes with "0 instance(s)", when ECS describes none of the listed instances', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ['arn:ci/1', 'arn:ci/2'] });
    ecs.on(DescribeContainerInstancesCommand).resolves({ failures: [{ arn: 'arn:ci/1', reason: 'MISSING' }] });
    const none = {
      status: 'fail',
      detail: `ECS described none of the 2 container instance(s) of ${CLUSTER}`,
      fix: "run verify again in a minute; if it repeats, see the Auto Scaling group's activity history.",
    };
    expect(await instancesCheck.run(makeContext())).toEqual(none);
    ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [] });
    expect(await instancesCheck.run(makeContext())).toEqual(none);
  });

  test('names an instance without attributes as lacking the capability', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ['arn:ci/1'] });
    ecs.on(DescribeContainerInstancesCommand).resolves({
      containerInstances: [{ ec2InstanceId: 'i-1', agentConnected: true }],
    });
    expect((await instancesCheck.run(makeContext())).detail).toBe('i-1: no ecs.capability.gmsa-domainless');
  });

  test('without the Auto Scaling group output, the fix still reads as a sentence', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({});
    const ctx = makeContext({}, (stacks) =>
      stacks.map((s) => (s.role === 'cluster' ? { ...s, outputs: { ClusterName: CLUSTER } } : s)),
    );
    expect((await instancesCheck.run(ctx)).fix).toMatch(/^check that the Auto Scaling group has running instances;/);
    expect((await instancesCheck.run(makeContext())).fix).toMatch(
      /^check that the Auto Scaling group asg-1 has running instances;/,
    );
  });

  test('with the Kerberos sidecar, passes counting the instances whose agents are connected', async () => {
    ecs.on(ListContainerInstancesCommand, { cluster: CLUSTER, status: 'ACTIVE' }).resolves({
      containerInstanceArns: ['arn:ci/1', 'arn:ci/2'],
    });
    ecs.on(DescribeContainerInstancesCommand).resolves({
      containerInstances: [
        { ec2InstanceId: 'i-1', agentConnected: true },
        { ec2InstanceId: 'i-2', agentConnected: true },
      ],
    });
    expect(await instancesCheck.run(makeContext({ ticketSource: 'sidecar' }))).toMatchObject({
      status: 'pass',
      detail: `2 instance(s) in ${CLUSTER}, agents connected`,
    });
  });
});

describe('service check on sparse answers', () => {
  test('fails as "not found" when ECS returns no service list', async () => {
    ecs.on(DescribeServicesCommand).resolves({});
    expect((await serviceCheck.run(makeContext())).detail).toBe('service web-app is not found');
  });

  test('passes without a stopped summary when ECS describes none of the stopped tasks', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [{ status: 'ACTIVE', runningCount: 1, desiredCount: 1 }] });
    ecs.on(ListTasksCommand).resolves({ taskArns: ['arn:task/1'] });
    ecs.on(DescribeTasksCommand).resolves({});
    expect((await serviceCheck.run(makeContext())).detail).toBe('web-app: 1/1 running');
  });
});

describe('Kerberos sidecar check on sparse answers', () => {
  const SIDECAR = { ticketSource: 'sidecar' } as const;

  function givenDescribed(answer: object): void {
    ecs.on(ListTasksCommand).resolves({ taskArns: ['arn:aws:ecs:us-east-1:111122223333:task/c/0a1b2c'] });
    ecs.on(DescribeTasksCommand).resolves(answer);
  }

  test('fails, not passes with "0 task(s)", when ECS describes none of the running tasks', async () => {
    const none = {
      status: 'fail',
      detail: 'ECS described none of the 1 running task(s) of web-app',
      fix: 'run verify again in a minute; if it repeats, see "ECS service" above for the stopped reasons.',
    };
    givenDescribed({ failures: [{ reason: 'MISSING' }] });
    expect(await sidecarCheck.run(makeContext(SIDECAR))).toEqual(none);
    givenDescribed({ tasks: [] });
    expect(await sidecarCheck.run(makeContext(SIDECAR))).toEqual(none);
  });

  test.each<[string, object, string]>([
    ['a task without an ARN or containers', { tasks: [{}] }, 'kerberos-sidecar a task: no kerberos-sidecar container'],
    [
      'a sidecar without a health status (no health check)',
      {
        tasks: [
          { taskArn: 'arn:aws:ecs:us-east-1:111122223333:task/c/0a1b2c', containers: [{ name: 'kerberos-sidecar' }] },
        ],
      },
      'kerberos-sidecar 0a1b2c: UNKNOWN',
    ],
  ])('names %s', async (_case, answer, detail) => {
    givenDescribed(answer);
    expect((await sidecarCheck.run(makeContext(SIDECAR))).detail).toBe(detail);
  });

  test("without the application's log group output, the fix shows where its name goes", async () => {
    givenDescribed({
      tasks: [{ taskArn: 'arn:task/c/1', containers: [{ name: 'kerberos-sidecar', healthStatus: 'UNHEALTHY' }] }],
    });
    const ctx = makeContext(SIDECAR, (stacks) =>
      stacks.map((s) =>
        s.role === 'application' ? { ...s, outputs: { ServiceURL: 'http://x', ServiceName: 'web-app' } } : s,
      ),
    );
    expect((await sidecarCheck.run(ctx)).fix).toContain(
      'aws logs tail <LogGroupName> --log-stream-name-prefix kerberos-sidecar',
    );
  });
});

describe('CredSpec check on sparse answers', () => {
  test('reads a parameter without a value and an object without a body as missing copies', async () => {
    ssm.on(GetParameterCommand).resolves({});
    s3.on(GetObjectCommand).resolves({});
    const outcome: CheckOutcome = await credSpecCheck.run(makeContext());
    expect(outcome).toMatchObject({
      status: 'fail',
      detail:
        'no CredSpec at SSM parameter /amazon-ecs-gmsa-linux/credspec and s3://credspec-bucket/credspecs/SampleWebApp.json',
    });
  });
});
