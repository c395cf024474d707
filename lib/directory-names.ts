/**
 * Names shared by the stacks, the bastion's scripts and the tests. The PowerShell scripts receive them as
 * parameters from the database stack, so this file is the one place they are spelled.
 */

/** The gMSA the web app runs as (`NETBIOS\SampleWebApp$` in SQL Server). */
export const GMSA_NAME = 'SampleWebApp';

/** The AD group whose members may retrieve the gMSA's password. */
export const GMSA_PRINCIPALS_GROUP = 'SampleWebAppGmsaPrincipals';

/** The AD user credentials-fetcher signs in as in domainless mode (sAMAccountName, at most 20 characters). */
export const DOMAINLESS_USERNAME = 'ecs-gmsa-identity';

/** The AD user the Kerberos sidecar signs in as (TICKET_SOURCE=sidecar; sAMAccountName, at most 20 characters). */
export const SIDECAR_USERNAME = 'ecs-sidecar-user';

/** The AD user SSM seamless domain join uses: it may only join computers and add them to the gMSA group. */
export const DOMAIN_JOIN_USERNAME = 'ecs-domain-join';

/** The directory's NetBIOS name, set explicitly so the CredSpec can be written at synth time. */
export const DIRECTORY_NETBIOS_NAME = 'DIRECTORY';

/** RDS for SQL Server requires the directory's fully qualified DNS name to be at most 47 characters. */
export const MAX_DIRECTORY_NAME_LENGTH = 47;

/** The directory's DNS name for a solution id. */
export function directoryDnsName(solutionId: string): string {
  return `directory.${solutionId}.com`;
}

/**
 * What generated passwords may not contain: quotes, whitespace and characters that need escaping in
 * PowerShell, JSON, shell or connection strings. The rotation function uses the same rule.
 */
export const PASSWORD_EXCLUDED_CHARACTERS = ' "\'`$\\/@%&{}|<>^;';

/** Length of every generated password. */
export const PASSWORD_LENGTH = 32;
