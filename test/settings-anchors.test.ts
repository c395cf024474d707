import { parseSettings, settingsNotices } from '../bin/settings';
import { errorOf, parse } from './helpers/settings';

/*
 * The patterns of bin/settings.ts and bin/ingress-cidr.ts held at both ends: a valid value with something before or
 * after it is refused (a pattern that lost its ^ or $ would find the valid part inside and accept the whole), each
 * accepted alternative is accepted, and each length limit is checked on both sides. The numeric ranges and image
 * references are in test/settings-edges.test.ts.
 */

const CERT_ID = '0c3f6a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f';
const CERT_ALLOWED =
  'expected an ACM certificate ARN such as arn:aws:acm:us-east-1:123456789012:certificate/0c3f6a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f.';

describe('MY_SG_INGRESS_IP: the whole value is the address', () => {
  // Without its anchors, "1203.0.113.10" would be read as 203.0.113.10/32 and open RDP to an address nobody meant.
  test.each([
    ['a fifth digit before the address', '1203.0.113.10'],
    ['a letter before the address', 'a203.0.113.10'],
    ['a fifth octet', '203.0.113.10.5'],
    ['a three-digit prefix', '203.0.113.10/320'],
    ['text after the address', '203.0.113.10x'],
    ['text after the prefix', '203.0.113.0/24x'],
    ['a space before the prefix', '203.0.113.10 /32'],
    ['a prefix with a leading zero', '203.0.113.0/024'],
  ])('fails GIVEN %s (%s)', (_case, value) => {
    expect(errorOf({ MY_SG_INGRESS_IP: value })).toMatch(
      new RegExp(
        `^Invalid setting MY_SG_INGRESS_IP=${JSON.stringify(value).replace(/[.]/g, '\\.')}: expected your public IPv4 address`,
      ),
    );
  });

  test.each([
    ['255.255.255.255', '255.255.255.255/32'],
    ['1.2.3.4/16', '1.2.0.0/16'],
    ['0.0.0.1/32', '0.0.0.1/32'],
  ])('GIVEN %s THEN the CIDR is %s', (value, cidr) => {
    expect(parse({ MY_SG_INGRESS_IP: value }).mySgIngressCidr).toBe(cidr);
  });

  test('fails GIVEN a /15, one wider than the widest accepted', () => {
    expect(errorOf({ MY_SG_INGRESS_IP: '198.50.0.0/15' })).toMatch(/\/15 would admit 131,072 addresses to port 80\.$/);
  });
});

describe('whole numbers: digits only', () => {
  // Number() reads "+5" as 5 and ".5" as 0.5: only the pattern stops them.
  test.each([
    ['ECS_MIN_CAPACITY', '+5', 0, 10],
    ['ECS_MIN_CAPACITY', '.5', 0, 10],
    ['ECS_MAX_CAPACITY', '5.', 1, 10],
    ['NAT_GATEWAYS', '+1', 1, 2],
    ['IDENTITY_ROTATION_DAYS', '30d', 1, 365],
  ])('fails GIVEN %s=%s', (name, value, min, max) => {
    expect(errorOf({ [name]: value, ECS_MAX_CAPACITY: name === 'ECS_MAX_CAPACITY' ? value : '10' })).toBe(
      `Invalid setting ${name}=${JSON.stringify(value)}: expected a whole number from ${min} to ${max}.`,
    );
  });

  test('GIVEN a minimum above the maximum on Fargate THEN both are kept (they do nothing there)', () => {
    expect(parse({ FARGATE: '1', ECS_MIN_CAPACITY: '5', ECS_MAX_CAPACITY: '4' })).toMatchObject({
      ecsMinCapacity: 5,
      ecsMaxCapacity: 4,
    });
  });
});

describe('ECS_INSTANCE_TYPE: an RDS class in any case is refused', () => {
  test.each(['db.t3.medium', 'DB.t3.medium', 'Db.M5.Large'])('fails GIVEN %s', (value) => {
    expect(errorOf({ ECS_INSTANCE_TYPE: value })).toBe(
      `Invalid setting ECS_INSTANCE_TYPE=${JSON.stringify(value)}: expected an EC2 instance type such as t3.medium, ` +
        'not an RDS DB instance class (db.…).',
    );
  });
});

describe('BASTION_AMI_ID: ami- and exactly 8 or 17 hexadecimal digits', () => {
  test.each([
    'ami-0123abc',
    'ami-0123abcd0',
    'ami-0123456789abcdef',
    'ami-0123456789abcdef01',
    'xami-0123abcd',
    'ami-0123abcd-1',
    'ami-0123abcd x',
  ])('fails GIVEN %p', (value) => {
    expect(errorOf({ BASTION_AMI_ID: value })).toMatch(
      /^Invalid setting BASTION_AMI_ID=".*": expected a Windows Server 2022 AMI id/,
    );
  });
});

