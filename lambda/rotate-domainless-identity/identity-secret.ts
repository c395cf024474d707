/**
 * The domainless identity secret as credentials-fetcher reads it: `{"username", "password", "domainName"}`.
 * credentials-fetcher ignores other keys, so any extra key is carried over unchanged by a rotation.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linux-gmsa.html (domainless gMSA)
 */
export interface IdentitySecret {
  readonly username: string;
  readonly password: string;
  readonly domainName: string;
  readonly [key: string]: unknown;
}

/** The keys credentials-fetcher needs, in the order the error messages name them. */
export const IDENTITY_SECRET_KEYS = ['username', 'password', 'domainName'] as const;

const EXPECTED = 'expected a JSON object with the string keys "username", "password" and "domainName"';

/**
 * Parses and checks one version of the identity secret. `where` names the version in error messages
 * (e.g. `the AWSPENDING version <token> of <secret>`). No message ever contains the secret's text: JSON.parse's own
 * message quotes the input, so it is not passed on.
 */
export function parseIdentitySecret(secretString: string | undefined, where: string): IdentitySecret {
  if (secretString === undefined) {
    throw new Error(`${where} has no SecretString: ${EXPECTED}.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(secretString);
  } catch {
    throw new Error(`${where} is not valid JSON: ${EXPECTED}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${where} is not a JSON object: ${EXPECTED}.`);
  }
  const record = value as Record<string, unknown>;
  for (const key of IDENTITY_SECRET_KEYS) {
    if (!(key in record)) {
      throw new Error(`${where} has no "${key}" key: ${EXPECTED}.`);
    }
    if (typeof record[key] !== 'string' || record[key] === '') {
      throw new Error(`${where} has an empty or non-string "${key}" key: ${EXPECTED}.`);
    }
  }
  return record as IdentitySecret;
}
