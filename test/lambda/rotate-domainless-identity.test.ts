import {
  DirectoryServiceClient,
  DirectoryServiceClientResolvedConfig,
  ServiceInputTypes as DsInputTypes,
  ServiceOutputTypes as DsOutputTypes,
  EntityDoesNotExistException,
  InvalidPasswordException,
  ResetUserPasswordCommand,
  ResetUserPasswordCommandInput,
  UserDoesNotExistException,
} from '@aws-sdk/client-directory-service';
import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetRandomPasswordCommandInput,
  GetSecretValueCommand,
  GetSecretValueCommandInput,
  InvalidParameterException,
  InvalidRequestException,
  PutSecretValueCommand,
  PutSecretValueCommandInput,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerClientResolvedConfig,
  ServiceInputTypes,
  ServiceOutputTypes,
  UpdateSecretVersionStageCommand,
  UpdateSecretVersionStageCommandInput,
} from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerRotationEvent, SecretsManagerRotationEventStep } from 'aws-lambda';
import { AwsStub, mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../lambda/rotate-domainless-identity';
import { DOMAINLESS_USERNAME, PASSWORD_EXCLUDED_CHARACTERS, PASSWORD_LENGTH } from '../../lib/directory-names';

// ---- fixtures -------------------------------------------------------------------------------------------------------

const SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:111111111111:secret:amazon-ecs-gmsa-linux/credentials-fetcher-identity-AbCdEf';
const DIRECTORY_ID = 'd-1234567890';
const CURRENT_VERSION = '00000000-0000-4000-8000-000000000001';
const TOKEN = '00000000-0000-4000-8000-000000000002';
const OLD_PASSWORD = 'Old-Password-000000000000000000A';
const NEW_PASSWORD = 'New-Password-111111111111111111B';

/** The identity as the directory stack creates it, plus a key credentials-fetcher ignores (kept by a rotation). */
const CURRENT_VALUE = {
  username: DOMAINLESS_USERNAME,
  password: OLD_PASSWORD,
  domainName: 'directory.amazon-ecs-gmsa-linux.com',
  directoryId: DIRECTORY_ID,
};

const STEPS: SecretsManagerRotationEventStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

function rotationEvent(step: SecretsManagerRotationEventStep, token = TOKEN): SecretsManagerRotationEvent {
  return { Step: step, SecretId: SECRET_ARN, ClientRequestToken: token };
}

const $metadata = {};

type SecretsManagerStub = AwsStub<ServiceInputTypes, ServiceOutputTypes, SecretsManagerClientResolvedConfig>;
type DirectoryServiceStub = AwsStub<DsInputTypes, DsOutputTypes, DirectoryServiceClientResolvedConfig>;

/**
 * An in-memory secret with Secrets Manager's staging-label behaviour, so that retries and whole rotations can be
 * replayed: RotateSecret starts with an empty version staged AWSPENDING; PutSecretValue fills it (and refuses a
 * different value for the same token); UpdateSecretVersionStage moves a label.
 */
class FakeSecret {
  public rotationEnabled = true;
  private readonly versions = new Map<string, { stages: string[]; value?: string }>();
  private readonly randomPasswords: string[] = [NEW_PASSWORD, 'Another-Password-2222222222222C'];

  constructor(current: object | string = CURRENT_VALUE) {
    this.versions.set(CURRENT_VERSION, {
      stages: ['AWSCURRENT'],
      value: typeof current === 'string' ? current : JSON.stringify(current),
    });
  }

  /** What RotateSecret does before it calls the function. */
  public startRotation(token = TOKEN): this {
    this.moveStage('AWSPENDING', token);
    return this;
  }

  /** A version with a value and the given stages, as if written earlier. */
  public withVersion(id: string, stages: string[], value?: object | string): this {
    this.versions.set(id, {
      stages,
      value: typeof value === 'string' || value === undefined ? value : JSON.stringify(value),
    });
    return this;
  }

  public stagesOf(id: string): string[] {
    return this.versions.get(id)?.stages ?? [];
  }

  public valueOf(stage: string): Record<string, unknown> {
    const found = [...this.versions.values()].find((v) => v.stages.includes(stage));
    return JSON.parse(found?.value ?? 'null');
  }

  public install(sm: SecretsManagerStub): void {
    // Every call names the secret; one that names another secret finds nothing (the API reference of each action lists
    // ResourceNotFoundException: "Secrets Manager can't find the resource that you asked for").
    // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html#API_GetSecretValue_Errors
    const named = (input: { SecretId?: string }): void => {
      if (input.SecretId !== SECRET_ARN) {
        throw new ResourceNotFoundException({
          message: "Secrets Manager can't find the resource that you asked for.",
          $metadata,
        });
      }
    };
    sm.on(DescribeSecretCommand).callsFake((input: { SecretId?: string }) => {
      named(input);
      return this.describe();
    });
    sm.on(GetSecretValueCommand).callsFake((input: GetSecretValueCommandInput) => {
      named(input);
      return this.getValue(input);
    });
    sm.on(GetRandomPasswordCommand).callsFake(() => ({ RandomPassword: this.randomPasswords.shift() }));
    sm.on(PutSecretValueCommand).callsFake((input: PutSecretValueCommandInput) => {
      named(input);
      return this.putValue(input);
    });
    sm.on(UpdateSecretVersionStageCommand).callsFake((input: UpdateSecretVersionStageCommandInput) => {
      named(input);
      return this.updateStage(input);
    });
  }

  private describe() {
    return {
      ARN: SECRET_ARN,
      RotationEnabled: this.rotationEnabled,
      VersionIdsToStages: Object.fromEntries([...this.versions].map(([id, v]) => [id, [...v.stages]])),
    };
  }

  private getValue(input: GetSecretValueCommandInput) {
    const entry = input.VersionId
      ? ([input.VersionId, this.versions.get(input.VersionId)] as const)
      : [...this.versions].find(([, v]) => v.stages.includes(input.VersionStage ?? 'AWSCURRENT'));
    const [id, version] = entry ?? [];
    const stageOk = !input.VersionStage || version?.stages.includes(input.VersionStage);
    if (!version || !stageOk || version.value === undefined) {
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret value.",
        $metadata,
      });
    }
    return { ARN: SECRET_ARN, VersionId: id, SecretString: version.value, VersionStages: [...version.stages] };
  }

  private putValue(input: PutSecretValueCommandInput) {
    const token = input.ClientRequestToken!;
    const existing = this.versions.get(token);
    if (existing?.value !== undefined && existing.value !== input.SecretString) {
      throw new ResourceExistsException({ message: 'A version with this token already exists.', $metadata });
    }
    this.versions.set(token, { stages: existing?.stages ?? [], value: input.SecretString });
    for (const stage of input.VersionStages ?? ['AWSCURRENT']) this.moveStage(stage, token);
    return { ARN: SECRET_ARN, VersionId: token };
  }

  private updateStage(input: UpdateSecretVersionStageCommandInput) {
    const holder = [...this.versions].find(([, v]) => v.stages.includes(input.VersionStage!))?.[0];
    if (holder !== undefined && holder !== input.RemoveFromVersionId) {
      throw new InvalidParameterException({ message: 'The stage is attached to another version.', $metadata });
    }
    this.moveStage(input.VersionStage!, input.MoveToVersionId!);
    return { ARN: SECRET_ARN };
  }

  private moveStage(stage: string, to: string): void {
    for (const v of this.versions.values()) v.stages = v.stages.filter((s) => s !== stage);
    const target = this.versions.get(to) ?? { stages: [] };
    target.stages.push(stage);
    this.versions.set(to, target);
  }
}