describe('CERTIFICATE_ARN: every partition, the whole ARN, the region of the deployment', () => {
  test.each([
    `arn:aws:acm:us-east-1:123456789012:certificate/${CERT_ID}`,
    `arn:aws-cn:acm:cn-north-1:123456789012:certificate/${CERT_ID}`,
    `arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/${CERT_ID}`,
    `arn:aws-iso:acm:us-iso-east-1:123456789012:certificate/${CERT_ID}`,
    `arn:aws-iso-b:acm:us-isob-east-1:123456789012:certificate/${CERT_ID}`,
    `arn:aws:acm:ap-southeast-4:123456789012:certificate/${CERT_ID}`,
  ])('GIVEN %s THEN it is kept', (arn) => {
    expect(parse({ CERTIFICATE_ARN: arn }).certificateArn).toBe(arn);
  });

  test.each([
    ['text before it', `x arn:aws:acm:us-east-1:123456789012:certificate/${CERT_ID}`],
    ['text after it', `arn:aws:acm:us-east-1:123456789012:certificate/${CERT_ID}/x`],
    ['a partition that does not exist', `arn:aws-xx:acm:us-east-1:123456789012:certificate/${CERT_ID}`],
    ['a two-letter ISO suffix', `arn:aws-iso-bb:acm:us-east-1:123456789012:certificate/${CERT_ID}`],
    ['a region without its number', `arn:aws:acm:us-east:123456789012:certificate/${CERT_ID}`],
    ['a region of one word', `arn:aws:acm:useast-1:123456789012:certificate/${CERT_ID}`],
    ['a region in capitals', `arn:aws:acm:US-EAST-1:123456789012:certificate/${CERT_ID}`],
    ['a 13-digit account', `arn:aws:acm:us-east-1:1234567890123:certificate/${CERT_ID}`],
    ['another service', `arn:aws:acm-pca:us-east-1:123456789012:certificate/${CERT_ID}`],
    ['an id in capitals', `arn:aws:acm:us-east-1:123456789012:certificate/${CERT_ID.toUpperCase()}`],
    ['a short id', `arn:aws:acm:us-east-1:123456789012:certificate/${CERT_ID.slice(1)}`],
  ])('fails GIVEN %s', (_case, arn) => {
    expect(errorOf({ CERTIFICATE_ARN: arn })).toBe(
      `Invalid setting CERTIFICATE_ARN=${JSON.stringify(arn)}: ${CERT_ALLOWED}`,
    );
  });

  const EU = `arn:aws:acm:eu-west-1:123456789012:certificate/${CERT_ID}`;
  const mismatch = (region: string) =>
    `Invalid setting CERTIFICATE_ARN=${JSON.stringify(EU)}: the certificate is in eu-west-1 but the deployment goes ` +
    `to ${region}; a load balancer uses a certificate of its own region.`;

  test('the region the CDK CLI deploys to (CDK_DEFAULT_REGION) comes first, then AWS_REGION, then AWS_DEFAULT_REGION', () => {
    expect(errorOf({ CERTIFICATE_ARN: EU, CDK_DEFAULT_REGION: 'us-east-1', AWS_REGION: 'eu-west-1' })).toBe(
      mismatch('us-east-1'),
    );
    expect(errorOf({ CERTIFICATE_ARN: EU, AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'eu-west-1' })).toBe(
      mismatch('us-west-2'),
    );
    expect(errorOf({ CERTIFICATE_ARN: EU, AWS_DEFAULT_REGION: ' ap-south-1 ' })).toBe(mismatch('ap-south-1'));
    expect(
      parse({ CERTIFICATE_ARN: EU, CDK_DEFAULT_REGION: 'eu-west-1', AWS_REGION: 'us-east-1' }).certificateArn,
    ).toBe(EU);
  });

  test('GIVEN a blank region variable THEN the next one is used', () => {
    expect(errorOf({ CERTIFICATE_ARN: EU, CDK_DEFAULT_REGION: '  ', AWS_REGION: 'us-east-2' })).toBe(
      mismatch('us-east-2'),
    );
    expect(parse({ CERTIFICATE_ARN: EU, CDK_DEFAULT_REGION: '', AWS_REGION: ' ' }).certificateArn).toBe(EU);
  });
});

describe('ALARM_EMAIL: one whole address, at most 254 characters', () => {
  const LOCAL_242 = 'a'.repeat(242);

  test('GIVEN 254 characters THEN it is kept', () => {
    const address = `${LOCAL_242}@example.com`;
    expect(address).toHaveLength(254);
    expect(parse({ ALARM_EMAIL: address }).alarmEmail).toBe(address);
  });

  test.each([
    ['255 characters', `${LOCAL_242}a@example.com`],
    ['text before it', '<ops@example.com'],
    ['text after it', 'ops@example.com>'],
    ['a trailing hyphen in the domain', 'ops@example.com-'],
    ['a trailing dot', 'ops@example.com.'],
    ['a domain label of 64 characters', `ops@${'a'.repeat(64)}.com`],
  ])('fails GIVEN %s', (_case, value) => {
    expect(errorOf({ ALARM_EMAIL: value })).toMatch(
      /^Invalid setting ALARM_EMAIL=".*: expected one e-mail address such as ops@example\.com/,
    );
  });

  test('GIVEN a domain label of 63 characters THEN it is kept', () => {
    const address = `ops@${'a'.repeat(63)}.com`;
    expect(parse({ ALARM_EMAIL: address }).alarmEmail).toBe(address);
  });

  test('GIVEN one-character domain labels THEN it is kept', () => {
    expect(parse({ ALARM_EMAIL: 'ops@a.b.co' }).alarmEmail).toBe('ops@a.b.co');
  });
});

