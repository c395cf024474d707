/**
 * How many web app tasks the container instances can hold, and the service's task counts that follow from it.
 *
 * The tasks run in `awsvpc` mode: each task takes a network interface of its host, and the host keeps one for itself
 * (ENI trunking is off), so a host holds (maximum network interfaces - 1) tasks whatever its CPU and memory. A rolling
 * deployment starts the new tasks before it stops the old ones (maxHealthyPercent 200), so the hosts must hold twice
 * the service's task count. Tasks that do not fit stay PROVISIONING and stall the deployment.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-networking-awsvpc.html
 */

/**
 * Maximum network interfaces per instance type ("Maximum network interfaces" in the EC2 User Guide's instance type
 * specifications; `NetworkInfo.MaximumNetworkInterfaces` of DescribeInstanceTypes). Only x86_64 types whose
 * memory holds at least one 512 MiB task; other types are refused rather than guessed.
 */
const BURSTABLE_SIZES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  t3: { micro: 2, small: 3, medium: 3, large: 3, xlarge: 4, '2xlarge': 4 },
  // t3a.small has 2 network interfaces where t3.small has 3.
  t3a: { micro: 2, small: 2, medium: 3, large: 3, xlarge: 4, '2xlarge': 4 },
};
/** General purpose, compute and memory optimized families: the same counts for each size from large to 4xlarge. */
const FIXED_PERFORMANCE_FAMILIES = [
  'm5',
  'm5a',
  'm6i',
  'm6a',
  'm7i',
  'm7a',
  'c5',
  'c5a',
  'c6i',
  'c6a',
  'c7i',
  'c7a',
  'r5',
  'r5a',
  'r6i',
  'r6a',
  'r7i',
  'r7a',
];
const FIXED_PERFORMANCE_SIZES: Readonly<Record<string, number>> = { large: 3, xlarge: 4, '2xlarge': 4, '4xlarge': 8 };

/** Instance type → maximum network interfaces, for every type the container instances accept. */
export const MAX_NETWORK_INTERFACES: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries([
    ...Object.entries(BURSTABLE_SIZES).flatMap(([family, sizes]) =>
      Object.entries(sizes).map(([size, enis]) => [`${family}.${size}`, enis]),
    ),
    ...FIXED_PERFORMANCE_FAMILIES.flatMap((family) =>
      Object.entries(FIXED_PERFORMANCE_SIZES).map(([size, enis]) => [`${family}.${size}`, enis]),
    ),
  ]),
);

/** The instance types the container instances accept, in words, for error messages and the README. */
export const ACCEPTED_INSTANCE_TYPES = `t3 and t3a (micro to 2xlarge), or ${FIXED_PERFORMANCE_FAMILIES.join(', ')} (large to 4xlarge)`;

/** Rolling deployments: the old tasks keep serving (100 %) until as many new ones run (200 %). */
export const DEPLOYMENT_MIN_HEALTHY_PERCENT = 100;
/** See {@link DEPLOYMENT_MIN_HEALTHY_PERCENT}. */
export const DEPLOYMENT_MAX_HEALTHY_PERCENT = 200;
/** Tasks while idle, when the hosts can hold them. */
export const DEFAULT_DESIRED_COUNT = 2;
/** Most tasks CPU scaling may run, when the hosts can hold them (on Fargate always). */
export const DEFAULT_MAX_COUNT = 6;

/** The service's task counts. */
export interface WebAppTaskCounts {
  /** Tasks while idle; CPU scaling never goes below it. */
  readonly desiredCount: number;
  /** Most tasks CPU scaling may run. */
  readonly maxCount: number;
}

/**
 * Why the container instances cannot hold the web app: one line naming the settings and what is allowed, or
 * `undefined` when they can.
 */
export function ec2TaskCapacityProblem(instanceType: string, maxHosts: number): string | undefined {
  const enis = MAX_NETWORK_INTERFACES[instanceType];
  if (enis === undefined) {
    return (
      `ECS_INSTANCE_TYPE "${instanceType}" has no network-interface count in this app's table, which the task ` +
      `ceiling needs (one interface per awsvpc task); choose ${ACCEPTED_INSTANCE_TYPES}.`
    );
  }
  const slots = (enis - 1) * maxHosts;
  const needed = Math.ceil(DEPLOYMENT_MAX_HEALTHY_PERCENT / 100);
  if (slots < needed) {
    return (
      `ECS_MAX_CAPACITY=${maxHosts} hosts of ECS_INSTANCE_TYPE=${instanceType} hold ${slots} awsvpc task(s) ` +
      `(${enis} network interfaces per host, one of them the host's), but a rolling deployment of one task needs ` +
      `${needed}; raise ECS_MAX_CAPACITY or choose an instance type with more network interfaces.`
    );
  }
  return undefined;
}

/**
 * The number of awsvpc tasks the hosts hold at their maximum count.
 * @throws Error with the line of {@link ec2TaskCapacityProblem} when they cannot hold the web app
 */
export function ec2TaskSlots(instanceType: string, maxHosts: number): number {
  const problem = ec2TaskCapacityProblem(instanceType, maxHosts);
  if (problem !== undefined) throw new Error(problem);
  return (MAX_NETWORK_INTERFACES[instanceType] - 1) * maxHosts;
}

/**
 * The service's task counts: the defaults, lowered so that a rolling deployment at the maximum count still fits
 * in `taskSlots` (EC2); Fargate (`undefined`) has no such bound.
 */
export function webAppTaskCounts(taskSlots: number | undefined): WebAppTaskCounts {
  if (taskSlots === undefined) {
    return { desiredCount: DEFAULT_DESIRED_COUNT, maxCount: DEFAULT_MAX_COUNT };
  }
  const maxCount = Math.min(DEFAULT_MAX_COUNT, Math.floor((taskSlots * 100) / DEPLOYMENT_MAX_HEALTHY_PERCENT));
  if (maxCount < 1) {
    throw new Error(
      `The container instances hold ${taskSlots} awsvpc task(s); a rolling deployment of one task needs ` +
        `${Math.ceil(DEPLOYMENT_MAX_HEALTHY_PERCENT / 100)}.`,
    );
  }
  return { desiredCount: Math.min(DEFAULT_DESIRED_COUNT, maxCount), maxCount };
}
