import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as rds from 'aws-cdk-lib/aws-rds';
import { SQL_SERVER_WEB_CLASSES } from '../bin/instance-types';
import { ContextFile, parseSettings, readContextFiles, settingsNotices } from '../bin/settings';
import { appModeOf, DEFAULT_SETTINGS } from '../lib/settings';
import { CDK_JSON_CONTEXT } from './helpers/modes';
import { errorOf, parse } from './helpers/settings';

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

  // BASTION_AMI_ID (docs/bastion.md): unset, EC2 resolves the latest Windows Server 2022 AMI at launch.
  test.each(['ami-0123abcd', 'ami-0123456789abcdef0'])('GIVEN BASTION_AMI_ID=%p THEN it is kept', (id) => {
    expect(parse({ BASTION_AMI_ID: id }).bastionAmiId).toBe(id);
    expect(parse({}, { bastionAmiId: id }).bastionAmiId).toBe(id);
    expect(parse({}).bastionAmiId).toBeUndefined();
  });

  test.each(['ami-123', 'ami-0123456789ABCDEF0', 'i-0123456789abcdef0', 'resolve:ssm:/aws/service/x'])(
    'fails on BASTION_AMI_ID=%p with one line naming it',
    (id) => {
      expect(() => parse({ BASTION_AMI_ID: id })).toThrow(
        `Invalid setting BASTION_AMI_ID="${id}": expected a Windows Server 2022 AMI id of this region: ami- and 8 or 17 hexadecimal digits.`,
      );
    },
  );

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
      /^Invalid setting MY_SG_INGRESS_IP="0.0.0.0\/0": expected your public IPv4 address .* \/16 to \/32 .*; \/0 would admit 4,294,967,296 addresses to port 80\.$/,
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
      /^Invalid setting DB_ENGINE_VERSION="2022": expected a SQL Server major version RDS offers \(13\.00, 14\.00, 15\.00, 16\.00\) or a full RDS version such as 16\.00\.4236\.2\.v1\.$/,
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
  test('GIVEN no key pair and no ingress IP THEN a notice of the key pair only: the bastion is private either way', () => {
    const notices = settingsNotices(DEFAULT_SETTINGS);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/EC2_INSTANCE_KEYPAIR_NAME is not set/);
  });

  test('GIVEN MY_SG_INGRESS_IP without DEPLOY_APP THEN a notice that it does nothing there and that RDP is BASTION_RDP_CIDR', () => {
    const env = { MY_SG_INGRESS_IP: '52.94.76.10' };
    expect(settingsNotices(parse(env), { env })).toContainEqual(
      'Notice: MY_SG_INGRESS_IP="52.94.76.10" does nothing without DEPLOY_APP=1: it shapes only the load balancer\'s ' +
        'ingress; RDP to the bastion is BASTION_RDP_CIDR (docs/bastion.md).',
    );
    const withApp = { ...env, DEPLOY_APP: '1' };
    expect(settingsNotices(parse(withApp), { env: withApp }).join('\n')).not.toContain('does nothing');
  });

  test('GIVEN BASTION_MAINTENANCE THEN a notice says the bastion reads the secrets until it is turned off', () => {
    expect(settingsNotices({ ...DEFAULT_SETTINGS, bastionMaintenance: true })).toContainEqual(
      expect.stringMatching(
        /^Notice: BASTION_MAINTENANCE is on: the bastion may read the AD admin, .* deploy again without it/,
      ),
    );
    expect(settingsNotices(DEFAULT_SETTINGS).join('\n')).not.toContain('BASTION_MAINTENANCE');
  });

  test.each([
    ['1', true],
    ['yes', true],
    ['0', false],
    ['', false],
  ])('GIVEN BASTION_MAINTENANCE=%p THEN bastionMaintenance is %p', (value, expected) => {
    expect(parse({ BASTION_MAINTENANCE: value }).bastionMaintenance).toBe(expected);
  });

  test('fails on BASTION_MAINTENANCE=maybe with one line', () => {
    expect(errorOf({ BASTION_MAINTENANCE: 'maybe' })).toBe(
      'Invalid setting BASTION_MAINTENANCE="maybe": expected 0, 1, true, false, yes or no (any case), or empty for unset.',
    );
  });

  test.each(['0.0.0.0/0', 'my-ip', '203.0.113.7/33'])('fails on BASTION_RDP_CIDR=%p with one line', (value) => {
    const message = errorOf({ BASTION_RDP_CIDR: value });
    expect(message).toMatch(
      new RegExp(
        `^Invalid setting BASTION_RDP_CIDR=${JSON.stringify(value).replace(/[./]/g, '\\$&')}: expected your public IPv4 address`,
      ),
    );
    expect(message).not.toContain('\n');
  });

  test('GIVEN BASTION_RDP_CIDR but no MY_SG_INGRESS_IP THEN the bastion admits that CIDR and the load balancer stays unrestricted', () => {
    const settings = parse({ BASTION_RDP_CIDR: '52.94.76.10' });
    expect(settings.bastionRdpCidr).toBe('52.94.76.10/32');
    expect(settings.mySgIngressCidr).toBeUndefined();
    expect(parse({ MY_SG_INGRESS_IP: '52.94.76.10' }).bastionRdpCidr).toBeUndefined();
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

describe('DB_ENGINE_VERSION: what RDS creates for SQL Server Web edition, refused before anything is written', () => {
  // Every full version the installed aws-cdk-lib lists, read the way the parser reads it.
  const cdkFullVersions = Object.getOwnPropertyNames(rds.SqlServerEngineVersion)
    .filter((name) => name.startsWith('VER_'))
    .map((name) => (rds.SqlServerEngineVersion as unknown as Record<string, rds.SqlServerEngineVersion>)[name])
    .map((version) => version.sqlServerFullVersion)
    .filter((version) => version.split('.').length === 5);
  const offered = cdkFullVersions.filter((version) => /^1[3-6]\.00\./.test(version));
  const retired = cdkFullVersions.filter((version) => /^1[12]\.00\./.test(version));

  test('GIVEN the installed aws-cdk-lib THEN it lists full versions of both offered and retired majors', () => {
    expect(offered.length).toBeGreaterThan(50);
    expect(retired.length).toBeGreaterThan(5);
  });

  test.each(['13.00', '14.00', '15.00', '16.00'])('GIVEN the major version %s THEN it is accepted', (version) => {
    expect(parse({ DB_ENGINE_VERSION: version }).dbEngineVersion).toBe(version);
  });

  test.each(offered)('GIVEN the full version %s that aws-cdk-lib knows THEN it is accepted', (version) => {
    expect(parse({ DB_ENGINE_VERSION: version }).dbEngineVersion).toBe(version);
  });

  test.each(['99.00', '11.00', '12.00', '17.00', '10.00'])(
    'fails on the major version %s, which RDS does not offer, listing those it does',
    (version) => {
      expect(errorOf({ DB_ENGINE_VERSION: version })).toBe(
        `Invalid setting DB_ENGINE_VERSION="${version}": expected a major version RDS offers for SQL Server Web edition: ` +
          '13.00 (SQL Server 2016), 14.00 (SQL Server 2017), 15.00 (SQL Server 2019), 16.00 (SQL Server 2022).',
      );
    },
  );

  test.each([...retired.slice(0, 3), '99.00.1000.1.v1'])(
    'fails on the full version %s of a major version RDS no longer offers',
    (version) => {
      expect(errorOf({ DB_ENGINE_VERSION: version })).toMatch(
        new RegExp(`^Invalid setting DB_ENGINE_VERSION="${version}": expected a version of a major version RDS offers`),
      );
    },
  );

  test.each(['16.00.9999.1.v1', '15.00.4236.2.v1', '13.00.1.1.v1'])(
    'fails on the full version %s that aws-cdk-lib does not know, naming the range it knows',
    (version) => {
      const major = version.slice(0, 5);
      const known = offered.filter((v) => v.startsWith(major));
      const message = errorOf({ DB_ENGINE_VERSION: version });
      expect(message).toMatch(
        new RegExp(
          `^Invalid setting DB_ENGINE_VERSION="${version}": expected a full ${major} version that aws-cdk-lib knows ` +
            `\\(${known.length} of them, [0-9.v]+ to [0-9.v]+\\), or the major version ${major} \\(RDS picks a current minor version\\)\\.$`,
        ),
      );
      // Both ends of the range are versions aws-cdk-lib knows.
      const [, first, last] = /of them, (\S+) to (\S+)\)/.exec(message)!;
      expect(known).toEqual(expect.arrayContaining([first, last]));
    },
  );
});

// The two CIDR settings share bin/ingress-cidr.ts: MY_SG_INGRESS_IP (the load balancer, with DEPLOY_APP) and
// BASTION_RDP_CIDR (RDP to the bastion, which it puts in a public subnet).
describe.each<{ name: string; key: 'mySgIngressCidr' | 'bastionRdpCidr'; admits: string; env: Record<string, string> }>(
  [
    { name: 'MY_SG_INGRESS_IP', key: 'mySgIngressCidr', admits: 'port 80', env: { DEPLOY_APP: '1' } },
    { name: 'BASTION_RDP_CIDR', key: 'bastionRdpCidr', admits: 'RDP (3389) to the bastion', env: {} },
  ],
)('$name: bounded, host bits cleared with a notice, non-public addresses noted', ({ name, key, admits, env: base }) => {
  const settingsOf = (value: string) => parse({ ...base, [name]: value });
  const ingressNotices = (value: string) =>
    settingsNotices(settingsOf(value), { env: { ...base, [name]: value } }).filter(
      (notice) => !/EC2_INSTANCE_KEYPAIR_NAME is not set|MY_SG_INGRESS_IP is not set/.test(notice),
    );

  test.each([
    ['52.94.76.0/16', '52.94.0.0/16'],
    ['52.94.76.10/24', '52.94.76.0/24'],
    ['52.94.76.10/31', '52.94.76.10/31'],
    ['52.94.76.11/31', '52.94.76.10/31'],
  ])('GIVEN %p THEN the CIDR is the network %p', (value, cidr) => {
    expect(settingsOf(value)[key]).toBe(cidr);
  });

  test.each(['52.94.76.10/15', '52.94.76.10/8', '0.0.0.0/1', '128.0.0.0/1'])(
    'fails on %p, wider than /16, saying how many addresses it would admit',
    (value) => {
      const prefix = Number(value.split('/')[1]);
      expect(errorOf({ ...base, [name]: value })).toBe(
        `Invalid setting ${name}="${value}": expected your public IPv4 address (e.g. 203.0.113.10) or an IPv4 ` +
          `CIDR from /16 to /32 (a /16 is 65,536 addresses); /${prefix} would admit ` +
          `${(2 ** (32 - prefix)).toLocaleString('en-US')} addresses to ${admits}.`,
      );
    },
  );

  test('GIVEN host bits THEN a notice names the network used and the /32 of the address', () => {
    expect(ingressNotices('52.94.76.10/24')).toEqual([
      `Notice: ${name}="52.94.76.10/24" has host bits set: using the network 52.94.76.0/24; for that one address use 52.94.76.10/32.`,
    ]);
  });

  test.each(['52.94.76.10', '52.94.76.0/24', '52.94.0.0/16', '8.8.8.8/32'])(
    'GIVEN the public %p without host bits THEN no notice',
    (value) => {
      expect(ingressNotices(value)).toEqual([]);
    },
  );

  test.each([
    ['10.1.2.3', 'a private address (10.0.0.0/8, RFC 1918)'],
    ['172.16.0.0/16', 'a private address (172.16.0.0/12, RFC 1918)'],
    ['172.31.255.1', 'a private address (172.16.0.0/12, RFC 1918)'],
    ['192.168.1.20', 'a private address (192.168.0.0/16, RFC 1918)'],
    ['127.0.0.1', 'a loopback address (127.0.0.0/8)'],
    ['169.254.169.254', 'a link-local address (169.254.0.0/16)'],
    ['100.64.10.1', 'a carrier-grade NAT address (100.64.0.0/10, RFC 6598)'],
    ['203.0.113.10', 'a documentation address (203.0.113.0/24, RFC 5737)'],
    ['224.0.0.1', 'a multicast address (224.0.0.0/4)'],
    ['255.255.255.255', 'a reserved address (240.0.0.0/4)'],
    ['0.1.2.3', '"this network" (0.0.0.0/8)'],
  ])('GIVEN the non-public %p THEN a notice says it is %s, and the value is kept', (value, kind) => {
    expect(settingsOf(value)[key]).toBe(value.includes('/') ? '172.16.0.0/16' : `${value}/32`);
    expect(ingressNotices(value)).toEqual([
      `Notice: ${name}=${JSON.stringify(value)} is ${kind}, not an address the internet sees: it admits only ` +
        'traffic that reaches the VPC from that network (e.g. over a VPN); from the internet use your public address ' +
        '(https://checkip.amazonaws.com).',
    ]);
  });

  test.each(['172.32.0.1', '172.15.255.255', '100.128.0.1', '11.0.0.1', '192.169.0.1'])(
    'GIVEN %p, just outside a non-public range THEN no notice',
    (value) => {
      expect(ingressNotices(value)).toEqual([]);
    },
  );
});

describe('ECS_INSTANCE_TYPE: RDS classes refused; in Fargate mode a notice, never a refusal', () => {
  test.each<Record<string, string>>([{}, { FARGATE: '1' }])('fails on db.t3.medium (with %p), an RDS class', (env) => {
    expect(errorOf({ ...env, ECS_INSTANCE_TYPE: 'db.t3.medium' })).toBe(
      'Invalid setting ECS_INSTANCE_TYPE="db.t3.medium": expected an EC2 instance type such as t3.medium, not an RDS DB instance class (db.…).',
    );
  });

  test.each(['m7g.large', 't4g.medium', 'a1.medium'])(
    'GIVEN FARGATE=1 and the Arm ECS_INSTANCE_TYPE=%p THEN it is accepted with the notice that it does nothing',
    (type) => {
      const env = { FARGATE: '1', ECS_INSTANCE_TYPE: type };
      const settings = parse(env);
      expect(settings.ecsInstanceType).toBe(type);
      expect(settingsNotices(settings, { env })).toContainEqual(
        expect.stringMatching(new RegExp(`^Notice: ECS_INSTANCE_TYPE="${type}" does nothing with FARGATE=1: `)),
      );
    },
  );

  test('GIVEN FARGATE=1 and ECS_MIN_CAPACITY above ECS_MAX_CAPACITY THEN accepted, with a notice for each', () => {
    const env = { FARGATE: '1', ECS_MIN_CAPACITY: '5', ECS_MAX_CAPACITY: '2' };
    const notices = settingsNotices(parse(env), { env });
    expect(notices).toContainEqual(expect.stringMatching(/^Notice: ECS_MIN_CAPACITY="5" does nothing with FARGATE=1/));
    expect(notices).toContainEqual(expect.stringMatching(/^Notice: ECS_MAX_CAPACITY="2" does nothing with FARGATE=1/));
  });
});

describe('messages: suggestions only when close, long values cut, each value named by its source', () => {
  test.each([
    ['region', 'us-east-1'],
    ['vpcId', 'vpc-123'],
    ['profile', 'dev'],
  ])('fails on the unknown -c %s without suggesting an unrelated key', (key, value) => {
    const message = errorOf({}, { [key]: value });
    expect(message).toBe(
      `Unknown setting -c ${key}=${JSON.stringify(value)}: This app's context keys are ` +
        'solutionId, domainJoinEcs, fargate, credSpecFromS3, deployApp, ec2InstanceKeyPairName, mySgIngressIp, ' +
        'natGateways, dbInstanceType, dbEngineVersion, keepBastionRunning, bastionAmiId, bastionRdpCidr, ' +
        'bastionMaintenance, ecsInstanceType, ' +
        'ecsMinCapacity, ecsMaxCapacity, appImage, identityRotationDays, certificateArn, credentialsFetcherVersion, ' +
        'alarmEmail, ticketSource, ecsExec.',
    );
  });

  test('fails on a 5,000-character value with a message that shows its start and its length', () => {
    const message = errorOf({ SOLUTION_ID: 'a'.repeat(5000) });
    expect(message).toMatch(/^Invalid setting SOLUTION_ID="a{100}…" \(5000 characters\): expected lowercase letters/);
    expect(message.length).toBeLessThan(400);
  });

  test('fails on an unknown context key with a 5,000-character name and value, both cut', () => {
    const message = errorOf({}, { ['k'.repeat(5000)]: 'v'.repeat(5000) });
    expect(message).toMatch(
      /^Unknown setting -c k{100}… \(5000 characters\)="v{100}…" \(5000 characters\): This app's/,
    );
    expect(message.length).toBeLessThan(700);
  });

  test('a value of exactly 100 characters is shown whole', () => {
    expect(errorOf({ APP_IMAGE: 'A'.repeat(100) })).toMatch(/^Invalid setting APP_IMAGE="A{100}": expected/);
  });

  const files = (name: string, context: Record<string, unknown>): ContextFile[] => [
    { name: 'cdk.json', context: name === 'cdk.json' ? context : {} },
    { name: 'cdk.context.json', context: name === 'cdk.context.json' ? context : {} },
    { name: '~/.cdk.json', context: name === '~/.cdk.json' ? context : {} },
  ];

  test.each(['cdk.json', 'cdk.context.json', '~/.cdk.json'])(
    'fails on a bad value from %s, naming that file instead of -c',
    (file) => {
      const context = { fargate: 'perhaps' };
      expect(() => parseSettings({ env: {}, context, contextFiles: files(file, context) })).toThrow(
        new RegExp(`^Invalid setting fargate="perhaps" in ${file.replace('.', '\\.')}: expected 0, 1`),
      );
    },
  );

  test('fails on a -c value that overrides cdk.json, naming -c', () => {
    expect(() =>
      parseSettings({ env: {}, context: { fargate: 'perhaps' }, contextFiles: files('cdk.json', { fargate: true }) }),
    ).toThrow(/^Invalid setting -c fargate="perhaps": expected/);
  });

  test('the file of highest precedence that holds the key names the value (cdk.json before cdk.context.json)', () => {
    const contextFiles: ContextFile[] = [
      { name: 'cdk.json', context: { natGateways: 5 } },
      { name: 'cdk.context.json', context: { natGateways: 5 } },
      { name: '~/.cdk.json', context: {} },
    ];
    expect(() => parseSettings({ env: {}, context: { natGateways: 5 }, contextFiles })).toThrow(
      /^Invalid setting natGateways="5" in cdk\.json: expected a whole number from 1 to 2\.$/,
    );
  });

  test('fails on a minimum above a maximum from cdk.json, naming the file', () => {
    const context = { ecsMinCapacity: 3, ecsMaxCapacity: 2 };
    expect(() => parseSettings({ env: {}, context, contextFiles: files('cdk.json', context) })).toThrow(
      /^Invalid setting ecsMaxCapacity in cdk\.json: ECS_MIN_CAPACITY \(3\) must not exceed ECS_MAX_CAPACITY \(2\)\.$/,
    );
  });

  test('fails on an unknown key in cdk.context.json, naming the file, with a suggestion when one is close', () => {
    const context = { fargte: '1' };
    expect(() => parseSettings({ env: {}, context, contextFiles: files('cdk.context.json', context) })).toThrow(
      /^Unknown setting fargte="1" in cdk\.context\.json: did you mean fargate\? This app's context keys are /,
    );
  });

  test('GIVEN a setting from cdk.json that does nothing in the mode THEN the notice names cdk.json', () => {
    const context = { fargate: true, ecsInstanceType: 'm5.large' };
    const sources = { env: {}, context, contextFiles: files('cdk.json', context) };
    expect(settingsNotices(parseSettings(sources), sources)).toContainEqual(
      expect.stringMatching(/^Notice: ecsInstanceType="m5\.large" in cdk\.json does nothing with FARGATE=1: /),
    );
  });

  test('readContextFiles reads cdk.json and ~/.cdk.json context and all of cdk.context.json; missing or bad files are empty', () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'settings-project-'));
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'settings-home-'));
    try {
      fs.writeFileSync(path.join(project, 'cdk.json'), JSON.stringify({ app: 'x', context: { fargate: true } }));
      fs.writeFileSync(path.join(project, 'cdk.context.json'), JSON.stringify({ natGateways: 2 }));
      fs.writeFileSync(path.join(home, '.cdk.json'), '{ not json');
      expect(readContextFiles(project, home)).toEqual([
        { name: 'cdk.json', context: { fargate: true } },
        { name: 'cdk.context.json', context: { natGateways: 2 } },
        { name: '~/.cdk.json', context: {} },
      ]);
      fs.rmSync(path.join(project, 'cdk.json'));
      expect(readContextFiles(project, home)[0]).toEqual({ name: 'cdk.json', context: {} });
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

// ---- CERTIFICATE_ARN ----------------------------------------------------------------------------------------------
describe('CERTIFICATE_ARN', () => {
  const ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0c3f6a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f';

  test('GIVEN no CERTIFICATE_ARN THEN the app stays on plain HTTP', () => {
    expect(parse({}).certificateArn).toBeUndefined();
  });

  test('GIVEN an ACM certificate ARN THEN it is kept, also when the deployment region matches', () => {
    expect(parse({ CERTIFICATE_ARN: ARN, DEPLOY_APP: '1' }).certificateArn).toBe(ARN);
    expect(parse({ CERTIFICATE_ARN: ARN, CDK_DEFAULT_REGION: 'eu-west-1' }).certificateArn).toBe(ARN);
    expect(parse({}, { certificateArn: ARN }).certificateArn).toBe(ARN);
  });

  test.each([
    'not-an-arn',
    'arn:aws:iam::123456789012:server-certificate/web',
    'arn:aws:acm:eu-west-1:12345678901:certificate/0c3f6a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f',
    'arn:aws:acm:eu-west-1:123456789012:certificate/web-site',
  ])('fails on %s, naming the setting and the expected form in one line', (value) => {
    const message = errorOf({ CERTIFICATE_ARN: value });
    expect(message).toBe(
      `Invalid setting CERTIFICATE_ARN=${JSON.stringify(value)}: expected an ACM certificate ARN such as ` +
        'arn:aws:acm:us-east-1:123456789012:certificate/0c3f6a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f.',
    );
    expect(message).not.toContain('\n');
  });

  test('fails on a certificate of another region than the deployment, which a load balancer cannot use', () => {
    expect(errorOf({ CERTIFICATE_ARN: ARN, AWS_REGION: 'us-east-1' })).toBe(
      `Invalid setting CERTIFICATE_ARN="${ARN}": the certificate is in eu-west-1 but the deployment goes to us-east-1; ` +
        'a load balancer uses a certificate of its own region.',
    );
  });

  test('GIVEN CERTIFICATE_ARN without DEPLOY_APP THEN a notice says it does nothing', () => {
    const sources = { env: { CERTIFICATE_ARN: ARN } };
    expect(settingsNotices(parseSettings(sources), sources)).toContain(
      `Notice: CERTIFICATE_ARN="${ARN}" does nothing without DEPLOY_APP=1: there is no application stack.`,
    );
  });
});

describe('CREDENTIALS_FETCHER_VERSION', () => {
  test('GIVEN it is unset THEN the hosts install 2.0.1', () => {
    expect(parse({}).credentialsFetcherVersion).toBe('2.0.1');
  });

  test.each([
    ['2.0.3', '2.0.3'],
    [' 1.3.8 ', '1.3.8'],
    ['2.0.1-1.amzn2023.0.5', '2.0.1-1.amzn2023.0.5'],
  ])('GIVEN %p THEN the hosts install %p', (value, expected) => {
    expect(parse({ CREDENTIALS_FETCHER_VERSION: value }).credentialsFetcherVersion).toBe(expected);
  });

  test('GIVEN -c credentialsFetcherVersion THEN it wins over the environment variable', () => {
    expect(
      parse({ CREDENTIALS_FETCHER_VERSION: '2.0.2' }, { credentialsFetcherVersion: '2.0.3' }).credentialsFetcherVersion,
    ).toBe('2.0.3');
  });

  test.each(['latest', '2.0', 'v2.0.1', '2.0.1;reboot', "2.0.1'", '2.0.1-'])('fails GIVEN %p', (value) => {
    expect(errorOf({ CREDENTIALS_FETCHER_VERSION: value })).toBe(
      `Invalid setting CREDENTIALS_FETCHER_VERSION=${JSON.stringify(value)}: expected a credentials-fetcher version ` +
        'from the Amazon Linux 2023 repositories, e.g. 2.0.1 or 2.0.1-1.amzn2023.0.5.',
    );
  });

  test('GIVEN FARGATE=1 THEN a notice says it does nothing', () => {
    const sources = { env: { FARGATE: '1', CREDENTIALS_FETCHER_VERSION: '2.0.3' } };
    expect(settingsNotices(parseSettings(sources), sources)).toContainEqual(
      expect.stringMatching(/^Notice: CREDENTIALS_FETCHER_VERSION="2.0.3" does nothing with FARGATE=1: /),
    );
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
      `Invalid setting ALARM_EMAIL=${value.length <= 100 ? JSON.stringify(value) : `${JSON.stringify(`${value.slice(0, 100)}…`)} (${value.length} characters)`}: expected one e-mail address such as ops@example.com (the alarm topic subscribes it).`,
    );
  });
});

