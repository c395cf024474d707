import { DirectoryServiceClient, ResetUserPasswordCommand } from '@aws-sdk/client-directory-service';
import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerRotationEvent, SecretsManagerRotationEventStep } from 'aws-lambda';
import { PASSWORD_EXCLUDED_CHARACTERS, PASSWORD_LENGTH } from '../../lib/directory-names';
import { IdentitySecret, parseIdentitySecret } from './identity-secret';

/*
 * A Secrets Manager rotation function for the domainless identity: a single user whose password is changed in place.
 * Secrets Manager calls it four times per rotation with the same ClientRequestToken (the new version's id), and may
 * call any step again after a failure, so each step checks what is already done before doing it.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html (staging labels)
 */

const AWSCURRENT = 'AWSCURRENT';
const AWSPENDING = 'AWSPENDING';

/** The steps Secrets Manager calls, in order. */
export const ROTATION_STEPS: readonly SecretsManagerRotationEventStep[] = [
  'createSecret',
  'setSecret',
  'testSecret',
  'finishSecret',
];

/** What a rotation needs besides the event. */
export interface RotationDependencies {
  readonly secretsManager: SecretsManagerClient;
  readonly directoryService: DirectoryServiceClient;
  /** The AWS Managed Microsoft AD that holds the user. */
  readonly directoryId: string;
  /**
   * The only AD user this function may reset. IAM cannot narrow `ds:ResetUserPassword` below the directory, so the
   * function itself refuses a secret version that names anybody else (the directory's `admin`, for instance).
   */
  readonly username: string;
  /** Where progress is written (never a password). */
  readonly log?: (message: string) => void;
}

/** One rotation step for one secret version. */
interface StepInput extends RotationDependencies {
  readonly secretId: string;
  readonly token: string;
  /** `VersionIdsToStages` from DescribeSecret. */
  readonly versions: Record<string, string[]>;
  readonly log: (message: string) => void;
}

/**
 * Runs one rotation step. Before any step: the secret must have rotation enabled, the token must be one of its
 * versions, and that version must be staged AWSPENDING. A version that is already AWSCURRENT means the rotation has
 * finished (a late retry): nothing to do.
 */
export async function rotate(event: SecretsManagerRotationEvent, deps: RotationDependencies): Promise<void> {
  const { Step: step, SecretId: secretId, ClientRequestToken: token } = event;
  const log = deps.log ?? ((message: string) => console.log(message));
  if (!ROTATION_STEPS.includes(step)) {
    throw new Error(`Unknown rotation step "${String(step)}": expected one of ${ROTATION_STEPS.join(', ')}.`);
  }
  if (!secretId || !token) {
    throw new Error('The rotation event needs SecretId and ClientRequestToken.');
  }

  const metadata = await deps.secretsManager.send(new DescribeSecretCommand({ SecretId: secretId }));
  if (metadata.RotationEnabled !== true) {
    throw new Error(`Secret ${secretId} is not enabled for rotation: refusing to change the AD password.`);
  }
  const versions = metadata.VersionIdsToStages ?? {};
  const stages = versions[token];
  if (stages === undefined) {
    throw new Error(`Version ${token} is not a version of secret ${secretId}: refusing to rotate.`);
  }
  if (stages.includes(AWSCURRENT)) {
    log(`${step}: version ${token} of ${secretId} is already ${AWSCURRENT}; nothing to do.`);
    return;
  }
  if (!stages.includes(AWSPENDING)) {
    throw new Error(
      `Version ${token} of secret ${secretId} is not staged ${AWSPENDING} (stages: ${stages.join(', ') || 'none'}): refusing to rotate.`,
    );
  }

  const input: StepInput = { ...deps, secretId, token, versions, log };
  switch (step) {
    case 'createSecret':
      return createSecret(input);
    case 'setSecret':
      return setSecret(input);
    case 'testSecret':
      return testSecret(input);
    case 'finishSecret':
      return finishSecret(input);
  }
}

/**
 * createSecret: gives the AWSPENDING version a new password, keeping every other key of the current version.
 * A retry finds the AWSPENDING value already there and keeps it, so the password the later steps set is stable.
 */
async function createSecret(input: StepInput): Promise<void> {
  const current = await readCurrent(input);
  if (await pendingValueExists(input)) {
    input.log(`createSecret: version ${input.token} of ${input.secretId} already has a value; keeping it.`);
    return;
  }
  // The same rules as the secret's first password (lib/constructs/domainless-identity.ts), so the new one also needs
  // no escaping in PowerShell, JSON or shell and meets the directory's complexity policy.
  const random = await input.secretsManager.send(
    new GetRandomPasswordCommand({
      PasswordLength: PASSWORD_LENGTH,
      ExcludeCharacters: PASSWORD_EXCLUDED_CHARACTERS,
      RequireEachIncludedType: true,
    }),
  );
  if (!random.RandomPassword) {
    throw new Error('GetRandomPassword returned no password.');
  }
  const next: IdentitySecret = { ...current, password: random.RandomPassword };
  await input.secretsManager.send(
    new PutSecretValueCommand({
      SecretId: input.secretId,
      ClientRequestToken: input.token,
      SecretString: JSON.stringify(next),
      VersionStages: [AWSPENDING],
    }),
  );
  input.log(`createSecret: stored a new password in version ${input.token} of ${input.secretId} (${AWSPENDING}).`);
}

/**
 * setSecret: sets the AWSPENDING password on the AD user. Safe to retry: resetting to the same password again is an
 * administrative reset, which AD accepts. If AD refuses, the step throws and Secrets Manager stops the rotation
 * before finishSecret, so AWSCURRENT (what credentials-fetcher reads) keeps the password AD still has.
 *
 * ResetUserPassword only works for users in the OU named after the directory's NetBIOS name, which is where the
 * bastion creates this user.
 * https://docs.aws.amazon.com/directoryservice/latest/devguide/API_ResetUserPassword.html
 */
