/**
 * Which `DB_ENGINE_VERSION` values RDS can create for SQL Server Web edition. The settings parser checks them before
 * anything is synthesized: RDS refuses an unknown version only when the database stack deploys, after the ~30-minute
 * directory stack, and CDK's own validation reports an unknown full version only after writing cdk.out.
 */

/**
 * The major versions RDS for SQL Server offers (every edition, Web included), with the SQL Server release each one is:
 * the "Major version" table of https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_SQLServer.html (2022, 2019,
 * 2017 and 2016, as of March 2026). RDS no longer creates SQL Server 2012 (11.00) or 2014 (12.00) instances, although
 * aws-cdk-lib still lists their versions.
 */
export const RDS_SQL_SERVER_MAJOR_VERSIONS: Readonly<Record<string, string>> = {
  '13.00': 'SQL Server 2016',
  '14.00': 'SQL Server 2017',
  '15.00': 'SQL Server 2019',
  '16.00': 'SQL Server 2022',
};

/** A major version `NN.00`. */
const MAJOR_VERSION = /^[0-9]{2}\.00$/;
/** A full RDS version `NN.00.NNNN.N.vN`; its first five characters are the major version. */
const FULL_VERSION = /^[0-9]{2}\.00\.[0-9]{1,5}\.[0-9]{1,3}\.v[0-9]{1,2}$/;

/** Why a version is refused, as the end of the one-line message (after "expected"); undefined when it is accepted. */
export function sqlServerVersionProblem(version: string): string | undefined {
  const majors = Object.keys(RDS_SQL_SERVER_MAJOR_VERSIONS);
  const offered = majors.map((major) => `${major} (${RDS_SQL_SERVER_MAJOR_VERSIONS[major]})`).join(', ');
  if (MAJOR_VERSION.test(version)) {
    return majors.includes(version) ? undefined : `a major version RDS offers for SQL Server Web edition: ${offered}.`;
  }
  if (!FULL_VERSION.test(version)) {
    return `a SQL Server major version RDS offers (${majors.join(', ')}) or a full RDS version such as 16.00.4236.2.v1.`;
  }
  const major = version.slice(0, 5);
  if (!majors.includes(major)) {
    return `a version of a major version RDS offers for SQL Server Web edition: ${offered}.`;
  }
  const known = cdkFullVersions(major);
  if (known.includes(version)) return undefined;
  return (
    `a full ${major} version that aws-cdk-lib knows (${known.length} of them, ${known[0]} to ${known[known.length - 1]}), ` +
    `or the major version ${major} (RDS picks a current minor version).`
  );
}

/**
 * The full versions of one major version that the installed aws-cdk-lib lists in `SqlServerEngineVersion` (its
 * `VER_*` members), oldest first. Loaded only for a full version: the module takes a few tenths of a second to load,
 * and a major version (the default) does not need it.
 */
function cdkFullVersions(major: string): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SqlServerEngineVersion } = require('aws-cdk-lib/aws-rds') as typeof import('aws-cdk-lib/aws-rds');
  const versions = Object.getOwnPropertyNames(SqlServerEngineVersion)
    .filter((name) => name.startsWith('VER_'))
    .map((name) => (SqlServerEngineVersion as unknown as Record<string, { sqlServerFullVersion: string }>)[name])
    .map((engine) => engine.sqlServerFullVersion)
    .filter((full) => full.startsWith(`${major}.`) && FULL_VERSION.test(full));
  return [...new Set(versions)].sort(compareVersions);
}

/** Orders `16.00.4085.2.v1` before `16.00.4236.2.v1` by each number, not by text. */
function compareVersions(a: string, b: string): number {
  const numbers = (version: string) => version.split('.').map((part) => Number(part.replace(/^v/, '')));
  const [x, y] = [numbers(a), numbers(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  }
  return 0;
}
