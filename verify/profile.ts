import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A named profile that exists in neither shared file makes the SDK fail with "Could not resolve credentials using
 * profile" (or, without AWS_REGION, find no region at all); the run would say "no AWS credentials" or "no AWS region"
 * when the fix is the profile's name. With AWS_PROFILE set the SDK uses the profile even when AWS_ACCESS_KEY_ID is set
 * too (@aws-sdk/credential-provider-node: "AWS_PROFILE is set, skipping fromEnv provider").
 *
 * Returns the one line to print, or undefined when AWS_PROFILE is unset or names a profile that exists.
 */
export function missingProfileProblem(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const profile = env.AWS_PROFILE?.trim();
  if (!profile) return undefined;
  const home = env.HOME || env.USERPROFILE || os.homedir();
  // The files and section headers the SDK and the AWS CLI read: https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html
  const configFile = env.AWS_CONFIG_FILE || path.join(home, '.aws', 'config');
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, '.aws', 'credentials');
  const profiles = new Set([
    ...sections(configFile).flatMap((name) => {
      if (name === 'default') return ['default'];
      const match = /^profile\s+(\S.*)$/.exec(name);
      return match ? [match[1].trim()] : [];
    }),
    ...sections(credentialsFile),
  ]);
  if (profiles.has(profile)) return undefined;
  const known = [...profiles].sort();
  const shown = known.length > 10 ? [...known.slice(0, 10), `and ${known.length - 10} more`] : known;
  return (
    `Cannot check: the AWS profile "${profile}" (AWS_PROFILE) is in neither ${configFile} nor ${credentialsFile}. ` +
    (known.length > 0 ? `Profiles there: ${shown.join(', ')}. ` : 'Those files hold no profile. ') +
    `Set AWS_PROFILE to the profile you deployed with, or create it ("aws configure --profile ${profile}" or "aws configure sso").`
  );
}

/** The `[section]` names of an INI file; none when the file is missing or unreadable. */
function sections(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return [...text.matchAll(/^\s*\[([^\]]+)\]\s*(?:[#;].*)?$/gm)].map((match) => match[1].trim());
}
