import { SQL_SERVER_WEB_CLASSES } from '../bin/instance-types';
import { parseSettings, SettingsError, settingsNotices } from '../bin/settings';
import { DEFAULT_SETTINGS } from '../lib/settings';
import { CDK_JSON_CONTEXT } from './helpers/modes';

function parse(env: Record<string, string>, context?: Record<string, unknown>) {
  return parseSettings({ env, context });
}

function errorOf(env: Record<string, string>, context?: Record<string, unknown>): string {
  try {
    parse(env, context);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as Error).message;
  }
  throw new Error('expected a SettingsError');
}

describe('parseSettings', () => {
  test('GIVEN no settings THEN every default applies', () => {
    expect(parse({})).toEqual(DEFAULT_SETTINGS);
  });

  test('GIVEN SOLUTION_ID THEN it overrides the default', () => {
    expect(parse({ SOLUTION_ID: 'my-gmsa-1' }).solutionId).toBe('my-gmsa-1');
  });

  test.each([
    ['1', true],
    ['true', true],
    ['TRUE', true],
    ['Yes', true],
    ['0', false],
    ['false', false],
    ['No', false],
    [' yes ', true],
  ])('GIVEN DOMAIN_JOIN_ECS=%p THEN it is %p', (value, expected) => {
    expect(parse({ DOMAIN_JOIN_ECS: value }).domainJoinEcs).toBe(expected);
  });

  test('GIVEN empty values THEN they count as unset', () => {
    expect(parse({ FARGATE: '', DEPLOY_APP: '  ', MY_SG_INGRESS_IP: '', SOLUTION_ID: '' })).toEqual(DEFAULT_SETTINGS);
  });

  test('GIVEN FARGATE=1 alone THEN the CredSpec comes from S3', () => {
    const settings = parse({ FARGATE: '1' });
    expect(settings.fargate).toBe(true);
    expect(settings.credSpecFromS3).toBe(true);
  });

  test('GIVEN FARGATE=1 and CREDSPEC_FROM_S3=yes THEN both hold', () => {
    expect(parse({ FARGATE: '1', CREDSPEC_FROM_S3: 'yes' })).toMatchObject({ fargate: true, credSpecFromS3: true });
  });

  test.each([
    ['203.0.113.10', '203.0.113.10/32'],
    [' 203.0.113.10 ', '203.0.113.10/32'],
    ['198.51.100.0/24', '198.51.100.0/24'],
    ['203.0.113.10/32', '203.0.113.10/32'],
  ])('GIVEN MY_SG_INGRESS_IP=%p THEN the CIDR is %p', (value, cidr) => {
    expect(parse({ MY_SG_INGRESS_IP: value }).mySgIngressCidr).toBe(cidr);
  });

  test('GIVEN a key pair name THEN it is kept', () => {
    expect(parse({ EC2_INSTANCE_KEYPAIR_NAME: 'my key' }).ec2InstanceKeyPairName).toBe('my key');
  });

  test('GIVEN sizes and an image THEN they are parsed', () => {
    expect(
      parse({
        NAT_GATEWAYS: '2',
        DB_INSTANCE_TYPE: 'db.M5.Large',
        ECS_INSTANCE_TYPE: 'm6i.large',
        ECS_MIN_CAPACITY: '2',
        ECS_MAX_CAPACITY: '4',
        APP_IMAGE: '123456789012.dkr.ecr.us-east-1.amazonaws.com/web-site:1.0',
        IDENTITY_ROTATION_DAYS: '7',
      }),
    ).toMatchObject({
      natGateways: 2,
      dbInstanceType: 'm5.large',
      ecsInstanceType: 'm6i.large',
      ecsMinCapacity: 2,
      ecsMaxCapacity: 4,
      appImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/web-site:1.0',
      identityRotationDays: 7,
    });
  });

  test.each([
    ['16.00', '16.00'],
    ['15.00', '15.00'],
    [' 16.00.4236.2.v1 ', '16.00.4236.2.v1'],
  ])('GIVEN DB_ENGINE_VERSION=%p THEN the engine version is %p', (value, expected) => {
    expect(parse({ DB_ENGINE_VERSION: value }).dbEngineVersion).toBe(expected);
  });

  test('GIVEN no DB_ENGINE_VERSION THEN the major version 16.00 (SQL Server 2022)', () => {
    expect(parse({}).dbEngineVersion).toBe('16.00');
  });

  test.each([
    ['1', true],
    ['no', false],
  ])('GIVEN KEEP_BASTION_RUNNING=%p THEN keepBastionRunning is %p', (value, expected) => {
    expect(parse({ KEEP_BASTION_RUNNING: value }).keepBastionRunning).toBe(expected);
    expect(parse({}, { keepBastionRunning: value }).keepBastionRunning).toBe(expected);
  });

  test('GIVEN ECS_MIN_CAPACITY above the default maximum THEN the maximum follows it', () => {
    expect(parse({ ECS_MIN_CAPACITY: '3' })).toMatchObject({ ecsMinCapacity: 3, ecsMaxCapacity: 3 });
  });

  test('GIVEN a context value and an environment variable THEN the context value wins', () => {
    const settings = parse({ FARGATE: '0', SOLUTION_ID: 'from-env' }, { fargate: '1', solutionId: 'from-context' });
    expect(settings.fargate).toBe(true);
    expect(settings.solutionId).toBe('from-context');
  });

  test('GIVEN a boolean context value from cdk.json THEN it is read', () => {
    expect(parse({}, { deployApp: true }).deployApp).toBe(true);
  });

  test.each(['a', 'my-gmsa-1', 'a1b2', 'x'.repeat(32), 'awesome', 'three-sthree'])(
    'GIVEN SOLUTION_ID=%p THEN it is accepted',
    (id) => {
      expect(parse({ SOLUTION_ID: id }).solutionId).toBe(id);
    },
  );

  test.each(['t3.medium', 'm6i.large', 'm7a.large', 't3a.2xlarge', 'r7i.4xlarge'])(
    'GIVEN the x86_64 ECS_INSTANCE_TYPE=%p THEN it is accepted',
    (type) => {
      expect(parse({ ECS_INSTANCE_TYPE: type }).ecsInstanceType).toBe(type);
    },
  );

  // x86_64 types whose names hold a `g` or `d`: never taken for Arm; refused only because the task ceiling needs their
  // network-interface count, which the app's table does not have.
  test.each([
    'c6in.large',
    'c5n.xlarge',
    'g4dn.xlarge',
    'g4ad.xlarge',
    'r6id.large',
    'inf2.xlarge',
    'x2iedn.xlarge',
    'mac1.metal',
  ])('GIVEN the x86_64 ECS_INSTANCE_TYPE=%p THEN it is refused for its unknown interface count, not as Arm', (type) => {
    expect(() => parse({ ECS_INSTANCE_TYPE: type })).toThrow(/has no network-interface count in this app's table/);
    expect(() => parse({ ECS_INSTANCE_TYPE: type })).not.toThrow(/Arm/);
    // With FARGATE the type is unused, and only the architecture check applies.
    expect(parse({ ECS_INSTANCE_TYPE: type, FARGATE: '1' }).ecsInstanceType).toBe(type);
  });

  test.each(SQL_SERVER_WEB_CLASSES)('GIVEN DB_INSTANCE_TYPE=db.%s THEN it is accepted', (type) => {
    expect(parse({ DB_INSTANCE_TYPE: `db.${type}` }).dbInstanceType).toBe(type);
  });

  test('GIVEN CDK context keys THEN they are not taken for settings', () => {
    const cdkKeys = {
      ...CDK_JSON_CONTEXT,
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:bundling-stacks': ['**'],
      'aws-cdk:enableDiffNoFail': 'true',
      'cdk-migrate': true,
      'availability-zones:account=123456789012:region=us-east-1': ['us-east-1a'],
      'acknowledged-issue-numbers': [12345],
      'cli-telemetry': false,
    };
    expect(parse({}, cdkKeys)).toEqual(DEFAULT_SETTINGS);
  });

  test('GIVEN a settings object THEN it is frozen', () => {
    expect(Object.isFrozen(parse({}))).toBe(true);
  });
});

describe('parseSettings fails on bad input with one line naming the setting, the value and what is allowed', () => {
  const table: Array<[string, Record<string, string>, RegExp]> = [
    ['FARGATE=maybe', { FARGATE: 'maybe' }, /^Invalid setting FARGATE="maybe": expected 0, 1, true, false, yes or no/],
    ['FARGATE=2', { FARGATE: '2' }, /^Invalid setting FARGATE="2": expected 0, 1/],
    ['DOMAIN_JOIN_ECS=on', { DOMAIN_JOIN_ECS: 'on' }, /^Invalid setting DOMAIN_JOIN_ECS="on": expected 0, 1/],
    ['CREDSPEC_FROM_S3=s3', { CREDSPEC_FROM_S3: 's3' }, /^Invalid setting CREDSPEC_FROM_S3="s3": expected 0, 1/],
    ['DEPLOY_APP=y', { DEPLOY_APP: 'y' }, /^Invalid setting DEPLOY_APP="y": expected 0, 1/],
    [
      'SOLUTION_ID too long',
      { SOLUTION_ID: 'a'.repeat(33) },
      /^Invalid setting SOLUTION_ID="a{33}": expected lowercase letters.*at most 32/,
    ],
    ['SOLUTION_ID with capitals', { SOLUTION_ID: 'MyApp' }, /^Invalid setting SOLUTION_ID="MyApp": expected lowercase/],
    [
      'SOLUTION_ID with a slash',
      { SOLUTION_ID: 'my/app' },
      /^Invalid setting SOLUTION_ID="my\/app": expected lowercase/,
    ],
    [
      'SOLUTION_ID starting with a digit',
      { SOLUTION_ID: '1app' },
      /^Invalid setting SOLUTION_ID="1app": .*starting with a letter/,
    ],
    [
      'SOLUTION_ID with two hyphens in a row',
      { SOLUTION_ID: 'a--b' },
      /^Invalid setting SOLUTION_ID="a--b": expected .*single hyphens.* \(the RDS instance identifier "a--b-sql" would contain "--"\)\.$/,
    ],
    [
      'SOLUTION_ID ending with a hyphen',
      { SOLUTION_ID: 'abc-' },
      /^Invalid setting SOLUTION_ID="abc-": expected .*ending with a letter or digit.*"abc--sql" would contain "--"/,
    ],
    [
      'SOLUTION_ID starting with aws',
      { SOLUTION_ID: 'aws-gmsa' },
      /^Invalid setting SOLUTION_ID="aws-gmsa": expected .*the SSM parameter "\/aws-gmsa\/credspec" may not start with aws or ssm/,
    ],
    [
      'SOLUTION_ID starting with ssm',
      { SOLUTION_ID: 'ssmtest' },
      /^Invalid setting SOLUTION_ID="ssmtest": .*SSM parameter/,
    ],
    [
      'SOLUTION_ID=sthree',
      { SOLUTION_ID: 'sthree' },
      /^Invalid setting SOLUTION_ID="sthree": .*stack name "sthree-directory" may not start with sthree-/,
    ],
    [
      'SOLUTION_ID starting with amzn-s3-demo-',
      { SOLUTION_ID: 'amzn-s3-demo-x' },
      /^Invalid setting SOLUTION_ID="amzn-s3-demo-x": .*amzn-s3-demo-/,
    ],
    [
      'MY_SG_INGRESS_IP=0.0.0.0/0',
      { MY_SG_INGRESS_IP: '0.0.0.0/0' },
      /^Invalid setting MY_SG_INGRESS_IP="0.0.0.0\/0": expected your public IPv4 address .* \/1 to \/32/,
    ],
    [
      'MY_SG_INGRESS_IP IPv6',
      { MY_SG_INGRESS_IP: '2001:db8::1' },
      /^Invalid setting MY_SG_INGRESS_IP="2001:db8::1": expected your public IPv4/,
    ],
    [
      'MY_SG_INGRESS_IP hostname',
      { MY_SG_INGRESS_IP: 'example.com' },
      /^Invalid setting MY_SG_INGRESS_IP="example.com": expected/,
    ],
    [
      'MY_SG_INGRESS_IP 300.1.1.1',
      { MY_SG_INGRESS_IP: '300.1.1.1' },
      /^Invalid setting MY_SG_INGRESS_IP="300.1.1.1": expected/,
    ],
    [
      'MY_SG_INGRESS_IP /33',
      { MY_SG_INGRESS_IP: '10.0.0.1/33' },
      /^Invalid setting MY_SG_INGRESS_IP="10.0.0.1\/33": expected/,
    ],
    [
      'MY_SG_INGRESS_IP leading zero',
      { MY_SG_INGRESS_IP: '010.0.0.1' },
      /^Invalid setting MY_SG_INGRESS_IP="010.0.0.1": expected/,
    ],
    [
      'EC2_INSTANCE_KEYPAIR_NAME non-ASCII',
      { EC2_INSTANCE_KEYPAIR_NAME: 'clé' },
      /^Invalid setting EC2_INSTANCE_KEYPAIR_NAME="clé": expected the name of an EC2 key pair/,
    ],
    [
      'NAT_GATEWAYS=0',
      { NAT_GATEWAYS: '0' },
      /^Invalid setting NAT_GATEWAYS="0": expected a whole number from 1 to 2\.$/,
    ],
    ['NAT_GATEWAYS=one', { NAT_GATEWAYS: 'one' }, /^Invalid setting NAT_GATEWAYS="one": expected a whole number/],
    [
      'DB_INSTANCE_TYPE=small',
      { DB_INSTANCE_TYPE: 'small' },
      /^Invalid setting DB_INSTANCE_TYPE="small": expected an instance type/,
    ],
    [
      'DB_ENGINE_VERSION=2022',
      { DB_ENGINE_VERSION: '2022' },
      /^Invalid setting DB_ENGINE_VERSION="2022": expected a SQL Server major version such as 16\.00, or a full RDS version such as 16\.00\.4236\.2\.v1\.$/,
    ],
    [
      'DB_ENGINE_VERSION=16.00.4236.2',
      { DB_ENGINE_VERSION: '16.00.4236.2' },
      /^Invalid setting DB_ENGINE_VERSION="16\.00\.4236\.2": expected a SQL Server major version/,
    ],
    [
      'KEEP_BASTION_RUNNING=always',
      { KEEP_BASTION_RUNNING: 'always' },
      /^Invalid setting KEEP_BASTION_RUNNING="always": expected 0, 1, true, false, yes or no/,
    ],
    [
      'ECS_INSTANCE_TYPE Graviton',
      { ECS_INSTANCE_TYPE: 't4g.medium' },
      /^Invalid setting ECS_INSTANCE_TYPE="t4g.medium": expected an x86_64 instance type/,
    ],
    ...['a1.medium', 'm6g.large', 'c7gd.large', 'c6gn.large', 'r8g.large', 'im4gn.large', 'mac2.metal'].map(
      (type): [string, Record<string, string>, RegExp] => [
        `ECS_INSTANCE_TYPE Arm ${type}`,
        { ECS_INSTANCE_TYPE: type },
        new RegExp(`^Invalid setting ECS_INSTANCE_TYPE="${type}": expected an x86_64 instance type`),
      ],
    ),
    ...['db.m6g.large', 'db.r7g.xlarge', 'db.t4g.medium', 'db.x2g.large', 'm6gd.large'].map(
      (type): [string, Record<string, string>, RegExp] => [
        `DB_INSTANCE_TYPE Arm ${type}`,
        { DB_INSTANCE_TYPE: type },
        new RegExp(`^Invalid setting DB_INSTANCE_TYPE="${type}": expected an x86_64 DB instance class .*SQL Server`),
      ],
    ),
    ...['db.t3.micro', 'db.t2.small', 'db.m4.large', 'db.r4.large', 'db.m5.24xlarge', 'db.x1e.xlarge'].map(
      (type): [string, Record<string, string>, RegExp] => [
        `DB_INSTANCE_TYPE not offered for SQL Server Web ${type}`,
        { DB_INSTANCE_TYPE: type },
        new RegExp(
          `^Invalid setting DB_INSTANCE_TYPE="${type}": expected a class RDS offers for SQL Server Web edition: db\\.t3 \\.small to \\.2xlarge; .*\\.$`,
        ),
      ],
    ),
    [
      'ECS_MAX_CAPACITY=0',
      { ECS_MAX_CAPACITY: '0' },
      /^Invalid setting ECS_MAX_CAPACITY="0": expected a whole number from 1 to 10\.$/,
    ],
    [
      'ECS_MIN_CAPACITY above ECS_MAX_CAPACITY',
      { ECS_MIN_CAPACITY: '3', ECS_MAX_CAPACITY: '2' },
      /^Invalid setting ECS_MAX_CAPACITY: ECS_MIN_CAPACITY \(3\) must not exceed ECS_MAX_CAPACITY \(2\)\.$/,
    ],
    [
      'APP_IMAGE with spaces',
      { APP_IMAGE: 'my image' },
      /^Invalid setting APP_IMAGE="my image": expected a container image reference/,
    ],
    [
      'IDENTITY_ROTATION_DAYS=0',
      { IDENTITY_ROTATION_DAYS: '0' },
      /^Invalid setting IDENTITY_ROTATION_DAYS="0": expected a whole number from 1 to 365\.$/,
    ],
    [
      'FARGATE with DOMAIN_JOIN_ECS',
      { FARGATE: '1', DOMAIN_JOIN_ECS: 'true' },
      /^Invalid combination FARGATE="1" with DOMAIN_JOIN_ECS="true": Fargate supports only domainless gMSA/,
    ],
    [
      'FARGATE with CREDSPEC_FROM_S3=0',
      { FARGATE: 'yes', CREDSPEC_FROM_S3: '0' },
      /^Invalid combination FARGATE="yes" with CREDSPEC_FROM_S3="0": Fargate reads the CredSpec only from S3/,
    ],
  ];

  test.each(table)('fails on %s', (_name, env, expected) => {
    const message = errorOf(env);
    expect(message).toMatch(expected);
    expect(message).not.toContain('\n');
  });

  test('fails on a bad context value, naming the context key', () => {
    expect(errorOf({}, { fargate: 'perhaps' })).toMatch(/^Invalid setting -c fargate="perhaps": expected 0, 1/);
  });

  test.each([
    ['fargte', '1', 'fargate'],
    ['Fargate', '1', 'fargate'],
    ['SOLUTION_ID', 'x', 'solutionId'],
    ['dbInstanceClass', 'db.t3.small', 'dbInstanceType'],
    ['ecsMaxCapacty', '3', 'ecsMaxCapacity'],
  ])('fails on the unknown context key -c %s, naming the closest known key', (key, value, nearest) => {
    const message = errorOf({}, { ...CDK_JSON_CONTEXT, [key]: value });
    expect(message).toMatch(new RegExp(`^Unknown setting -c ${key}="${value}": did you mean -c ${nearest}\\? `));
    expect(message).toContain("This app's context keys are solutionId, domainJoinEcs, fargate,");
    expect(message).not.toContain('\n');
  });
});

describe('settingsNotices', () => {
  test('GIVEN no key pair and no ingress IP THEN one notice each', () => {
    const notices = settingsNotices(DEFAULT_SETTINGS);
    expect(notices).toHaveLength(2);
    expect(notices[0]).toMatch(/EC2_INSTANCE_KEYPAIR_NAME is not set/);
    expect(notices[1]).toMatch(/MY_SG_INGRESS_IP is not set: nothing may RDP to the bastion\.$/);
  });

  test('GIVEN DEPLOY_APP without an ingress IP THEN the notice names the open load balancer', () => {
    expect(settingsNotices({ ...DEFAULT_SETTINGS, deployApp: true })[1]).toMatch(
      /load balancer is open to the internet on port 80/,
    );
  });

  const quiet = { ...DEFAULT_SETTINGS, ec2InstanceKeyPairName: 'k', mySgIngressCidr: '203.0.113.10/32' };
  const noticesFor = (env: Record<string, string>, context?: Record<string, unknown>) =>
    settingsNotices(parseSettings({ env, context }), { env, context }).filter(
      (notice) => !/EC2_INSTANCE_KEYPAIR_NAME is not set|MY_SG_INGRESS_IP is not set/.test(notice),
    );

  test.each([
    ['FARGTE', 'FARGATE'],
    ['fargate', 'FARGATE'],
    ['DEPLOYAPP', 'DEPLOY_APP'],
    ['solutionId', 'SOLUTION_ID'],
    ['ECS_MIN_CAPACITI', 'ECS_MIN_CAPACITY'],
    ['DB_INSTANCE_TYP', 'DB_INSTANCE_TYPE'],
  ])('GIVEN the environment variable %s THEN a notice names %s', (variable, setting) => {
    expect(parse({ [variable]: '1' })).toEqual(DEFAULT_SETTINGS);
    expect(noticesFor({ [variable]: '1' })).toEqual([
      `Notice: environment variable ${variable} is not a setting and is ignored: did you mean ${setting}?`,
    ]);
  });

  test('GIVEN a lowercase setting name in a case-insensitive environment (Windows) THEN it is read and no typo notice', () => {
    // Node's process.env on Windows: lookups ignore case, keys keep the case they were set with.
    const values: Record<string, string> = { fargate: '1', ECS_INSTANCE_TYPE: 'm5.large' };
    const env = new Proxy(values, {
      get: (target, key) =>
        typeof key === 'string'
          ? Object.entries(target).find(([name]) => name.toUpperCase() === key.toUpperCase())?.[1]
          : undefined,
    });
    const settings = parseSettings({ env });
    expect(settings.fargate).toBe(true);
    expect(settingsNotices(settings, { env }).filter((n) => /environment variable/.test(n))).toEqual([]);
  });

  test('GIVEN common environment variables, exact setting names or an empty look-alike THEN no typo notice', () => {
    const env = {
      PATH: '/usr/bin',
      HOME: '/home/me',
      USER: 'me',
      SHELL: '/bin/bash',
      LANG: 'C.UTF-8',
      PWD: '/work',
      TERM: 'xterm',
      HOSTNAME: 'box',
      AWS_REGION: 'us-east-1',
      AWS_PROFILE: 'default',
      AWS_DEFAULT_REGION: 'us-east-1',
      CDK_DEFAULT_REGION: 'us-east-1',
      CDK_DEFAULT_ACCOUNT: '123456789012',
      CDK_OUTDIR: '/tmp/out',
      CDK_CONTEXT_JSON: '{}',
      NODE_OPTIONS: '',
      DEPLOY_APP: '1',
      SOLUTION_ID: 'my-app',
      FARGTE: '',
    };
    expect(noticesFor(env)).toEqual([]);
  });

  test.each([
    [{ FARGATE: '1', ECS_INSTANCE_TYPE: 'm5.large' }, 'ECS_INSTANCE_TYPE="m5.large" does nothing with FARGATE=1'],
    [{ FARGATE: '1', ECS_MIN_CAPACITY: '2' }, 'ECS_MIN_CAPACITY="2" does nothing with FARGATE=1'],
    [{ FARGATE: '1', ECS_MAX_CAPACITY: '4' }, 'ECS_MAX_CAPACITY="4" does nothing with FARGATE=1'],
    [
      { DOMAIN_JOIN_ECS: '1', IDENTITY_ROTATION_DAYS: '7' },
      'IDENTITY_ROTATION_DAYS="7" does nothing with DOMAIN_JOIN_ECS=1',
    ],
    [{ APP_IMAGE: 'nginx:1' }, 'APP_IMAGE="nginx:1" does nothing without DEPLOY_APP=1'],
    [{ CREDSPEC_FROM_S3: '1' }, 'CREDSPEC_FROM_S3="1" does nothing without DEPLOY_APP=1'],
  ])('GIVEN %p THEN a notice says the setting does nothing in that mode', (env, expected) => {
    expect(noticesFor(env)).toEqual([
      expect.stringMatching(new RegExp(`^Notice: ${expected.replace(/[.*?()]/g, '\\$&')}: `)),
    ]);
  });

  test('GIVEN a setting given with -c that does nothing THEN the notice names the context key', () => {
    expect(noticesFor({}, { fargate: true, ecsInstanceType: 'm5.large' })).toEqual([
      expect.stringMatching(/^Notice: -c ecsInstanceType="m5.large" does nothing with FARGATE=1: /),
    ]);
  });

  test('GIVEN the same settings in the mode where they act THEN no notice', () => {
    expect(
      noticesFor({
        ECS_INSTANCE_TYPE: 'm5.large',
        ECS_MAX_CAPACITY: '4',
        IDENTITY_ROTATION_DAYS: '7',
        DEPLOY_APP: '1',
        APP_IMAGE: 'nginx:1',
        CREDSPEC_FROM_S3: '1',
      }),
    ).toEqual([]);
  });

  test('GIVEN no sources THEN only the reachability notices', () => {
    expect(settingsNotices(quiet)).toEqual([]);
  });

  test('GIVEN both settings THEN no notice', () => {
    expect(
      settingsNotices({ ...DEFAULT_SETTINGS, ec2InstanceKeyPairName: 'k', mySgIngressCidr: '203.0.113.10/32' }),
    ).toEqual([]);
  });
});

describe('ALARM_EMAIL', () => {
  test('GIVEN no ALARM_EMAIL THEN the alarm topic subscribes nobody', () => {
    expect(parse({}).alarmEmail).toBeUndefined();
  });

  test.each([
    ['ops@example.com', 'ops@example.com'],
    [' first.last+gmsa@mail.example.co.uk ', 'first.last+gmsa@mail.example.co.uk'],
  ])('GIVEN ALARM_EMAIL=%p THEN the address is %p', (value, expected) => {
    expect(parse({ ALARM_EMAIL: value }).alarmEmail).toBe(expected);
  });

  test('GIVEN -c alarmEmail THEN it wins over the environment variable', () => {
    expect(parse({ ALARM_EMAIL: 'env@example.com' }, { alarmEmail: 'ctx@example.com' }).alarmEmail).toBe(
      'ctx@example.com',
    );
  });

  test.each([
    'ops',
    'ops@example',
    'ops@@example.com',
    'ops@example.com,dev@example.com',
    'ops @example.com',
    'Ops <ops@example.com>',
    'ops@-example.com',
    `${'a'.repeat(250)}@example.com`,
  ])('fails on ALARM_EMAIL=%p with one line naming the setting', (value) => {
    expect(errorOf({ ALARM_EMAIL: value })).toBe(
      `Invalid setting ALARM_EMAIL=${JSON.stringify(value)}: expected one e-mail address such as ops@example.com (the alarm topic subscribes it).`,
    );
  });
});