/** AD as ResetUserPassword sees it: the users in the delegated OU and their passwords. */
class FakeDirectory {
  public readonly passwords = new Map<string, string>([[DOMAINLESS_USERNAME, OLD_PASSWORD]]);

  public install(ds: DirectoryServiceStub): void {
    ds.on(ResetUserPasswordCommand).callsFake((input: ResetUserPasswordCommandInput) => {
      if (input.DirectoryId !== DIRECTORY_ID) {
        throw new EntityDoesNotExistException({ message: 'Directory not found', $metadata });
      }
      if (!this.passwords.has(input.UserName!)) {
        throw new UserDoesNotExistException({ message: 'User does not exist', $metadata });
      }
      this.passwords.set(input.UserName!, input.NewPassword!);
      return {};
    });
  }
}

// ---- harness --------------------------------------------------------------------------------------------------------

const sm = mockClient(SecretsManagerClient);
const ds = mockClient(DirectoryServiceClient);
let logs: string[];

beforeEach(() => {
  sm.reset();
  ds.reset();
  process.env.DIRECTORY_ID = DIRECTORY_ID;
  process.env.IDENTITY_USERNAME = DOMAINLESS_USERNAME;
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    logs.push(args.join(' '));
  });
});

afterEach(() => {
  jest.restoreAllMocks();
  delete process.env.DIRECTORY_ID;
  delete process.env.IDENTITY_USERNAME;
});

