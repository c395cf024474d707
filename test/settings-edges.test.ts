import { errorOf, parse } from './helpers/settings';

/*
 * The edges of each setting's accepted range and form: the last value accepted and the first refused, so that a
 * bound moved by one (NAT_GATEWAYS=3 accepted, ECS_MIN_CAPACITY=0 refused) fails here. MY_SG_INGRESS_IP,
 * DB_ENGINE_VERSION and ECS_INSTANCE_TYPE have their own tests in test/settings.test.ts.
 */

/** A value as messages show it: whole up to 100 characters, else its start and its length (bin/settings.ts). */
function shown(value: string): string {
  return value.length <= 100
    ? JSON.stringify(value)
    : `${JSON.stringify(`${value.slice(0, 100)}…`)} (${value.length} characters)`;
}

describe('numeric settings: the first and last value accepted', () => {
  test.each([
    ['NAT_GATEWAYS', '1', 'natGateways', 1],
    ['NAT_GATEWAYS', '2', 'natGateways', 2],
    ['ECS_MIN_CAPACITY', '0', 'ecsMinCapacity', 0],
    ['ECS_MIN_CAPACITY', '10', 'ecsMinCapacity', 10],
    ['ECS_MAX_CAPACITY', '1', 'ecsMaxCapacity', 1],
    ['ECS_MAX_CAPACITY', '10', 'ecsMaxCapacity', 10],
    ['IDENTITY_ROTATION_DAYS', '1', 'identityRotationDays', 1],
    ['IDENTITY_ROTATION_DAYS', '365', 'identityRotationDays', 365],
    ['IDENTITY_ROTATION_DAYS', '030', 'identityRotationDays', 30],
  ])('GIVEN %s=%s THEN %s is %d', (name, value, key, expected) => {
    // ECS_MIN_CAPACITY may not exceed ECS_MAX_CAPACITY, whose default is 2.
    const env = name === 'ECS_MIN_CAPACITY' ? { [name]: value, ECS_MAX_CAPACITY: '10' } : { [name]: value };
    expect(parse(env)).toMatchObject({ [key]: expected });
  });

  test.each([
    ['NAT_GATEWAYS', '0', 1, 2],
    ['NAT_GATEWAYS', '3', 1, 2],
    ['ECS_MIN_CAPACITY', '11', 0, 10],
    ['ECS_MAX_CAPACITY', '0', 1, 10],
    ['ECS_MAX_CAPACITY', '11', 1, 10],
    ['IDENTITY_ROTATION_DAYS', '0', 1, 365],
    ['IDENTITY_ROTATION_DAYS', '366', 1, 365],
    ['IDENTITY_ROTATION_DAYS', '-1', 1, 365],
    ['IDENTITY_ROTATION_DAYS', '1.5', 1, 365],
    ['IDENTITY_ROTATION_DAYS', '1e2', 1, 365],
    ['IDENTITY_ROTATION_DAYS', '0x10', 1, 365],
    ['IDENTITY_ROTATION_DAYS', '7 days', 1, 365],
  ])('fails GIVEN %s=%s, naming the range %d to %d', (name, value, min, max) => {
    expect(errorOf({ [name]: value, ECS_MAX_CAPACITY: name === 'ECS_MAX_CAPACITY' ? value : '10' })).toBe(
      `Invalid setting ${name}=${JSON.stringify(value)}: expected a whole number from ${min} to ${max}.`,
    );
  });

  test('GIVEN a number from cdk.json context (not a string) THEN it is read', () => {
    expect(parse({}, { natGateways: 2, identityRotationDays: 365 })).toMatchObject({
      natGateways: 2,
      identityRotationDays: 365,
    });
  });
});