// --- TICKET_SOURCE ---------------------------------------------------------------------------------------------------
describe('TICKET_SOURCE', () => {
  test('GIVEN it is unset THEN the ticket comes from credentials-fetcher (a gMSA), the mode of the earlier releases', () => {
    expect(parse({}).ticketSource).toBe('credentials-fetcher');
    expect(appModeOf(parse({}))).toEqual({
      ticketSource: 'credentials-fetcher',
      fargate: false,
      domainJoinEcs: false,
      credSpecFromS3: false,
    });
  });

  test.each([
    ['sidecar', 'sidecar'],
    [' Sidecar ', 'sidecar'],
    ['credentials-fetcher', 'credentials-fetcher'],
    ['CREDENTIALS-FETCHER', 'credentials-fetcher'],
  ])('GIVEN TICKET_SOURCE=%p THEN the ticket source is %p', (value, expected) => {
    expect(parse({ TICKET_SOURCE: value }).ticketSource).toBe(expected);
  });

  test('GIVEN -c ticketSource=sidecar THEN it wins over the environment variable', () => {
    expect(parse({ TICKET_SOURCE: 'credentials-fetcher' }, { ticketSource: 'sidecar' }).ticketSource).toBe('sidecar');
  });

  test.each([
    [{ TICKET_SOURCE: 'sidecar' }, { ticketSource: 'sidecar', fargate: false }],
    [
      { TICKET_SOURCE: 'sidecar', FARGATE: '1' },
      { ticketSource: 'sidecar', fargate: true },
    ],
  ])('GIVEN %p THEN the one mode value has no gMSA fields', (env, mode) => {
    expect(appModeOf(parse(env))).toEqual(mode);
  });

  test.each(['kinit', 'gmsa', 'side car', 'sidecar;', '1'])('fails GIVEN TICKET_SOURCE=%p', (value) => {
    expect(errorOf({ TICKET_SOURCE: value })).toBe(
      `Invalid setting TICKET_SOURCE=${JSON.stringify(value)}: expected credentials-fetcher or sidecar.`,
    );
  });

  test.each([
    [{ TICKET_SOURCE: 'sidecar', DOMAIN_JOIN_ECS: '1' }, {}, 'TICKET_SOURCE="sidecar" with DOMAIN_JOIN_ECS="1"'],
    [{ DOMAIN_JOIN_ECS: 'yes' }, { ticketSource: 'sidecar' }, '-c ticketSource="sidecar" with DOMAIN_JOIN_ECS="yes"'],
  ])('fails GIVEN %p and context %p, in one line naming both', (env, context, named) => {
    expect(errorOf(env, context)).toBe(
      `Invalid combination ${named}: the Kerberos sidecar gets the ticket inside the task and the hosts do not join ` +
        'the directory; turn one of them off.',
    );
  });

  test('GIVEN the sidecar with DOMAIN_JOIN_ECS=0 THEN it is accepted', () => {
    expect(parse({ TICKET_SOURCE: 'sidecar', DOMAIN_JOIN_ECS: '0' }).ticketSource).toBe('sidecar');
  });

  test('fails to build a mode from settings that bypassed bin/ with the sidecar and a joined host', () => {
    expect(() => appModeOf({ ...DEFAULT_SETTINGS, ticketSource: 'sidecar', domainJoinEcs: true })).toThrow(
      /TICKET_SOURCE=sidecar with DOMAIN_JOIN_ECS=1/,
    );
  });

  test.each([
    ['CREDENTIALS_FETCHER_VERSION', '2.0.3'],
    ['CREDSPEC_FROM_S3', '1'],
  ])('GIVEN the sidecar and %s THEN a notice says it does nothing', (name, value) => {
    const sources = { env: { TICKET_SOURCE: 'sidecar', DEPLOY_APP: '1', [name]: value } };
    expect(settingsNotices(parseSettings(sources), sources)).toContain(
      `Notice: ${name}=${JSON.stringify(value)} does nothing with TICKET_SOURCE=sidecar: no gMSA, no CredSpec and no credentials-fetcher.`,
    );
  });
});
// --- end TICKET_SOURCE -----------------------------------------------------------------------------------------------
