import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { Settings } from '../lib/settings';
import type { AwsClients } from './clients';
import { cannotReach, unreachedEndpoint } from './network';
import { CannotCheckError, CheckContext, CheckFailure, DeployedStack, Deployment, StackRole } from './types';

/** The roles in deployment order. Names follow lib/gmsa-app.ts: `<SOLUTION_ID>-<role>`. */
export const STACK_ROLES: readonly StackRole[] = ['directory', 'database', 'cluster', 'application'];

export function stackName(solutionId: string, role: StackRole): string {
  return `${solutionId}-${role}`;
}

/** How long finding the credentials may take. */
export const CREDENTIALS_TIMEOUT_MS = 15_000;

/** Errors that mean the credentials are missing or refused: nothing can be checked. */
const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
]);

/**
 * Resolves the region and the credentials once before any check, so that a missing one is a single line (exit 2)
 * rather than nine failures. Returns the region.
 */
export async function preflight(clients: AwsClients, credentialsTimeoutMs = CREDENTIALS_TIMEOUT_MS): Promise<string> {
  let region: string;
  try {
    region = await clients.cloudFormation.config.region();
  } catch {
    region = '';
  }
  if (!region) {
    throw new CannotCheckError(
      'Cannot check: no AWS region. Set AWS_REGION (or AWS_DEFAULT_REGION, or a profile with a region) to the region you deployed to.',
    );
  }
  try {
    // A credential process or SSO refresh could wait on its own; 15 s is plenty for any provider that works.
    await withTimeout(clients.cloudFormation.config.credentials(), credentialsTimeoutMs);
  } catch (error) {
    if (error instanceof CannotCheckError) throw error;
    // An SSO or credential-process provider that cannot reach its endpoint.
    const endpoint = unreachedEndpoint(error, 'the credentials endpoint');
    if (endpoint !== undefined) {
      throw new CannotCheckError(
        `Cannot check: finding AWS credentials failed: ${cannotReach(error, endpoint)}. Check your network, proxy or VPN.`,
      );
    }
    throw new CannotCheckError(
      'Cannot check: no AWS credentials found. Sign in (e.g. "aws sso login" or "aws configure") or set AWS_PROFILE, then run again.',
    );
  }
  return region;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CannotCheckError(`Cannot check: finding AWS credentials took longer than ${ms / 1000} s.`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Reads each stack of the solution. A missing directory, database or cluster stack (or the application stack when
 * DEPLOY_APP is set) means there is nothing to check: CannotCheckError. Without DEPLOY_APP the application stack is
 * still picked up if it exists, so a fresh shell without that variable checks the whole deployment.
 */
export async function loadDeployment(
  clients: AwsClients,
  settings: Settings,
  region: string,
  signal: AbortSignal,
): Promise<Deployment> {
  const stacks: DeployedStack[] = [];
  for (const role of STACK_ROLES) {
    const name = stackName(settings.solutionId, role);
    const required = role !== 'application' || settings.deployApp;
    const stack = await describeStack(clients, name, region, signal);
    if (stack === undefined) {
      if (!required) continue;
      throw new CannotCheckError(
        `Cannot check: stack ${name} not found in ${region}. Deploy it (README "Deploy"), or set SOLUTION_ID, ` +
          'DEPLOY_APP and AWS_REGION as you did for cdk deploy.',
      );
    }
    const outputs: Record<string, string> = {};
    for (const output of stack.Outputs ?? []) {
      if (output.OutputKey && output.OutputValue !== undefined) outputs[output.OutputKey] = output.OutputValue;
    }
    stacks.push({
      role,
      name,
      status: stack.StackStatus ?? 'UNKNOWN',
      statusReason: stack.StackStatusReason,
      outputs,
    });
  }
  return { stacks };
}

async function describeStack(clients: AwsClients, name: string, region: string, signal: AbortSignal) {
  try {
    const result = await clients.cloudFormation.send(new DescribeStacksCommand({ StackName: name }), {
      abortSignal: signal,
    });
    return result.Stacks?.[0];
  } catch (error) {
    const errorName = error instanceof Error ? error.name : '';
    const message = error instanceof Error ? error.message : String(error);
    if (errorName === 'ValidationError' && /does not exist/.test(message)) return undefined;
    // Not a failed read of the stack: AWS was never reached, and nothing else will be either.
    const endpoint = unreachedEndpoint(error, `CloudFormation in ${region}`);
    if (endpoint !== undefined) {
      throw new CannotCheckError(
        `Cannot check: ${cannotReach(error, endpoint)}. Check your network, proxy or VPN (HTTPS_PROXY) and AWS_REGION, then run again.`,
      );
    }
    if (CREDENTIAL_ERRORS.has(errorName)) {
      throw new CannotCheckError(`Cannot check: AWS refused the credentials (${errorName}). Sign in again and rerun.`);
    }
    if (errorName === 'AccessDenied' || errorName === 'AccessDeniedException') {
      throw new CannotCheckError(`Cannot check: not allowed to read stack ${name} (${errorName}: ${message}).`);
    }
    throw new CannotCheckError(`Cannot check: reading stack ${name} failed (${errorName || 'Error'}: ${message}).`);
  }
}

/** The stack of a role, or undefined (only the application stack may be absent). */
export function stackOf(ctx: CheckContext, role: StackRole): DeployedStack | undefined {
  return ctx.deployment.stacks.find((stack) => stack.role === role);
}

/** An output of a stack; a missing one means the stack did not finish creating. */
export function outputOf(ctx: CheckContext, role: StackRole, key: string): string {
  const stack = stackOf(ctx, role);
  const value = stack?.outputs[key];
  if (value === undefined || value === '') {
    const name = stack?.name ?? stackName(ctx.settings.solutionId, role);
    throw new CheckFailure(
      `stack ${name} has no output ${key}`,
      `finish deploying ${name} (see the first check), then run again.`,
    );
  }
  return value;
}