async function setSecret(input: StepInput): Promise<void> {
  const pending = await readPending(input);
  try {
    await input.directoryService.send(
      new ResetUserPasswordCommand({
        DirectoryId: input.directoryId,
        UserName: pending.username,
        NewPassword: pending.password,
      }),
    );
  } catch (error) {
    throw explainResetFailure(error, pending.username, input);
  }
  input.log(`setSecret: reset the password of AD user ${pending.username} in directory ${input.directoryId}.`);
}

/**
 * testSecret: checks what can be checked without a Kerberos client: the AWSPENDING version parses, has the three
 * keys, names the expected user and the same domain as AWSCURRENT. setSecret's successful ResetUserPassword already
 * showed that the user exists in the directory's delegated OU and that AD accepted the password.
 *
 * NOT checked here: that a domain controller issues a Kerberos ticket for the new password (that needs a Kerberos
 * client and a network path to the DCs on port 88), that the account is enabled and not locked out, and that it is
 * still a member of the group allowed to retrieve the gMSA password. The Directory Service API offers no call for
 * those without the separate Directory Service Data API. credentials-fetcher's next ticket renewal is the real test:
 * its log on the container instance shows a failed `kinit` if any of these is wrong.
 */
async function testSecret(input: StepInput): Promise<void> {
  const pending = await readPending(input);
  const current = await readCurrent(input);
  if (pending.domainName.toLowerCase() !== current.domainName.toLowerCase()) {
    throw new Error(
      `Version ${input.token} of ${input.secretId} names domain "${pending.domainName}", but ${AWSCURRENT} names ` +
        `"${current.domainName}": a rotation changes the password only.`,
    );
  }
  input.log(`testSecret: version ${input.token} of ${input.secretId} is complete and names the same user and domain.`);
}

/** finishSecret: moves AWSCURRENT to the new version, once (a retry after the move returned early in `rotate`). */
async function finishSecret(input: StepInput): Promise<void> {
  const currentVersion = Object.entries(input.versions).find(([, stages]) => stages.includes(AWSCURRENT))?.[0];
  if (currentVersion === undefined) {
    throw new Error(`Secret ${input.secretId} has no ${AWSCURRENT} version to move from.`);
  }
  await input.secretsManager.send(
    new UpdateSecretVersionStageCommand({
      SecretId: input.secretId,
      VersionStage: AWSCURRENT,
      MoveToVersionId: input.token,
      RemoveFromVersionId: currentVersion,
    }),
  );
  input.log(`finishSecret: moved ${AWSCURRENT} of ${input.secretId} from version ${currentVersion} to ${input.token}.`);
}

async function readCurrent(input: StepInput): Promise<IdentitySecret> {
  const current = await input.secretsManager.send(
    new GetSecretValueCommand({ SecretId: input.secretId, VersionStage: AWSCURRENT }),
  );
  return checkUser(parseIdentitySecret(current.SecretString, `The ${AWSCURRENT} version of ${input.secretId}`), input);
}

async function readPending(input: StepInput): Promise<IdentitySecret> {
  const pending = await input.secretsManager.send(
    new GetSecretValueCommand({ SecretId: input.secretId, VersionId: input.token, VersionStage: AWSPENDING }),
  );
  return checkUser(
    parseIdentitySecret(pending.SecretString, `The ${AWSPENDING} version ${input.token} of ${input.secretId}`),
    input,
  );
}

/** sAMAccountNames compare case-insensitively in AD. */
function checkUser(secret: IdentitySecret, input: StepInput): IdentitySecret {
  if (secret.username.toLowerCase() !== input.username.toLowerCase()) {
    throw new Error(
      `Secret ${input.secretId} names user "${secret.username}", but this function only rotates "${input.username}": refusing.`,
    );
  }
  return secret;
}

/** Whether the AWSPENDING version of this token already holds a value (an empty version is what rotation starts with). */
async function pendingValueExists(input: StepInput): Promise<boolean> {
  try {
    await input.secretsManager.send(
      new GetSecretValueCommand({ SecretId: input.secretId, VersionId: input.token, VersionStage: AWSPENDING }),
    );
    return true;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return false;
    throw error;
  }
}

/** A message that says what failed, that AWSCURRENT is unchanged, and what to do. */
function explainResetFailure(error: unknown, username: string, input: StepInput): Error {
  const name = errorName(error);
  const unchanged = `${AWSCURRENT} of ${input.secretId} is unchanged.`;
  // The two "does not exist" errors: the first rotation ran before the bastion created the user, or the user was
  // created outside the OU ResetUserPassword may touch.
  if (name === 'UserDoesNotExistException' || name === 'EntityDoesNotExistException') {
    return new Error(
      `AD user "${username}" does not exist in directory ${input.directoryId} (${name}). The database stack's bastion ` +
        `creates it in the directory's NetBIOS-named OU; once that stack has deployed, rotate again with ` +
        `"aws secretsmanager rotate-secret --secret-id ${input.secretId}". ${unchanged}`,
      { cause: error },
    );
  }
  if (name === 'InvalidPasswordException') {
    return new Error(
      `Directory ${input.directoryId} rejected the new password of "${username}" (${name}: it does not meet the ` +
        `domain's password policy). ${unchanged}`,
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new Error(
    `ResetUserPassword for "${username}" in directory ${input.directoryId} failed (${name}: ${message}). ${unchanged}`,
    { cause: error },
  );
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'UnknownError';
}