function given(secret: FakeSecret, directory = new FakeDirectory()): { secret: FakeSecret; directory: FakeDirectory } {
  secret.install(sm);
  directory.install(ds);
  return { secret, directory };
}

const writes = () => ({
  put: sm.commandCalls(PutSecretValueCommand).length,
  stageMoves: sm.commandCalls(UpdateSecretVersionStageCommand).length,
  resets: ds.commandCalls(ResetUserPasswordCommand).length,
});

// ---- tests ----------------------------------------------------------------------------------------------------------

describe('rotate-domainless-identity: a whole rotation', () => {
  test('GIVEN a rotation started WHEN the four steps run THEN AD and AWSCURRENT hold the same new password, other keys kept', async () => {
    const { secret, directory } = given(new FakeSecret().startRotation());

    for (const step of STEPS) await handler(rotationEvent(step));

    expect(directory.passwords.get(DOMAINLESS_USERNAME)).toBe(NEW_PASSWORD);
    expect(secret.valueOf('AWSCURRENT')).toEqual({ ...CURRENT_VALUE, password: NEW_PASSWORD });
    expect(secret.stagesOf(TOKEN)).toEqual(expect.arrayContaining(['AWSCURRENT', 'AWSPENDING']));
    expect(secret.stagesOf(CURRENT_VERSION)).toEqual([]);
  });

  test('GIVEN a rotation started WHEN every step runs twice THEN the result is the same as one run', async () => {
    const { secret, directory } = given(new FakeSecret().startRotation());

    for (const step of STEPS) {
      await handler(rotationEvent(step));
      await handler(rotationEvent(step));
    }

    expect(directory.passwords.get(DOMAINLESS_USERNAME)).toBe(NEW_PASSWORD);
    expect(secret.valueOf('AWSCURRENT')).toEqual({ ...CURRENT_VALUE, password: NEW_PASSWORD });
    expect(sm.commandCalls(GetRandomPasswordCommand)).toHaveLength(1);
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(1);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(1);
  });

  test('GIVEN a whole rotation THEN no log line contains the old or the new password', async () => {
    given(new FakeSecret().startRotation());

    for (const step of STEPS) await handler(rotationEvent(step));

    expect(logs.length).toBeGreaterThan(0);
    for (const line of logs) {
      expect(line).not.toContain(OLD_PASSWORD);
      expect(line).not.toContain(NEW_PASSWORD);
    }
  });
});

