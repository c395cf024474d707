import { ec2TaskSlots, MAX_NETWORK_INTERFACES, webAppTaskCounts } from '../../lib/constructs/gmsa-web-app-capacity';
import { parseSettings } from '../../bin/settings';

describe('MAX_NETWORK_INTERFACES', () => {
  // Spot checks against the EC2 User Guide's "Maximum network interfaces" column.
  test.each([
    ['t3.micro', 2],
    ['t3.medium', 3],
    ['t3a.small', 2],
    ['t3.small', 3],
    ['t3.xlarge', 4],
    ['m5.large', 3],
    ['m6i.2xlarge', 4],
    ['m5.4xlarge', 8],
    ['r7i.4xlarge', 8],
  ])('GIVEN %s THEN it has %d', (type, enis) => {
    expect(MAX_NETWORK_INTERFACES[type]).toBe(enis);
  });

  test('THEN it holds x86_64 types only', () => {
    expect(Object.keys(MAX_NETWORK_INTERFACES).filter((type) => /^[a-z]+[0-9][a-z-]*g/.test(type))).toEqual([]);
  });
});

describe('ec2TaskSlots', () => {
  test.each([
    ['t3.medium', 2, 4],
    ['t3.medium', 1, 2],
    ['t3.micro', 2, 2],
    ['m5.4xlarge', 3, 21],
  ])('GIVEN %s x %d hosts THEN %d awsvpc tasks fit', (type, hosts, slots) => {
    expect(ec2TaskSlots(type, hosts)).toBe(slots);
  });

  test('fails GIVEN an instance type outside the table', () => {
    expect(() => ec2TaskSlots('x2iedn.xlarge', 2)).toThrow(
      /^ECS_INSTANCE_TYPE "x2iedn.xlarge" has no network-interface count .*; choose t3 and t3a/,
    );
  });

  test('fails GIVEN one host that holds one task only (no room for a rolling deployment)', () => {
    expect(() => ec2TaskSlots('t3.micro', 1)).toThrow(
      /^ECS_MAX_CAPACITY=1 hosts of ECS_INSTANCE_TYPE=t3.micro hold 1 awsvpc task\(s\) .* needs 2; raise ECS_MAX_CAPACITY/,
    );
  });
});

describe('webAppTaskCounts', () => {
  test('GIVEN Fargate THEN 2 tasks, up to 6', () => {
    expect(webAppTaskCounts(undefined)).toEqual({ desiredCount: 2, maxCount: 6 });
  });

  test.each([
    [2, 1, 1],
    [3, 1, 1],
    [4, 2, 2],
    [5, 2, 2],
    [9, 2, 4],
    [12, 2, 6],
    [40, 2, 6],
  ])('GIVEN %d task slots THEN %d tasks, up to %d, and a deployment at the maximum fits', (slots, desired, max) => {
    const counts = webAppTaskCounts(slots);
    expect(counts).toEqual({ desiredCount: desired, maxCount: max });
    expect(counts.maxCount * 2).toBeLessThanOrEqual(slots);
  });

  test('fails GIVEN 1 task slot', () => {
    expect(() => webAppTaskCounts(1)).toThrow(/hold 1 awsvpc task\(s\); a rolling deployment of one task needs 2/);
  });
});

describe('settings refusal', () => {
  test('fails GIVEN ECS_MAX_CAPACITY=1 of t3.micro on EC2, with one line', () => {
    expect(() =>
      parseSettings({ env: { ECS_INSTANCE_TYPE: 't3.micro', ECS_MIN_CAPACITY: '1', ECS_MAX_CAPACITY: '1' } }),
    ).toThrow(
      /^Invalid combination: ECS_MAX_CAPACITY=1 hosts of ECS_INSTANCE_TYPE=t3.micro hold 1 awsvpc task\(s\)[^\n]*$/,
    );
  });

  test('fails GIVEN an x86_64 instance type outside the table on EC2', () => {
    expect(() => parseSettings({ env: { ECS_INSTANCE_TYPE: 'x2iedn.xlarge' } })).toThrow(
      /^Invalid combination: ECS_INSTANCE_TYPE "x2iedn.xlarge" has no network-interface count/,
    );
  });

  test('GIVEN the same settings with FARGATE THEN they are accepted (Fargate tasks take no host interface)', () => {
    const settings = parseSettings({
      env: { FARGATE: '1', ECS_INSTANCE_TYPE: 't3.micro', ECS_MIN_CAPACITY: '1', ECS_MAX_CAPACITY: '1' },
    });
    expect(settings.fargate).toBe(true);
  });

  test('GIVEN the defaults THEN they are accepted', () => {
    expect(parseSettings({ env: {} }).ecsInstanceType).toBe('t3.medium');
  });
});
