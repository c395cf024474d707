import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { instancesCheck } from '../../verify/checks/instances';
import { serviceCheck } from '../../verify/checks/service';
import { stacksCheck } from '../../verify/checks/stacks';
import { targetsCheck } from '../../verify/checks/targets';
import { awsError, clientMock, makeContext } from './helpers';

/*
 * The ECS and load balancer checks against fakes that answer only for what they are asked about, the way the services
 * do: a call that names another cluster, no cluster, another service or target group, or an empty list is refused or
 * answered for something else, so a check that asks the wrong question fails here rather than passing on a canned
 * answer.
 */

const ecs = clientMock(ECSClient);
const elb = clientMock(ElasticLoadBalancingV2Client);

const CLUSTER = 'amazon-ecs-gmsa-linux-cluster';
const SERVICE = 'web-app';
const TARGET_GROUP = 'arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/0123456789abcdef';

interface FakeTask {
  readonly taskArn: string;
  readonly serviceName: string;
  /** ECS's desired status: RUNNING, or STOPPED for a task it stopped (listed for about an hour). */
  readonly desiredStatus: 'RUNNING' | 'STOPPED';
  readonly stoppedReason?: string;
}

/**
 * One ECS cluster holding the web app's service, its tasks and its container instances.
 * - Every call names the cluster; an omitted one means the account's "default" cluster, and a cluster that does not
 *   exist is ClusterNotFoundException (ECS API reference, Common Errors / each action's `cluster` parameter).
 * - ListTasks filters by serviceName and desiredStatus, whose default is RUNNING (ECS API reference, ListTasks).
 * - DescribeTasks and DescribeContainerInstances need a non-empty list (InvalidParameterException) and answer only for
 *   the ARNs they are given; DescribeServices answers "MISSING" in `failures` for a service it does not know.
 */
function givenCluster(tasks: FakeTask[], instances: { arn: string; id: string; attributes: string[] }[] = []): void {
  const clusterOf = (input: { cluster?: string }) => {
    if ((input.cluster ?? 'default') !== CLUSTER) throw awsError('ClusterNotFoundException', 'Cluster not found.');
  };
  ecs.on(DescribeServicesCommand).callsFake((input) => {
    clusterOf(input);
    const known = (input.services ?? []).filter((name: string) => name === SERVICE);
    return {
      services: known.map(() => ({
        serviceName: SERVICE,
        status: 'ACTIVE',
        runningCount: 1,
        desiredCount: 1,
        loadBalancers: [{ targetGroupArn: TARGET_GROUP }],
      })),
      failures: (input.services ?? [])
        .filter((name: string) => name !== SERVICE)
        .map((name: string) => ({ arn: name, reason: 'MISSING' })),
    };
  });
  ecs.on(ListTasksCommand).callsFake((input) => {
    clusterOf(input);
    const status = input.desiredStatus ?? 'RUNNING';
    return {
      taskArns: tasks
        .filter((task) => input.serviceName === undefined || task.serviceName === input.serviceName)
        .filter((task) => task.desiredStatus === status)
        .map((task) => task.taskArn),
    };
  });
  ecs.on(DescribeTasksCommand).callsFake((input) => {
    clusterOf(input);
    if (!input.tasks || input.tasks.length === 0) throw awsError('InvalidParameterException', 'Tasks cannot be empty.');
    return { tasks: tasks.filter((task) => input.tasks.includes(task.taskArn)) };
  });
  ecs.on(ListContainerInstancesCommand).callsFake((input) => {
    clusterOf(input);
    return { containerInstanceArns: instances.map((instance) => instance.arn) };
  });
  ecs.on(DescribeContainerInstancesCommand).callsFake((input) => {
    clusterOf(input);
    if (!input.containerInstances || input.containerInstances.length === 0) {
      throw awsError('InvalidParameterException', 'ContainerInstances cannot be empty.');
    }
    return {
      containerInstances: instances
        .filter((instance) => input.containerInstances.includes(instance.arn))
        .map((instance) => ({
          containerInstanceArn: instance.arn,
          ec2InstanceId: instance.id,
          agentConnected: true,
          attributes: instance.attributes.map((name) => ({ name })),
        })),
    };
  });
}

/** The target group of the service; DescribeTargetHealth of any other ARN is TargetGroupNotFound (ELBv2 API). */
function givenTargets(states: string[]): void {
  elb.on(DescribeTargetHealthCommand).callsFake((input) => {
    if (input.TargetGroupArn !== TARGET_GROUP) throw awsError('TargetGroupNotFoundException', 'not found');
    return {
      TargetHealthDescriptions: states.map((State, i) => ({
        Target: { Id: `10.0.0.${i + 1}` },
        TargetHealth: { State },
      })),
    };
  });
}