describe('rotate-domainless-identity: createSecret', () => {
  test('GIVEN an empty AWSPENDING version THEN a password with the original rules is stored as AWSPENDING with the other keys', async () => {
    const { secret } = given(new FakeSecret().startRotation());

    await handler(rotationEvent('createSecret'));

    const random = sm.commandCalls(GetRandomPasswordCommand)[0].args[0].input as GetRandomPasswordCommandInput;
    expect(random).toEqual({
      PasswordLength: PASSWORD_LENGTH,
      ExcludeCharacters: PASSWORD_EXCLUDED_CHARACTERS,
      RequireEachIncludedType: true,
    });
    const put = sm.commandCalls(PutSecretValueCommand)[0].args[0].input as PutSecretValueCommandInput;
    expect(put).toMatchObject({ SecretId: SECRET_ARN, ClientRequestToken: TOKEN, VersionStages: ['AWSPENDING'] });
    expect(JSON.parse(put.SecretString!)).toEqual({ ...CURRENT_VALUE, password: NEW_PASSWORD });
    expect(secret.stagesOf(CURRENT_VERSION)).toEqual(['AWSCURRENT']);
    expect(writes()).toEqual({ put: 1, stageMoves: 0, resets: 0 });
  });

  test('GIVEN the AWSPENDING version already holds a value (a retry) THEN it is kept: no new password, no write', async () => {
    const pendingValue = { ...CURRENT_VALUE, password: 'Earlier-Attempt-33333333333333D' };
    const { secret } = given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));

    await handler(rotationEvent('createSecret'));

    expect(sm.commandCalls(GetRandomPasswordCommand)).toHaveLength(0);
    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
    expect(secret.valueOf('AWSPENDING')).toEqual(pendingValue);
  });

  test.each(['username', 'password', 'domainName'])(
    'fails with an error naming the key when AWSCURRENT has no "%s"',
    async (key) => {
      const broken: Record<string, unknown> = { ...CURRENT_VALUE };
      delete broken[key];
      given(new FakeSecret(broken).startRotation());

      await expect(handler(rotationEvent('createSecret'))).rejects.toThrow(
        `The AWSCURRENT version of ${SECRET_ARN} has no "${key}" key`,
      );
      expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
    },
  );

  test('fails without quoting the secret when AWSCURRENT is not JSON', async () => {
    given(new FakeSecret(`not json ${OLD_PASSWORD}`).startRotation());

    const failure = handler(rotationEvent('createSecret'));

    await expect(failure).rejects.toThrow('is not valid JSON: expected a JSON object with the string keys');
    await expect(failure).rejects.not.toThrow(OLD_PASSWORD);
  });

  test('fails when GetRandomPassword fails, and writes nothing', async () => {
    given(new FakeSecret().startRotation());
    sm.on(GetRandomPasswordCommand).rejects(new InvalidRequestException({ message: 'throttled', $metadata }));

    await expect(handler(rotationEvent('createSecret'))).rejects.toThrow('throttled');
    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
  });
});

