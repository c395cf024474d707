import { cannotReach, unreachedEndpoint } from './network';
import { Check, CheckContext, CheckFailure, CheckOutcome, CheckResult, fail } from './types';

/**
 * Runs the checks in order. Each one ends as pass, fail or skip: a CheckFailure or an AWS error becomes a failure
 * with a fix, and a check still running when the context's signal aborts fails as timed out, so the run is bounded
 * whatever a check waits for.
 */
export async function runChecks(ctx: CheckContext, checks: readonly Check[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    const outcome = ctx.signal.aborted ? timedOut() : await runOne(ctx, check);
    results.push({ id: check.id, title: check.title, ...outcome });
  }
  return results;
}

async function runOne(ctx: CheckContext, check: Check): Promise<CheckOutcome> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<CheckOutcome>((resolve) => {
    onAbort = () => resolve(timedOut());
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([check.run(ctx).catch((error: unknown) => failureOf(error, ctx)), aborted]);
  } finally {
    if (onAbort) ctx.signal.removeEventListener('abort', onAbort);
  }
}

function timedOut(): CheckOutcome {
  return fail(
    "not finished when the run's time was up",
    'run again; if it keeps timing out, check your network to AWS.',
  );
}

/** An error thrown by a check as one line. */
export function failureOf(error: unknown, ctx: CheckContext): CheckOutcome {
  if (error instanceof CheckFailure) return fail(error.message, error.fix);
  if (ctx.signal.aborted) return timedOut();
  // Duck-typed: an abort rejects with a DOMException, which is not an Error subclass in Node 20.
  const fields = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown };
  const name = typeof fields.name === 'string' ? fields.name : 'Error';
  const message = (typeof fields.message === 'string' ? fields.message : String(error)).split('\n')[0];
  if (/AccessDenied|UnauthorizedOperation|AuthorizationError/.test(name)) {
    return fail(
      `${name}: ${message}`,
      'your credentials need read access to this call (e.g. the ReadOnlyAccess policy).',
    );
  }
  const endpoint = unreachedEndpoint(error, 'the AWS endpoint');
  if (endpoint !== undefined) {
    return fail(cannotReach(error, endpoint), 'check your network to AWS (proxy, VPN, firewall), then run again.');
  }
  if (name === 'TimeoutError' || name === 'AbortError') {
    return fail(`${name}: ${message}`, 'run again; if it keeps timing out, check your network to AWS.');
  }
  return fail(`${name}: ${message}`, 'run again; if it persists, check the resource in the AWS console.');
}