beforeEach(() => {
  ecs.reset();
  elb.reset();
});

describe('ECS service check: asks about its own service', () => {
  test('GIVEN running tasks and stopped ones THEN only the stopped ones are summarised', async () => {
    givenCluster([
      { taskArn: 'arn:task/run', serviceName: SERVICE, desiredStatus: 'RUNNING' },
      { taskArn: 'arn:task/stop', serviceName: SERVICE, desiredStatus: 'STOPPED', stoppedReason: 'Scaling activity' },
      { taskArn: 'arn:task/other', serviceName: 'other', desiredStatus: 'STOPPED', stoppedReason: 'Not ours' },
    ]);
    expect(await serviceCheck.run(makeContext())).toEqual({
      status: 'pass',
      detail: 'web-app: 1/1 running; recently stopped: 1× Scaling activity',
    });
  });

  test('GIVEN no stopped task THEN it does not ask ECS to describe an empty list', async () => {
    givenCluster([{ taskArn: 'arn:task/run', serviceName: SERVICE, desiredStatus: 'RUNNING' }]);
    expect(await serviceCheck.run(makeContext())).toEqual({ status: 'pass', detail: 'web-app: 1/1 running' });
    expect(ecs.commandCalls(DescribeTasksCommand)).toHaveLength(0);
  });

  test('asks for at most 20 stopped tasks (one page of ListTasks, one DescribeTasks call)', async () => {
    givenCluster([]);
    await serviceCheck.run(makeContext());
    expect(ecs.commandCalls(ListTasksCommand)[0].args[0].input).toEqual({
      cluster: CLUSTER,
      serviceName: SERVICE,
      desiredStatus: 'STOPPED',
      maxResults: 20,
    });
  });
});

describe('container instances check: asks about its own cluster', () => {
  test('GIVEN instances of the cluster THEN each one listed is described and named', async () => {
    givenCluster(
      [],
      [
        { arn: 'arn:ci/1', id: 'i-1', attributes: ['ecs.capability.gmsa-domainless'] },
        { arn: 'arn:ci/2', id: 'i-2', attributes: [] },
      ],
    );
    expect(await instancesCheck.run(makeContext())).toMatchObject({
      status: 'fail',
      detail: 'i-2: no ecs.capability.gmsa-domainless',
    });
    expect(ecs.commandCalls(ListContainerInstancesCommand)[0].args[0].input).toEqual({
      cluster: CLUSTER,
      status: 'ACTIVE',
    });
  });

  test('GIVEN an empty list of instances THEN it fails without describing an empty list', async () => {
    givenCluster([], []);
    expect((await instancesCheck.run(makeContext())).detail).toBe(`no container instance registered in ${CLUSTER}`);
    expect(ecs.commandCalls(DescribeContainerInstancesCommand)).toHaveLength(0);
  });
});

describe('load balancer targets check: asks about the target group of the service', () => {
  test("GIVEN the service's target group with healthy targets THEN it passes counting them", async () => {
    givenCluster([]);
    givenTargets(['healthy', 'healthy', 'healthy']);
    expect(await targetsCheck.run(makeContext())).toEqual({ status: 'pass', detail: '3 healthy target(s)' });
  });

  test('GIVEN healthy and initial targets THEN it fails naming only the initial one', async () => {
    givenCluster([]);
    givenTargets(['healthy', 'initial']);
    expect((await targetsCheck.run(makeContext())).detail).toBe('10.0.0.2 initial');
  });
});

describe('load balancer targets check: a service ECS does not know', () => {
  test('GIVEN DescribeServices answers MISSING THEN it fails saying there is no target group', async () => {
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ arn: SERVICE, reason: 'MISSING' }] });
    expect(await targetsCheck.run(makeContext())).toEqual({
      status: 'fail',
      detail: 'the service has no target group',
      fix: 'redeploy the application stack.',
    });
  });
});

describe('stacks check: what a passing run prints', () => {
  test('names every stack, separated by commas', async () => {
    expect(await stacksCheck.run(makeContext())).toEqual({
      status: 'pass',
      detail:
        'amazon-ecs-gmsa-linux-directory, amazon-ecs-gmsa-linux-database, amazon-ecs-gmsa-linux-cluster, ' +
        'amazon-ecs-gmsa-linux-application',
    });
  });
});