describe('rotate-domainless-identity: setSecret', () => {
  const pendingValue = { ...CURRENT_VALUE, password: NEW_PASSWORD };

  test('GIVEN a filled AWSPENDING version THEN the AD user gets its password, and no stage moves', async () => {
    const { secret, directory } = given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));

    await handler(rotationEvent('setSecret'));

    expect(ds.commandCalls(ResetUserPasswordCommand)[0].args[0].input).toEqual({
      DirectoryId: DIRECTORY_ID,
      UserName: DOMAINLESS_USERNAME,
      NewPassword: NEW_PASSWORD,
    });
    expect(directory.passwords.get(DOMAINLESS_USERNAME)).toBe(NEW_PASSWORD);
    expect(secret.stagesOf(CURRENT_VERSION)).toEqual(['AWSCURRENT']);
    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 1 });
  });

  test('GIVEN setSecret already ran (a retry) THEN it resets to the same password again and succeeds', async () => {
    const { directory } = given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));

    await handler(rotationEvent('setSecret'));
    await handler(rotationEvent('setSecret'));

    const passwords = ds.commandCalls(ResetUserPasswordCommand).map((c) => c.args[0].input.NewPassword);
    expect(passwords).toEqual([NEW_PASSWORD, NEW_PASSWORD]);
    expect(directory.passwords.get(DOMAINLESS_USERNAME)).toBe(NEW_PASSWORD);
  });

  test('fails when AD rejects the password, leaving AWSCURRENT untouched (no stage change, no secret write)', async () => {
    const { secret } = given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));
    ds.on(ResetUserPasswordCommand).rejects(
      new InvalidPasswordException({ message: 'The password does not meet the complexity requirements', $metadata }),
    );

    await expect(handler(rotationEvent('setSecret'))).rejects.toThrow(
      `Directory ${DIRECTORY_ID} rejected the new password of "${DOMAINLESS_USERNAME}" (InvalidPasswordException`,
    );
    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 1 });
    expect(secret.stagesOf(CURRENT_VERSION)).toEqual(['AWSCURRENT']);
    expect(secret.valueOf('AWSCURRENT')).toEqual(CURRENT_VALUE);
  });

  test('GIVEN a rejected setSecret WHEN Secrets Manager would go on THEN finishSecret is never reached: AWSCURRENT keeps the old password', async () => {
    const { secret } = given(new FakeSecret().startRotation());
    ds.on(ResetUserPasswordCommand).rejects(new InvalidPasswordException({ message: 'policy', $metadata }));

    await handler(rotationEvent('createSecret'));
    await expect(handler(rotationEvent('setSecret'))).rejects.toThrow('rejected the new password');

    expect(secret.valueOf('AWSCURRENT')).toEqual(CURRENT_VALUE);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
  });

  test.each([
    ['UserDoesNotExistException', new UserDoesNotExistException({ message: 'no such user', $metadata })],
    ['EntityDoesNotExistException', new EntityDoesNotExistException({ message: 'no such entity', $metadata })],
  ])(
    'fails clearly when the AD user does not exist yet (%s): bastion first, then rotate again',
    async (name, error) => {
      given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));
      ds.on(ResetUserPasswordCommand).rejects(error);

      const failure = handler(rotationEvent('setSecret'));

      await expect(failure).rejects.toThrow(
        `AD user "${DOMAINLESS_USERNAME}" does not exist in directory ${DIRECTORY_ID} (${name})`,
      );
      await expect(failure).rejects.toThrow(`aws secretsmanager rotate-secret --secret-id ${SECRET_ARN}`);
      expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 1 });
    },
  );

  test('fails with the service error named when Directory Service fails otherwise', async () => {
    given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));
    ds.on(ResetUserPasswordCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(handler(rotationEvent('setSecret'))).rejects.toThrow(
      `ResetUserPassword for "${DOMAINLESS_USERNAME}" in directory ${DIRECTORY_ID} failed (ThrottlingException: Rate exceeded). AWSCURRENT of ${SECRET_ARN} is unchanged.`,
    );
  });

  test('names a failure that is not an Error (a thrown string) as UnknownError, with its text', async () => {
    given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));
    ds.on(ResetUserPasswordCommand).callsFake(() => Promise.reject('socket hang up'));

    await expect(handler(rotationEvent('setSecret'))).rejects.toThrow(
      `ResetUserPassword for "${DOMAINLESS_USERNAME}" in directory ${DIRECTORY_ID} failed (UnknownError: socket hang up).`,
    );
  });

  test('fails with an error naming the key when the AWSPENDING version has no "password", and resets nothing', async () => {
    const { password: _password, ...withoutPassword } = pendingValue;
    given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], withoutPassword));

    await expect(handler(rotationEvent('setSecret'))).rejects.toThrow(
      `The AWSPENDING version ${TOKEN} of ${SECRET_ARN} has no "password" key`,
    );
    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
  });

  test('fails when the AWSPENDING version is still empty (createSecret did not run), and resets nothing', async () => {
    given(new FakeSecret().startRotation());

    await expect(handler(rotationEvent('setSecret'))).rejects.toThrow("can't find the specified secret value");
    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
  });

  test('fails when the AWSPENDING version names another user (e.g. admin), and resets nothing', async () => {
    given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], { ...pendingValue, username: 'admin' }));

    await expect(handler(rotationEvent('setSecret'))).rejects.toThrow(
      `names user "admin", but this function only rotates "${DOMAINLESS_USERNAME}"`,
    );
    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
  });
});

describe('rotate-domainless-identity: testSecret', () => {
  const pendingValue = { ...CURRENT_VALUE, password: NEW_PASSWORD };

  test('GIVEN a complete AWSPENDING version for the same user and domain THEN it passes, twice, without writing', async () => {
    given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));

    await handler(rotationEvent('testSecret'));
    await handler(rotationEvent('testSecret'));

    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
  });

  test('fails when the AWSPENDING version names another domain', async () => {
    given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], { ...pendingValue, domainName: 'other.example.com' }));

    await expect(handler(rotationEvent('testSecret'))).rejects.toThrow(
      'names domain "other.example.com", but AWSCURRENT names "directory.amazon-ecs-gmsa-linux.com"',
    );
  });

  test('fails with an error naming the key when the AWSPENDING version has no "domainName"', async () => {
    const { domainName: _domainName, ...withoutDomain } = pendingValue;
    given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], withoutDomain));

    await expect(handler(rotationEvent('testSecret'))).rejects.toThrow('has no "domainName" key');
  });
});

