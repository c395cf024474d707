import { DirectoryServiceClient } from '@aws-sdk/client-directory-service';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerRotationEvent } from 'aws-lambda';
import { rotate } from './rotation';

/*
 * Secrets Manager rotation function of the domainless identity `<SOLUTION_ID>/credentials-fetcher-identity`:
 * a new password in the secret (createSecret), the same password on the AD user (setSecret), a check (testSecret),
 * then AWSCURRENT moves to the new version (finishSecret). See rotation.ts.
 *
 * Environment (set by lib/constructs/domainless-identity-rotation.ts):
 * - DIRECTORY_ID: the AWS Managed Microsoft AD holding the user.
 * - IDENTITY_USERNAME: the only user this function may reset.
 */

// One client of each per container, reused across invocations.
const secretsManager = new SecretsManagerClient({});
const directoryService = new DirectoryServiceClient({});

export async function handler(event: SecretsManagerRotationEvent): Promise<void> {
  console.log(`Rotation step ${event.Step} of ${event.SecretId}, version ${event.ClientRequestToken}`);
  await rotate(event, {
    secretsManager,
    directoryService,
    directoryId: requiredEnvironment('DIRECTORY_ID'),
    username: requiredEnvironment('IDENTITY_USERNAME'),
  });
}

function requiredEnvironment(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`Environment variable ${name} is not set: the rotation function's construct sets it.`);
  }
  return value;
}
