import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  GetSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { parseIdentitySecret } from '../../lambda/rotate-domainless-identity/identity-secret';
import { outputOf } from '../deployment';
import { Check, CheckContext, CheckOutcome, fail, pass, skip } from '../types';

/**
 * The domainless identity: credentials-fetcher signs in with the AWSCURRENT version's username/password/domainName.
 *
 * "Last rotation succeeded" is decided from DescribeSecret, the way the rotation function (lambda/rotate-domainless-identity)
 * leaves the secret:
 * - RotationEnabled is true (the function itself refuses to run otherwise);
 * - LastRotatedDate is set: creating the rotation schedule rotates at once (lib/constructs/domainless-identity-rotation.ts),
 *   so a deployed stack without one never completed a rotation;
 * - no version is staged AWSPENDING without also being AWSCURRENT: finishSecret moves AWSCURRENT onto the pending
 *   version, so a pending version left alone is a rotation that stopped in createSecret, setSecret or testSecret
 *   (Secrets Manager: "rotate-secrets_how", staging labels).
 * The secret's value is parsed but never printed.
 */
export const identityCheck: Check = {
  id: 'identity',
  title: 'Domainless identity',
  description:
    'domainless: the identity secret has username, password and domainName; rotation is on and the last one finished',
  async run(ctx: CheckContext): Promise<CheckOutcome> {
    if (ctx.settings.domainJoinEcs) return skip('domain-joined mode: the hosts use their computer accounts');
    const secretId = outputOf(ctx, 'directory', 'IdentitySecretName');
    const logGroup = ctx.deployment.stacks.find((s) => s.role === 'database')?.outputs.IdentityRotationLogGroupName;
    const readLog = `read the rotation log (aws logs tail ${logGroup ?? '<IdentityRotationLogGroupName>'})`;

    let value: GetSecretValueCommandOutput;
    try {
      value = await ctx.clients.secretsManager.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
        { abortSignal: ctx.signal },
      );
    } catch (error) {
      // ReadOnlyAccess does not include GetSecretValue: say exactly what is missing.
      if (error instanceof Error && error.name === 'AccessDeniedException') {
        return fail(
          `not allowed to read ${secretId} (AccessDeniedException)`,
          `run with credentials that have secretsmanager:GetSecretValue on ${secretId} (its value is never printed).`,
        );
      }
      throw error;
    }
    try {
      parseIdentitySecret(value.SecretString, `The AWSCURRENT version of ${secretId}`);
    } catch (error) {
      return fail(
        (error as Error).message,
        `put {"username","password","domainName"} back (aws secretsmanager put-secret-value --secret-id ${secretId}) ` +
          "with the AD user's current password, or redeploy the directory stack.",
      );
    }

    const metadata = await ctx.clients.secretsManager.send(new DescribeSecretCommand({ SecretId: secretId }), {
      abortSignal: ctx.signal,
    });
    if (metadata.RotationEnabled !== true) {
      return fail(`rotation is off for ${secretId}`, 'redeploy the database stack: it creates the rotation schedule.');
    }
    const stalled = Object.entries(metadata.VersionIdsToStages ?? {}).find(
      ([, stages]) => stages.includes('AWSPENDING') && !stages.includes('AWSCURRENT'),
    );
    if (stalled) {
      return fail(
        `the last rotation of ${secretId} did not finish (version ${stalled[0]} is still AWSPENDING)`,
        `${readLog}, fix the cause, then: aws secretsmanager rotate-secret --secret-id ${secretId}`,
      );
    }
    if (!metadata.LastRotatedDate) {
      return fail(
        `${secretId} has never completed a rotation`,
        `${readLog}; then: aws secretsmanager rotate-secret --secret-id ${secretId}`,
      );
    }
    return pass(
      `${secretId}: username, password, domainName; rotation on, last rotated ${metadata.LastRotatedDate.toISOString()}`,
    );
  },
};