describe('notices for settings that do nothing in the chosen mode', () => {
  test.each([
    [{ FARGATE: '1', ECS_MAX_CAPACITY: '3' }, 'ECS_MAX_CAPACITY="3" does nothing with FARGATE=1'],
    [{ FARGATE: '1', ECS_INSTANCE_TYPE: 't3.large' }, 'ECS_INSTANCE_TYPE="t3.large" does nothing with FARGATE=1'],
  ])('GIVEN %p THEN a notice says %s', (env, notice) => {
    const sources = { env };
    expect(settingsNotices(parseSettings(sources), sources)).toContainEqual(
      expect.stringMatching(new RegExp(`^Notice: ${notice.replace(/[.]/g, '\\.')}: `)),
    );
  });

  test('GIVEN the same settings on EC2 with the app THEN no such notice', () => {
    const sources = {
      env: { ECS_MAX_CAPACITY: '3', IDENTITY_ROTATION_DAYS: '7', DEPLOY_APP: '1', APP_IMAGE: 'nginx:1' },
    };
    expect(settingsNotices(parseSettings(sources), sources).filter((n) => n.includes('does nothing'))).toEqual([]);
  });
});

describe('SOLUTION_ID: the reserved prefixes only at the start', () => {
  test.each(['my-aws-gmsa', 'gmsa-ssm', 'awning', 'ssn'])('GIVEN %s THEN it is used', (id) => {
    expect(parse({ SOLUTION_ID: id }).solutionId).toBe(id);
  });
});

describe('context keys of libraries', () => {
  // Construct libraries name their feature flags "@scope/...": they belong to CDK's context, not to this app.
  test.each(['@my-org/constructs-flag', '@aws-solutions-constructs/enable'])(
    'GIVEN -c %s THEN it is not refused',
    (key) => {
      expect(() => parse({}, { [key]: true })).not.toThrow();
    },
  );

  test('GIVEN a key with @ only at its end THEN it is refused as unknown', () => {
    expect(errorOf({}, { 'fargate@': '1' })).toMatch(/^Unknown setting -c fargate@="1": did you mean -c fargate\? /);
  });
});

describe('db. is a prefix, not a piece found anywhere', () => {
  test('GIVEN DB_INSTANCE_TYPE=xdb.t3.small THEN it is refused (only a leading db. is dropped)', () => {
    expect(errorOf({ DB_INSTANCE_TYPE: 'xdb.t3.small' })).toMatch(/^Invalid setting DB_INSTANCE_TYPE="xdb\.t3\.small"/);
  });

  test('GIVEN ECS_INSTANCE_TYPE=t3db.medium THEN it is not mistaken for an RDS class', () => {
    const message = errorOf({ ECS_INSTANCE_TYPE: 't3db.medium' });
    // Refused for what it is (no interface count for it), not as an RDS class.
    expect(message).toContain('ECS_INSTANCE_TYPE "t3db.medium" has no network-interface count');
    expect(message).not.toContain('RDS DB instance class');
  });
});

describe('an unknown context key of exactly 100 characters is shown whole', () => {
  test('GIVEN a 100-character key THEN the message names it without cutting it', () => {
    const key = `x${'k'.repeat(99)}`;
    const message = errorOf({}, { [key]: 'v' });
    expect(message.startsWith(`Unknown setting -c ${key}="v"`)).toBe(true);
  });
});

describe('the open-load-balancer notice only when it is true', () => {
  const open = (env: Record<string, string>) =>
    settingsNotices(parse(env), { env }).filter((n) => n.includes('open to the internet on port 80'));

  test('GIVEN DEPLOY_APP=1 without MY_SG_INGRESS_IP THEN the notice says the load balancer is open', () => {
    expect(open({ DEPLOY_APP: '1' })).toHaveLength(1);
  });

  test.each([
    ['MY_SG_INGRESS_IP set', { DEPLOY_APP: '1', MY_SG_INGRESS_IP: '203.0.113.10' }],
    ['no application stack', {}],
  ])('GIVEN %s THEN no such notice', (_name, env) => {
    expect(open(env)).toEqual([]);
  });
});

describe('TICKET_SOURCE=credentials-fetcher goes with DOMAIN_JOIN_ECS', () => {
  test('GIVEN TICKET_SOURCE=credentials-fetcher and DOMAIN_JOIN_ECS=1 THEN the settings parse (only the sidecar is refused)', () => {
    const settings = parse({ TICKET_SOURCE: 'credentials-fetcher', DOMAIN_JOIN_ECS: '1' });
    expect({ ticketSource: settings.ticketSource, domainJoinEcs: settings.domainJoinEcs }).toEqual({
      ticketSource: 'credentials-fetcher',
      domainJoinEcs: true,
    });
  });
});