describe('ECS_MIN_CAPACITY and ECS_MAX_CAPACITY together', () => {
  test('GIVEN equal values THEN they are accepted', () => {
    expect(parse({ ECS_MIN_CAPACITY: '4', ECS_MAX_CAPACITY: '4' })).toMatchObject({
      ecsMinCapacity: 4,
      ecsMaxCapacity: 4,
    });
  });

  test('GIVEN ECS_MIN_CAPACITY alone, below the default maximum THEN the default maximum stays', () => {
    expect(parse({ ECS_MIN_CAPACITY: '1' })).toMatchObject({ ecsMinCapacity: 1, ecsMaxCapacity: 2 });
  });

  test('fails GIVEN a minimum above the maximum, naming the maximum setting and both values', () => {
    expect(errorOf({ ECS_MIN_CAPACITY: '5', ECS_MAX_CAPACITY: '4' })).toBe(
      'Invalid setting ECS_MAX_CAPACITY: ECS_MIN_CAPACITY (5) must not exceed ECS_MAX_CAPACITY (4).',
    );
  });

  test('fails GIVEN a minimum above the maximum given with -c, naming the context key', () => {
    expect(errorOf({ ECS_MIN_CAPACITY: '5' }, { ecsMaxCapacity: '4' })).toBe(
      'Invalid setting -c ecsMaxCapacity: ECS_MIN_CAPACITY (5) must not exceed ECS_MAX_CAPACITY (4).',
    );
  });
});

describe('SOLUTION_ID: the first and last form accepted', () => {
  test.each(['a'.repeat(32), 'a-b-c', 'z9', 'as', 'ss', 'amzn-s3-demos', 'sthreeish'])(
    'GIVEN %s THEN it is used',
    (id) => {
      expect(parse({ SOLUTION_ID: id }).solutionId).toBe(id);
    },
  );

  test.each([
    ['a'.repeat(33), 'it has 33 characters'],
    ['9lives', 'names built from it allow only these characters'],
    ['-gmsa', 'names built from it allow only these characters'],
    ['my_gmsa', 'names built from it allow only these characters'],
    ['my gmsa', 'names built from it allow only these characters'],
    ['my--gmsa', 'the RDS instance identifier "my--gmsa-sql" would contain "--"'],
    ['gmsa-', 'the RDS instance identifier "gmsa--sql" would contain "--"'],
    ['awsgmsa', 'the SSM parameter "/awsgmsa/credspec" may not start with aws or ssm'],
    ['ssm', 'the SSM parameter "/ssm/credspec" may not start with aws or ssm'],
    ['sthree-gmsa', 'S3 bucket names derived from the stack name "sthree-gmsa-directory" may not start with sthree-'],
    ['sthree', 'S3 bucket names derived from the stack name "sthree-directory" may not start with sthree-'],
    ['amzn-s3-demo', 'S3 bucket names derived from the stack name "amzn-s3-demo-directory" may not start with'],
    ['amzn-s3-demo-x', 'S3 bucket names derived from the stack name "amzn-s3-demo-x-directory" may not start with'],
  ])('fails GIVEN %s, saying why', (id, why) => {
    const message = errorOf({ SOLUTION_ID: id });
    expect(message).toContain(`Invalid setting SOLUTION_ID=${JSON.stringify(id)}: expected lowercase letters`);
    expect(message).toContain(`(${why}`);
    expect(message).toMatch(/\)\.$/);
  });
});

describe('EC2_INSTANCE_KEYPAIR_NAME', () => {
  test.each([
    ['one character', 'k'],
    ['255 characters', 'k'.repeat(255)],
    ['spaces and punctuation', 'my key (2026) ~!'],
  ])('GIVEN %s THEN it is kept', (_case, name) => {
    expect(parse({ EC2_INSTANCE_KEYPAIR_NAME: name }).ec2InstanceKeyPairName).toBe(name);
  });

  test.each([
    ['256 characters', 'k'.repeat(256)],
    ['a non-ASCII character', 'clé'],
    ['a control character', 'key\u0007name'],
  ])('fails GIVEN %s', (_case, name) => {
    expect(errorOf({ EC2_INSTANCE_KEYPAIR_NAME: name })).toBe(
      `Invalid setting EC2_INSTANCE_KEYPAIR_NAME=${shown(name)}: expected the name of an EC2 key pair: ` +
        '1 to 255 printable ASCII characters.',
    );
  });
});

