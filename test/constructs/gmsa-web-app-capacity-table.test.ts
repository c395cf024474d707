import {
  ACCEPTED_INSTANCE_TYPES,
  ec2TaskCapacityProblem,
  ec2TaskSlots,
  MAX_NETWORK_INTERFACES,
  webAppTaskCounts,
} from '../../lib/constructs/gmsa-web-app-capacity';

/*
 * The instance-type table against the numbers it encodes, written out here a second time from the EC2 User Guide's
 * instance type specifications ("Maximum network interfaces"; DescribeInstanceTypes'
 * `NetworkInfo.MaximumNetworkInterfaces`):
 *   https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html#gp_network
 *   https://docs.aws.amazon.com/ec2/latest/instancetypes/co.html#co_network
 *   https://docs.aws.amazon.com/ec2/latest/instancetypes/mo.html#mo_network
 * A host holds (interfaces - 1) awsvpc tasks, so one wrong count means tasks stuck in PROVISIONING or a refused setting.
 */
const DOCUMENTED: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  t3: { micro: 2, small: 3, medium: 3, large: 3, xlarge: 4, '2xlarge': 4 },
  t3a: { micro: 2, small: 2, medium: 3, large: 3, xlarge: 4, '2xlarge': 4 },
  ...Object.fromEntries(
    // The settings reference's list of fixed-performance families: the same counts for each size.
    ['m5', 'm5a', 'm6i', 'm6a', 'm7i', 'm7a', 'c5', 'c5a', 'c6i', 'c6a', 'c7i', 'c7a']
      .concat(['r5', 'r5a', 'r6i', 'r6a', 'r7i', 'r7a'])
      .map((family) => [family, { large: 3, xlarge: 4, '2xlarge': 4, '4xlarge': 8 }]),
  ),
};
const DOCUMENTED_TYPES = Object.entries(DOCUMENTED).flatMap(([family, sizes]) =>
  Object.entries(sizes).map(([size, enis]) => [`${family}.${size}`, enis] as const),
);

describe('MAX_NETWORK_INTERFACES against the EC2 User Guide', () => {
  test.each(DOCUMENTED_TYPES)('GIVEN %s THEN it has %d network interfaces', (type, enis) => {
    expect(MAX_NETWORK_INTERFACES[type]).toBe(enis);
  });

  test.each(DOCUMENTED_TYPES)('GIVEN %s on 2 hosts THEN the hosts hold 2 x (%d - 1) awsvpc tasks', (type, enis) => {
    expect(ec2TaskCapacityProblem(type, 2)).toBeUndefined();
    expect(ec2TaskSlots(type, 2)).toBe(2 * (enis - 1));
  });

  test('THEN it holds the documented types and nothing else (no guessed counts)', () => {
    expect(Object.keys(MAX_NETWORK_INTERFACES).sort()).toEqual(DOCUMENTED_TYPES.map(([type]) => type).sort());
  });

  test('THEN nobody can change it at run time', () => {
    expect(Object.isFrozen(MAX_NETWORK_INTERFACES)).toBe(true);
  });

  test.each(['t3.nano', 't3.4xlarge', 'm5.medium', 'm5.8xlarge', 'm5.metal', 'm6g.large', 'T3.MEDIUM', 't3'])(
    'GIVEN %s (not in the table) THEN it is refused with the accepted types',
    (type) => {
      expect(ec2TaskCapacityProblem(type, 2)).toBe(
        `ECS_INSTANCE_TYPE "${type}" has no network-interface count in this app's table, which the task ceiling ` +
          `needs (one interface per awsvpc task); choose ${ACCEPTED_INSTANCE_TYPES}.`,
      );
    },
  );
});

describe('ACCEPTED_INSTANCE_TYPES (the error message and the settings reference)', () => {
  test('THEN it names the burstable sizes and every fixed-performance family in the table, in order', () => {
    const fixed = Object.keys(DOCUMENTED).filter((family) => !family.startsWith('t3'));
    expect(ACCEPTED_INSTANCE_TYPES).toBe(`t3 and t3a (micro to 2xlarge), or ${fixed.join(', ')} (large to 4xlarge)`);
  });
});

describe('ec2TaskCapacityProblem at its edge', () => {
  test('GIVEN one t3.small host (3 interfaces: 2 tasks) THEN a rolling deployment of one task fits exactly', () => {
    expect(ec2TaskCapacityProblem('t3.small', 1)).toBeUndefined();
    expect(ec2TaskSlots('t3.small', 1)).toBe(2);
  });

  test('fails GIVEN one t3a.small host (2 interfaces: 1 task), naming the counts and what to change', () => {
    expect(ec2TaskCapacityProblem('t3a.small', 1)).toBe(
      'ECS_MAX_CAPACITY=1 hosts of ECS_INSTANCE_TYPE=t3a.small hold 1 awsvpc task(s) (2 network interfaces per ' +
        "host, one of them the host's), but a rolling deployment of one task needs 2; raise ECS_MAX_CAPACITY or " +
        'choose an instance type with more network interfaces.',
    );
  });

  test('GIVEN two t3.micro hosts (1 task each) THEN they hold the 2 tasks a rolling deployment needs', () => {
    expect(ec2TaskCapacityProblem('t3.micro', 2)).toBeUndefined();
  });
});

describe('webAppTaskCounts at its edge', () => {
  test('fails GIVEN 1 task slot, saying a rolling deployment of one task needs 2', () => {
    expect(() => webAppTaskCounts(1)).toThrow(
      new Error('The container instances hold 1 awsvpc task(s); a rolling deployment of one task needs 2.'),
    );
  });

  test('GIVEN 2 task slots THEN 1 task, up to 1', () => {
    expect(webAppTaskCounts(2)).toEqual({ desiredCount: 1, maxCount: 1 });
  });
});
