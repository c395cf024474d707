import { DescribeTasksCommand, ECSClient, HealthStatus, ListTasksCommand } from '@aws-sdk/client-ecs';
import { credSpecCheck } from '../../verify/checks/credspec';
import { instancesCheck } from '../../verify/checks/instances';
import { sidecarCheck } from '../../verify/checks/sidecar';
import { clientMock, makeContext } from './helpers';
import { DescribeContainerInstancesCommand, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';

const ecs = clientMock(ECSClient);
const SIDECAR = { ticketSource: 'sidecar' } as const;
const CLUSTER = 'amazon-ecs-gmsa-linux-cluster';

/** Running tasks of the service, each with the sidecar's health as ECS reports it (undefined: no sidecar container). */
function givenTasks(health: Array<HealthStatus | undefined>): void {
  const arns = health.map((_, i) => `arn:aws:ecs:us-east-1:111122223333:task/c/task${i}`);
  ecs
    .on(ListTasksCommand, { cluster: CLUSTER, serviceName: 'web-app', desiredStatus: 'RUNNING' })
    .resolves({ taskArns: arns });
  // ECS answers for the tasks of the cluster it is asked about, and only those.
  ecs.on(DescribeTasksCommand, { cluster: CLUSTER, tasks: arns }).resolves({
    tasks: health.map((healthStatus, i) => ({
      taskArn: arns[i],
      containers: [
        { name: 'web', healthStatus: 'HEALTHY' },
        ...(healthStatus === undefined ? [] : [{ name: 'kerberos-sidecar', healthStatus }]),
      ],
    })),
  });
}

beforeEach(() => ecs.reset());

describe('Kerberos sidecar check (TICKET_SOURCE=sidecar)', () => {
  test('passes when the sidecar of every running task is HEALTHY', async () => {
    givenTasks(['HEALTHY', 'HEALTHY']);
    expect(await sidecarCheck.run(makeContext(SIDECAR))).toMatchObject({
      status: 'pass',
      detail: '2 task(s), kerberos-sidecar HEALTHY in each',
    });
  });

  test('fails naming each task whose sidecar is not HEALTHY, and points at its log stream', async () => {
    givenTasks(['HEALTHY', 'UNHEALTHY', 'UNKNOWN']);
    const outcome = await sidecarCheck.run(makeContext(SIDECAR));
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toBe('kerberos-sidecar task1: UNHEALTHY; task2: UNKNOWN');
    expect(outcome.fix).toContain('aws logs tail /app-log --log-stream-name-prefix kerberos-sidecar');
    expect(outcome.fix).toContain('kinit errors name the cause (wrong password: the secret and AD disagree');
  });

  test('fails when a task has no sidecar container (a task definition of another mode)', async () => {
    givenTasks([undefined]);
    expect((await sidecarCheck.run(makeContext(SIDECAR))).detail).toBe(
      'kerberos-sidecar task0: no kerberos-sidecar container',
    );
  });

  test('fails when no task runs', async () => {
    givenTasks([]);
    expect(await sidecarCheck.run(makeContext(SIDECAR))).toEqual({
      status: 'fail',
      detail: 'no running task of web-app',
      fix: 'see "ECS service" above for the stopped reasons.',
    });
  });

  test('is skipped in the gMSA modes, and without an application stack', async () => {
    expect(await sidecarCheck.run(makeContext())).toMatchObject({
      status: 'skip',
      detail: 'gMSA mode: credentials-fetcher gets the ticket',
    });
    const noApp = makeContext({ ...SIDECAR, deployApp: false }, (s) => s.filter((x) => x.role !== 'application'));
    expect(await sidecarCheck.run(noApp)).toMatchObject({
      status: 'skip',
      detail: expect.stringContaining('DEPLOY_APP'),
    });
    expect(ecs.calls()).toHaveLength(0);
  });

  test('THEN the CredSpec check is skipped: the task reads none', async () => {
    expect(await credSpecCheck.run(makeContext(SIDECAR))).toMatchObject({
      status: 'skip',
      detail: expect.stringContaining('TICKET_SOURCE=sidecar'),
    });
  });

  test('THEN plain container instances pass without a gMSA capability', async () => {
    ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ['arn:ci/1'] });
    ecs.on(DescribeContainerInstancesCommand).resolves({
      containerInstances: [
        {
          ec2InstanceId: 'i-1',
          agentConnected: true,
          attributes: [{ name: 'ecs.capability.secrets.asm.environment-variables' }],
        },
      ],
    });
    expect(await instancesCheck.run(makeContext(SIDECAR))).toMatchObject({ status: 'pass' });
    // The same instance in a gMSA mode is a failure: it could not place a task with credentialSpecs.
    expect((await instancesCheck.run(makeContext())).status).toBe('fail');
  });
});