describe('APP_IMAGE: image references', () => {
  const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

  test.each([
    ['no registry, no tag', 'nginx'],
    ['a Docker Hub namespace', 'library/nginx:1.27'],
    ['an ECR image with a tag', '123456789012.dkr.ecr.us-east-1.amazonaws.com/web-site:1.0'],
    ['a multi-level path', 'public.ecr.aws/docker/library/nginx:stable-alpine'],
    ['a registry with a port', 'registry.example.com:5000/team/web-site'],
    ['a digest', `123456789012.dkr.ecr.us-east-1.amazonaws.com/web-site@${DIGEST}`],
    ['a tag and a digest', `web-site:1.0@${DIGEST}`],
    ['separators inside a path component', 'my.registry/web__site-1/app.v2'],
    ['a double separator in the first component, without a registry', 'web__site'],
    ['a double separator in a third component', 'team/apps/web--site'],
    ['a registry host in capitals (DNS names are not case-sensitive)', 'Registry.Example.com/web-site:1.0'],
    ['a 128-character tag', `web-site:${'t'.repeat(128)}`],
    ['512 characters', `r/${'a'.repeat(506)}:1.0`],
  ])('GIVEN %s THEN it is used', (_case, image) => {
    expect(parse({ APP_IMAGE: image }).appImage).toBe(image);
  });

  test.each([
    ['capitals in the path', 'registry.example.com/Web-Site:1.0'],
    ['a leading separator in a component', 'registry.example.com/-web:1.0'],
    ['a trailing separator in a component', 'registry.example.com/web-:1.0'],
    ['an empty path component', 'registry.example.com//web:1.0'],
    ['a 129-character tag', `web-site:${'t'.repeat(129)}`],
    ['a tag starting with a dot', 'web-site:.1'],
    ['a short digest', 'web-site@sha256:0123'],
    ['a digest in capitals', `web-site@sha256:${'0123456789ABCDEF'.repeat(4)}`],
    ['text after the digest', `web-site@${DIGEST} && curl`],
    ['text before the name', '$(curl x)/web-site'],
    ['a space', 'web site'],
    ['513 characters', `r/${'a'.repeat(507)}:1.0`],
  ])('fails GIVEN %s', (_case, image) => {
    expect(errorOf({ APP_IMAGE: image })).toBe(
      `Invalid setting APP_IMAGE=${shown(image)}: expected a container image reference such as ` +
        '123456789012.dkr.ecr.us-east-1.amazonaws.com/web-site:1.0.',
    );
  });
});

describe('booleans', () => {
  test.each([
    ['FARGATE', 'fargate'],
    ['DOMAIN_JOIN_ECS', 'domainJoinEcs'],
    ['DEPLOY_APP', 'deployApp'],
    ['KEEP_BASTION_RUNNING', 'keepBastionRunning'],
  ])('GIVEN %s=NO or FALSE THEN %s is false', (name, key) => {
    expect(parse({ [name]: 'NO' })).toMatchObject({ [key]: false });
    expect(parse({ [name]: 'FALSE' })).toMatchObject({ [key]: false });
  });

  test('fails GIVEN KEEP_BASTION_RUNNING=2, naming the words allowed', () => {
    expect(errorOf({ KEEP_BASTION_RUNNING: '2' })).toBe(
      'Invalid setting KEEP_BASTION_RUNNING="2": expected 0, 1, true, false, yes or no (any case), or empty for unset.',
    );
  });

  test('GIVEN CREDSPEC_FROM_S3=1 on EC2 THEN the CredSpec comes from S3; unset, from SSM', () => {
    expect(parse({ CREDSPEC_FROM_S3: '1' }).credSpecFromS3).toBe(true);
    expect(parse({}).credSpecFromS3).toBe(false);
    expect(parse({ FARGATE: '0' }).credSpecFromS3).toBe(false);
  });
});

