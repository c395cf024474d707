/**
 * Which EC2 instance types and RDS instance classes this app can run on. Both refusals happen in the settings parser, so
 * a bad type stops `cdk synth` with one line before anything is synthesized.
 */

/** An instance type without the `db.` prefix: family (letters, generation digit, attribute letters), a dot, a size. */
export const INSTANCE_TYPE = /^[a-z]+[0-9][a-z0-9-]*\.[a-z0-9]+$/;

/**
 * Arm (Graviton and Apple silicon) families: `a1`; any family with a `g` among the attribute letters after the
 * generation digit (`t4g`, `m6g`, `c7gd`, `c6gn`, `r8g`, `im4gn`, `hpc7g`); `mac2` (Apple M1/M2).
 * credentials-fetcher hosts are x86_64 (the documented path), and RDS runs SQL Server on x86_64 only.
 */
const ARM_FAMILY = /^(?:a1|[a-z]+[0-9][a-z-]*g[a-z-]*|mac2(?:-[a-z0-9]+)?)\./;

/** True when the type (without `db.`) belongs to an Arm family. */
export function isArmInstanceType(type: string): boolean {
  return ARM_FAMILY.test(type);
}

/**
 * DB instance classes (without `db.`) that CDK's built-in CloudFormation validation accepts for RDS for SQL Server Web
 * edition, license included (rules E3025 and E3062 of `@aws/cloudformation-validate`, bundled with aws-cdk-lib 2.276):
 * anything else makes `cdk synth` fail after writing the templates, so the parser refuses it first.
 * test/security/cdk-nag.test.ts runs that validation over every class here, so a change in aws-cdk-lib shows up as a failing test.
 */
const SQL_SERVER_WEB_SIZES: Readonly<Record<string, readonly string[]>> = {
  t3: ['small', 'medium', 'large', 'xlarge', '2xlarge'],
  m5: ['large', 'xlarge', '2xlarge', '4xlarge'],
  m5d: ['large', 'xlarge', '2xlarge', '4xlarge'],
  m6i: ['large', 'xlarge', '2xlarge', '4xlarge'],
  m7i: ['large', 'xlarge', '2xlarge', '4xlarge'],
  m8a: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge'],
  m8i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge'],
  r5: ['large', 'xlarge', '2xlarge', '4xlarge'],
  r5b: ['large', 'xlarge', '2xlarge', '4xlarge'],
  r5d: ['large', 'xlarge', '2xlarge', '4xlarge'],
  r6i: ['large', 'xlarge', '2xlarge', '4xlarge'],
  r7i: ['large', 'xlarge', '2xlarge', '4xlarge'],
  r8a: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge'],
  r8i: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge'],
  z1d: ['large', 'xlarge', '2xlarge', '3xlarge'],
};

/** Every DB instance class (without `db.`) the parser accepts for SQL Server Web edition. */
export const SQL_SERVER_WEB_CLASSES: readonly string[] = Object.entries(SQL_SERVER_WEB_SIZES).flatMap(
  ([family, sizes]) => sizes.map((size) => `${family}.${size}`),
);

/** True when RDS offers the class (without `db.`) for SQL Server Web edition, as CDK's validation knows it. */
export function isSqlServerWebClass(type: string): boolean {
  return SQL_SERVER_WEB_CLASSES.includes(type);
}

/** The accepted classes in a few words, for the error message: `db.t3.small..2xlarge, db.m5 .large..4xlarge, ...`. */
export function describeSqlServerWebClasses(): string {
  const groups = new Map<string, string[]>();
  for (const [family, sizes] of Object.entries(SQL_SERVER_WEB_SIZES)) {
    const range = `.${sizes[0]} to .${sizes[sizes.length - 1]}`;
    groups.set(range, [...(groups.get(range) ?? []), `db.${family}`]);
  }
  return [...groups].map(([range, families]) => `${families.join('/')} ${range}`).join('; ');
}
