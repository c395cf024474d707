/**
 * Errors that mean AWS was never reached: the name did not resolve, the connection was refused, reset or timed out.
 * Node reports them as system errors with a `code` (https://nodejs.org/api/errors.html#common-system-errors); the SDK
 * passes them through unchanged (with `hostname` for a DNS failure, `address` and `port` for a connection failure).
 */
const NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'EPIPE',
  'CERT_HAS_EXPIRED',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
]);

/**
 * The endpoint an error failed to reach, as `host` or `host:port` (`fallback` when the error does not say), or
 * undefined when it is not a network error. The SDK's own timeouts (verify/clients.ts) are `TimeoutError`s without a
 * code and stay what they are: a request may have reached AWS and be waiting for an answer.
 */
export function unreachedEndpoint(error: unknown, fallback: string): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const fields = error as { code?: unknown; hostname?: unknown; address?: unknown; port?: unknown };
  if (typeof fields.code !== 'string' || !NETWORK_CODES.has(fields.code)) return undefined;
  if (typeof fields.hostname === 'string') return fields.hostname;
  if (typeof fields.address === 'string') {
    return typeof fields.port === 'number' ? `${fields.address}:${fields.port}` : fields.address;
  }
  return fallback;
}

/** The words for a network error: `cannot reach <endpoint> (<code>)`. */
export function cannotReach(error: unknown, endpoint: string): string {
  return `cannot reach ${endpoint} (${String((error as { code?: unknown }).code)})`;
}