describe('impossible combinations', () => {
  test('fails GIVEN FARGATE with DOMAIN_JOIN_ECS, quoting both as given', () => {
    expect(errorOf({ FARGATE: 'yes', DOMAIN_JOIN_ECS: 'True' })).toBe(
      'Invalid combination FARGATE="yes" with DOMAIN_JOIN_ECS="True": Fargate supports only domainless gMSA; ' +
        'turn one of them off.',
    );
  });

  test('fails GIVEN FARGATE with CREDSPEC_FROM_S3=0, the context key named where it came from', () => {
    expect(errorOf({ FARGATE: '1' }, { credSpecFromS3: false })).toBe(
      'Invalid combination FARGATE="1" with -c credSpecFromS3="false": Fargate reads the CredSpec only from S3; ' +
        'leave CREDSPEC_FROM_S3 unset or set it to 1.',
    );
  });

  test('GIVEN DOMAIN_JOIN_ECS with FARGATE=0 THEN they are accepted', () => {
    expect(parse({ FARGATE: '0', DOMAIN_JOIN_ECS: '1' })).toMatchObject({ fargate: false, domainJoinEcs: true });
  });
});

describe('context keys', () => {
  test.each([
    '@aws-cdk/core:newStyleStackSynthesis',
    'availability-zones:account=123456789012:region=us-east-1',
    'aws:cdk:enable-path-metadata',
    'aws-cdk:enableDiffNoFail',
    'cdk-notices',
    'cdkVersion',
    'acknowledged-issue-numbers',
    'cli-telemetry',
  ])('GIVEN the CDK key %s THEN it is not taken for a setting', (key) => {
    expect(() => parse({}, { [key]: 'x' })).not.toThrow();
  });

  // A suggestion only for a key close to a setting's (bin/typos.ts); every key is listed either way.
  test.each([
    ['acknowledged-issues', 'x', undefined],
    ['telemetry', 'x', undefined],
    ['my-cdk', 'x', undefined],
    ['natgateways', 2, 'natGateways'],
  ])('fails GIVEN the unknown key -c %s, suggesting %s only when close, and naming every key', (key, value, near) => {
    const message = errorOf({}, { [key]: value });
    const suggestion = near === undefined ? '' : `did you mean -c ${near}? `;
    expect(
      message.startsWith(`Unknown setting -c ${key}=${JSON.stringify(String(value))}: ${suggestion}This app's`),
    ).toBe(true);
    expect(message).toContain("This app's context keys are solutionId, domainJoinEcs, fargate,");
    expect(message).toMatch(/, alarmEmail, ticketSource, ecsExec\.$/);
  });

  test('GIVEN a context value of null or whitespace THEN the environment variable is read', () => {
    expect(parse({ NAT_GATEWAYS: '2' }, { natGateways: null }).natGateways).toBe(2);
    expect(parse({ NAT_GATEWAYS: '2' }, { natGateways: '  ' }).natGateways).toBe(2);
  });
});

describe('combinations: only FARGATE turned on makes CREDSPEC_FROM_S3=0 a conflict', () => {
  test.each([
    ['CREDSPEC_FROM_S3=0 alone', { CREDSPEC_FROM_S3: '0' }],
    ['FARGATE=0 with CREDSPEC_FROM_S3=0', { FARGATE: '0', CREDSPEC_FROM_S3: '0' }],
  ])('GIVEN %s THEN the settings parse, with the CredSpec in SSM on EC2', (_name, env) => {
    const settings = parse(env);
    expect({ fargate: settings.fargate, credSpecFromS3: settings.credSpecFromS3 }).toEqual({
      fargate: false,
      credSpecFromS3: false,
    });
  });

  test('GIVEN FARGATE=1 with CREDSPEC_FROM_S3=0 THEN one line names both', () => {
    expect(errorOf({ FARGATE: '1', CREDSPEC_FROM_S3: '0' })).toMatch(
      /^Invalid combination FARGATE=.*1.* with CREDSPEC_FROM_S3=.*0.*: Fargate reads the CredSpec only from S3/,
    );
  });
});
