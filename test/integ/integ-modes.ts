/**
 * The seven modes of the README's Modes table as integration tests: the settings a person would set for each (parsed by
 * the same `parseSettings` as `bin/`), and a SOLUTION_ID of its own so a mode's stacks, directory and names never meet
 * another mode's or the person's own deployment.
 */
export const INTEG_MODES = {
  'domainless-ec2-ssm': { solutionId: 'gmsa-integ-dl-ssm', env: {}, domainless: true, credSpecIn: 'ssm' },
  'domainless-ec2-s3': {
    solutionId: 'gmsa-integ-dl-s3',
    env: { CREDSPEC_FROM_S3: '1' },
    domainless: true,
    credSpecIn: 's3',
  },
  'domain-joined-ec2-ssm': {
    solutionId: 'gmsa-integ-dj-ssm',
    env: { DOMAIN_JOIN_ECS: '1' },
    domainless: false,
    credSpecIn: 'ssm',
  },
  'domain-joined-ec2-s3': {
    solutionId: 'gmsa-integ-dj-s3',
    env: { DOMAIN_JOIN_ECS: '1', CREDSPEC_FROM_S3: '1' },
    domainless: false,
    credSpecIn: 's3',
  },
  'domainless-fargate-s3': {
    solutionId: 'gmsa-integ-fg-s3',
    env: { FARGATE: '1' },
    domainless: true,
    credSpecIn: 's3',
  },
  // TICKET_SOURCE=sidecar: no CredSpec is read; `domainless`: an identity secret (the sidecar's) rotates.
  'sidecar-ec2': {
    solutionId: 'gmsa-integ-sc-ec2',
    env: { TICKET_SOURCE: 'sidecar' },
    domainless: true,
    credSpecIn: 'none',
  },
  'sidecar-fargate': {
    solutionId: 'gmsa-integ-sc-fg',
    env: { TICKET_SOURCE: 'sidecar', FARGATE: '1' },
    domainless: true,
    credSpecIn: 'none',
  },
} as const satisfies Record<
  string,
  {
    readonly solutionId: string;
    readonly env: Readonly<Record<string, string>>;
    /** An identity secret rotates: credentials-fetcher's domainless identity, or the Kerberos sidecar's. */
    readonly domainless: boolean;
    /** Where the task definition reads the CredSpec; `none` with the Kerberos sidecar. */
    readonly credSpecIn: 'ssm' | 's3' | 'none';
  }
>;

/** A mode's name, as `npm run integ -- <mode>` takes it. */
export type IntegModeName = keyof typeof INTEG_MODES;

export const INTEG_MODE_NAMES = Object.keys(INTEG_MODES) as IntegModeName[];

/** The environment `parseSettings` reads for a mode: its flags, its SOLUTION_ID, and the app. */
export function integEnvironment(mode: IntegModeName): Record<string, string> {
  const { env, solutionId } = INTEG_MODES[mode];
  return { ...env, SOLUTION_ID: solutionId, DEPLOY_APP: '1' };
}

/** The stack names a mode deploys, in deployment order (for the destroy line a person may need). */
export function integStackNames(mode: IntegModeName): string[] {
  const id = INTEG_MODES[mode].solutionId;
  return [
    `${id}-directory`,
    `${id}-database`,
    `${id}-cluster`,
    `${id}-application`,
    `${integTestName(mode)}-assertions`,
  ];
}

/** The integration test's name (also the prefix of its assertion stack). */
export function integTestName(mode: IntegModeName): string {
  return `gmsa-${mode}`;
}
