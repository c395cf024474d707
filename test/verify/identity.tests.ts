import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { identityCheck } from '../../verify/checks/identity';
import { awsError, clientMock, DOMAIN, IDENTITY_SECRET, makeContext } from './helpers';

const sm = clientMock(SecretsManagerClient);
const PASSWORD = 'S3cret-never-printed-0123456789ab';
const VALUE = JSON.stringify({ username: 'ecs-gmsa-identity', password: PASSWORD, domainName: DOMAIN });

function given(value: string, metadata: Record<string, unknown>): void {
  sm.on(GetSecretValueCommand, { SecretId: IDENTITY_SECRET, VersionStage: 'AWSCURRENT' }).resolves({
    SecretString: value,
  });
  sm.on(DescribeSecretCommand, { SecretId: IDENTITY_SECRET }).resolves(metadata);
}

const ROTATED = {
  RotationEnabled: true,
  LastRotatedDate: new Date('2026-11-30T10:00:00Z'),
  VersionIdsToStages: { v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT', 'AWSPENDING'] },
};

beforeEach(() => sm.reset());

describe('domainless identity check', () => {
  test('passes with the three keys, rotation on and a finished last rotation', async () => {
    given(VALUE, ROTATED);
    const outcome = await identityCheck.run(makeContext());
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toContain('last rotated 2026-11-30T10:00:00.000Z');
    expect(JSON.stringify(outcome)).not.toContain(PASSWORD);
  });

  test('is skipped in domain-joined mode without calling Secrets Manager', async () => {
    const outcome = await identityCheck.run(makeContext({ domainJoinEcs: true }));
    expect(outcome.status).toBe('skip');
    expect(sm.calls()).toHaveLength(0);
  });

  test('fails when a key is missing, without printing the secret', async () => {
    given(JSON.stringify({ username: 'ecs-gmsa-identity', password: PASSWORD }), ROTATED);
    const outcome = await identityCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('has no "domainName" key');
    expect(outcome.detail).toMatch(new RegExp(`^The AWSCURRENT version of ${IDENTITY_SECRET} `));
    expect(JSON.stringify(outcome)).not.toContain(PASSWORD);
  });

  test('fails when rotation is off', async () => {
    given(VALUE, { ...ROTATED, RotationEnabled: false });
    const outcome = await identityCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('rotation is off');
  });

  test('fails when a rotation stopped before finishSecret (AWSPENDING left on another version)', async () => {
    given(VALUE, { ...ROTATED, VersionIdsToStages: { v1: ['AWSCURRENT'], v2: ['AWSPENDING'] } });
    const outcome = await identityCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('version v2 is still AWSPENDING');
    expect(outcome.fix).toContain('aws logs tail /rotation-log');
  });

  test('fails when no rotation has ever completed', async () => {
    given(VALUE, { RotationEnabled: true, VersionIdsToStages: { v1: ['AWSCURRENT'] } });
    const outcome = await identityCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('never completed a rotation');
  });

  test('fails naming the missing permission when the caller may not read the secret', async () => {
    sm.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException', 'User is not authorized'));
    const outcome = await identityCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toBe(`not allowed to read ${IDENTITY_SECRET} (AccessDeniedException)`);
    expect(outcome.fix).toContain(`secretsmanager:GetSecretValue on ${IDENTITY_SECRET}`);
  });

  test('a stalled rotation found before the database stack exists names where the log group name goes', async () => {
    given(VALUE, { ...ROTATED, VersionIdsToStages: { v1: ['AWSCURRENT'], v2: ['AWSPENDING'] } });
    const ctx = makeContext({}, (stacks) => stacks.filter((s) => s.role === 'directory'));
    expect((await identityCheck.run(ctx)).fix).toMatch(
      /^read the rotation log \(aws logs tail <IdentityRotationLogGroupName>\)/,
    );
  });
});