describe('rotate-domainless-identity: finishSecret', () => {
  const pendingValue = { ...CURRENT_VALUE, password: NEW_PASSWORD };

  test('GIVEN a tested AWSPENDING version THEN AWSCURRENT moves to it from the current version', async () => {
    const { secret } = given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));

    await handler(rotationEvent('finishSecret'));

    expect(sm.commandCalls(UpdateSecretVersionStageCommand)[0].args[0].input).toEqual({
      SecretId: SECRET_ARN,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: TOKEN,
      RemoveFromVersionId: CURRENT_VERSION,
    });
    expect(secret.valueOf('AWSCURRENT')).toEqual(pendingValue);
  });

  test('GIVEN AWSCURRENT already moved (a retry) THEN nothing is moved again', async () => {
    given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));

    await handler(rotationEvent('finishSecret'));
    await handler(rotationEvent('finishSecret'));

    expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(1);
  });
});

describe('rotate-domainless-identity: checks before every step', () => {
  test.each(STEPS)('GIVEN the version is already AWSCURRENT WHEN %s runs THEN it does nothing', async (step) => {
    given(new FakeSecret());

    await handler(rotationEvent(step, CURRENT_VERSION));

    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  test.each(STEPS)('fails in %s when the version is not staged AWSPENDING (wrong stage)', async (step) => {
    given(new FakeSecret().withVersion(TOKEN, ['AWSPREVIOUS'], { ...CURRENT_VALUE, password: NEW_PASSWORD }));

    await expect(handler(rotationEvent(step))).rejects.toThrow(
      `Version ${TOKEN} of secret ${SECRET_ARN} is not staged AWSPENDING (stages: AWSPREVIOUS): refusing to rotate.`,
    );
    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
  });

  test.each(STEPS)('fails in %s when the token is not a version of the secret', async (step) => {
    given(new FakeSecret());

    await expect(handler(rotationEvent(step, 'not-a-version'))).rejects.toThrow(
      `Version not-a-version is not a version of secret ${SECRET_ARN}`,
    );
    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
  });

  test.each(STEPS)('fails in %s when rotation is not enabled on the secret', async (step) => {
    const { secret } = given(new FakeSecret().startRotation());
    secret.rotationEnabled = false;

    await expect(handler(rotationEvent(step))).rejects.toThrow(`Secret ${SECRET_ARN} is not enabled for rotation`);
    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
  });

  test('fails on an unknown step before calling any AWS API', async () => {
    given(new FakeSecret().startRotation());

    await expect(
      handler({ ...rotationEvent('createSecret'), Step: 'deleteSecret' as SecretsManagerRotationEventStep }),
    ).rejects.toThrow('Unknown rotation step "deleteSecret"');
    expect(sm.calls()).toHaveLength(0);
  });

  test.each(['DIRECTORY_ID', 'IDENTITY_USERNAME'])(
    'fails naming %s when that environment variable is missing',
    async (name) => {
      given(new FakeSecret().startRotation());
      delete process.env[name];

      await expect(handler(rotationEvent('createSecret'))).rejects.toThrow(`Environment variable ${name} is not set`);
    },
  );
});

describe('rotate-domainless-identity: what the log and the errors say', () => {
  const pendingValue = { ...CURRENT_VALUE, password: NEW_PASSWORD };

  test('GIVEN a whole rotation THEN each step logs what it did, naming the version and the secret', async () => {
    given(new FakeSecret().startRotation());

    for (const step of STEPS) await handler(rotationEvent(step));

    expect(logs).toEqual(
      expect.arrayContaining([
        `createSecret: stored a new password in version ${TOKEN} of ${SECRET_ARN} (AWSPENDING).`,
        `setSecret: reset the password of AD user ${DOMAINLESS_USERNAME} in directory ${DIRECTORY_ID}.`,
        `testSecret: version ${TOKEN} of ${SECRET_ARN} is complete and names the same user and domain.`,
        `finishSecret: moved AWSCURRENT of ${SECRET_ARN} from version ${CURRENT_VERSION} to ${TOKEN}.`,
      ]),
    );
  });

  test('GIVEN retries THEN the log says why nothing was done', async () => {
    given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));

    await handler(rotationEvent('createSecret'));
    await handler(rotationEvent('finishSecret', CURRENT_VERSION));

    expect(logs).toEqual(
      expect.arrayContaining([
        `createSecret: version ${TOKEN} of ${SECRET_ARN} already has a value; keeping it.`,
        `finishSecret: version ${CURRENT_VERSION} of ${SECRET_ARN} is already AWSCURRENT; nothing to do.`,
      ]),
    );
  });

  test('fails on an unknown step, listing the four steps', async () => {
    given(new FakeSecret().startRotation());

    await expect(
      handler({ ...rotationEvent('createSecret'), Step: 'deleteSecret' as SecretsManagerRotationEventStep }),
    ).rejects.toThrow(
      'Unknown rotation step "deleteSecret": expected one of createSecret, setSecret, testSecret, finishSecret.',
    );
  });

  test.each([
    ['SecretId', { SecretId: '' }],
    ['ClientRequestToken', { ClientRequestToken: '' }],
  ])('fails without %s before calling any AWS API', async (_name, missing) => {
    given(new FakeSecret().startRotation());

    await expect(handler({ ...rotationEvent('createSecret'), ...missing })).rejects.toThrow(
      'The rotation event needs SecretId and ClientRequestToken.',
    );
    expect(sm.calls()).toHaveLength(0);
  });

  test('fails naming every stage of a version that is not AWSPENDING, or "none"', async () => {
    given(new FakeSecret().withVersion(TOKEN, ['AWSPREVIOUS', 'MYLABEL'], pendingValue));
    await expect(handler(rotationEvent('setSecret'))).rejects.toThrow('(stages: AWSPREVIOUS, MYLABEL)');

    sm.reset();
    given(new FakeSecret().withVersion(TOKEN, [], pendingValue));
    await expect(handler(rotationEvent('setSecret'))).rejects.toThrow(
      `Version ${TOKEN} of secret ${SECRET_ARN} is not staged AWSPENDING (stages: none): refusing to rotate.`,
    );
  });

  test('fails when GetRandomPassword returns no password, and writes nothing', async () => {
    given(new FakeSecret().startRotation());
    sm.on(GetRandomPasswordCommand).resolves({});

    await expect(handler(rotationEvent('createSecret'))).rejects.toThrow('GetRandomPassword returned no password.');
    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
  });

  test.each([
    ['AccessDeniedException', 'not authorized to perform secretsmanager:GetSecretValue'],
    ['ThrottlingException', 'Rate exceeded'],
  ])(
    'fails in createSecret when reading the AWSPENDING version fails with %s, instead of taking it for empty',
    async (name, message) => {
      given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));
      sm.on(GetSecretValueCommand, { VersionId: TOKEN }).rejects(Object.assign(new Error(message), { name }));

      await expect(handler(rotationEvent('createSecret'))).rejects.toThrow(message);
      expect(sm.commandCalls(GetRandomPasswordCommand)).toHaveLength(0);
      expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
    },
  );

  test('fails in finishSecret when no version is AWSCURRENT, and moves nothing', async () => {
    given(
      new FakeSecret().withVersion(CURRENT_VERSION, [], CURRENT_VALUE).withVersion(TOKEN, ['AWSPENDING'], pendingValue),
    );

    await expect(handler(rotationEvent('finishSecret'))).rejects.toThrow(
      `Secret ${SECRET_ARN} has no AWSCURRENT version to move from.`,
    );
    expect(writes()).toEqual({ put: 0, stageMoves: 0, resets: 0 });
  });

  test.each([
    [
      new UserDoesNotExistException({ message: 'no such user', $metadata }),
      'once that stack has deployed, rotate again',
    ],
    [new InvalidPasswordException({ message: 'policy', $metadata }), "domain's password policy). AWSCURRENT of"],
    [Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }), 'failed (ThrottlingException'],
  ])('fails in setSecret with the AD error kept as the cause (%p)', async (error, says) => {
    given(new FakeSecret().withVersion(TOKEN, ['AWSPENDING'], pendingValue));
    ds.on(ResetUserPasswordCommand).rejects(error);

    const failure = await handler(rotationEvent('setSecret')).catch((thrown: Error) => thrown);

    expect((failure as Error).message).toContain(says);
    expect((failure as Error).message).toMatch(new RegExp(`AWSCURRENT of ${SECRET_ARN} is unchanged\\.$`));
    expect((failure as Error).cause).toBe(error);
  });
});
