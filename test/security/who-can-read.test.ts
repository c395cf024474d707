import * as fs from 'fs';
import * as path from 'path';
import { allows, resourcesOf, roleStatements, TemplateResource } from '../helpers/iam-templates';
import { MODE_NAMES, ModeName, settingsFor, sharedApp } from '../helpers/modes';

/*
 * Who can read each secret, and who can reach AD admin or the gMSA password, mode by mode, derived from the
 * synthesized templates (with the app) and compared with the table in docs/security.md. On a mismatch the test prints
 * the derived table in markdown, to paste over the one in the document once the change is meant.
 *
 * Derived from: identity policies of the templates' roles that allow secretsmanager:GetSecretValue on a secret (or
 * ds:ResetUserPassword), secret resource policies that allow it, rotation schedules whose function is an AWS
 * serverless application (its role is in a nested template), and CloudFormation dynamic references
 * ({{resolve:secretsmanager:...}}) that hand a secret to a resource at deployment. Not derived: AWS managed policies
 * (none of those attached grants secret reads or ds:ResetUserPassword), and who may act as each role (a Session
 * Manager session on an instance, a change to a function) — docs/security.md says that next to the table.
 */

const SECURITY_DOC = path.join(__dirname, '..', '..', 'docs', 'security.md');
const HEADING = '### Who can read what, mode by mode';

/** The secrets, by a pattern of the logical id of the secret (or of its attachment) wherever a template names it. */
const SECRETS = {
  admin: /ManagedDirectoryAdminPassword/,
  identity: /DomainlessIdentitySecret/,
  join: /DomainJoinSecret/,
  database: /SqlServerMasterSecret/,
  sidecar: /SidecarIdentity/,
} as const;
type SecretName = keyof typeof SECRETS;

/** Readable names of the roles of this app; any other role is named by its stack and logical id. */
const ROLE_NAMES: ReadonlyArray<[RegExp, string]> = [
  [/^AdManagementBastionRole/, 'bastion'],
  [/^DomainlessIdentityRotationRole/, 'identity rotation function'],
  [/^ContainerInstancesInstanceRole/, 'container instances'],
  [/^TaskDefinitionExecutionRole/, 'task execution role'],
  [/^TaskDefinitionTaskRole/, 'task role'],
];

function roleName(stack: string, logicalId: string, policyId?: string): string {
  const name = ROLE_NAMES.find(([pattern]) => pattern.test(logicalId))?.[1] ?? `${stack}/${logicalId}`;
  // The bastion's run policy, which the run detaches from its role before it signals (docs/bastion.md).
  return policyId?.startsWith('AdManagementRunSecrets') ? `${name} (first run only)` : name;
}

/** Resources CloudFormation hands a secret to at deployment (a dynamic reference), by type. */
const CREATED_WITH_SECRET: Readonly<Record<string, string>> = {
  'AWS::DirectoryService::MicrosoftAD': 'directory',
  'AWS::RDS::DBInstance': 'DB instance',
};

const names = (json: unknown, secret: SecretName) => SECRETS[secret].test(JSON.stringify(json));

/** Who may read the secret's value. */
function readersOf(resources: TemplateResource[], secret: SecretName): Set<string> {
  const readers = new Set<string>();
  for (const { stack, roleId, statement, policyId } of roleStatements(resources)) {
    if (allows(statement, 'secretsmanager:GetSecretValue') && names(statement.Resource, secret)) {
      readers.add(roleName(stack, roleId, policyId));
    }
  }
  for (const r of resources) {
    if (r.type === 'AWS::SecretsManager::ResourcePolicy' && names(r.properties.SecretId, secret)) {
      const document = r.properties.ResourcePolicy as { Statement: Parameters<typeof allows>[0][] };
      for (const statement of document.Statement) {
        if (allows(statement, 'secretsmanager:GetSecretValue'))
          readers.add(`principal ${JSON.stringify(statement.Principal)}`);
      }
    }
    if (r.type === 'AWS::SecretsManager::RotationSchedule' && names(r.properties.SecretId, secret)) {
      const target = (r.properties.RotationLambdaARN as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
      const application = resources.find((a) => a.logicalId === target && a.type === 'AWS::Serverless::Application');
      if (application) readers.add('SQL Server rotation function (serverless application)');
    }
    if (!r.type.startsWith('AWS::IAM::')) {
      const json = JSON.stringify(r.properties);
      if (json.includes('{{resolve:secretsmanager:') && names(r.properties, secret)) {
        readers.add(`${CREATED_WITH_SECRET[r.type] ?? r.type} creation (CloudFormation)`);
      }
    }
  }
  return readers;
}

/** Who may call ds:ResetUserPassword, with the scope that applies. */
function resettersOf(resources: TemplateResource[]): Set<string> {
  const out = new Set<string>();
  for (const { stack, roleId, statement } of roleStatements(resources)) {
    if (!allows(statement, 'ds:ResetUserPassword')) continue;
    const onlyFromFunction = statement.Condition?.ArnEquals?.['lambda:SourceFunctionArn'] !== undefined;
    out.add(`${roleName(stack, roleId)} (ResetUserPassword${onlyFromFunction ? ' from its own code only' : ''})`);
  }
  return out;
}

/** Drops "x (note)" when "x" is there too. */
function withoutAnnotatedDuplicates(set: Set<string>): Set<string> {
  return new Set([...set].filter((name) => ![...set].some((other) => name.startsWith(`${other} (`))));
}

const cell = (set: Set<string>) => (set.size === 0 ? '—' : [...set].sort((a, b) => a.localeCompare(b)).join(', '));

/** The row of one mode: the readers of each secret, then who can reach AD admin and the gMSA password. */
function derivedRow(mode: ModeName): string[] {
  const resources = resourcesOf(sharedApp(settingsFor(mode, { deployApp: true })).stacks);
  const readers = Object.fromEntries(
    (Object.keys(SECRETS) as SecretName[]).map((s) => [s, readersOf(resources, s)]),
  ) as Record<SecretName, Set<string>>;
  // AD admin: its password, or a reset of any user in the delegated OU (ResetUserPassword has no per-user scope).
  const adAdmin = new Set([...readers.admin, ...resettersOf(resources)]);
  // The gMSA password: the domainless identity (a member of the group allowed to retrieve it), the join user (it may
  // add computers to that group; it exists only in domain-joined mode), and whoever reaches AD admin.
  const gmsa = withoutAnnotatedDuplicates(new Set([...readers.identity, ...readers.join, ...adAdmin]));
  return [
    mode,
    cell(readers.admin),
    cell(readers.identity),
    cell(readers.join),
    cell(readers.database),
    cell(readers.sidecar),
    cell(adAdmin),
    cell(gmsa),
  ];
}

const HEADER = [
  'mode',
  'AD admin secret',
  'identity secret',
  'domain-join secret',
  'SQL Server master secret',
  'sidecar identity secret',
  'can reach AD admin',
  'can reach the gMSA password',
];

function markdown(rows: string[][]): string {
  return [HEADER, HEADER.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** The rows of the first table after the heading, cells trimmed. */
function documentedRows(text: string): string[][] {
  const start = text.indexOf(HEADING);
  if (start < 0) throw new Error(`docs/security.md has no "${HEADING}" section.`);
  const lines = text.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const table: string[] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith('|')) break;
    table.push(line);
  }
  return table.slice(2).map((line) =>
    line
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split('|')
      .map((c) => c.trim()),
  );
}

describe('who can read what (docs/security.md)', () => {
  const derived = MODE_NAMES.map(derivedRow);

  test('THEN the table in docs/security.md is the one derived from the templates of every mode', () => {
    const documented = documentedRows(fs.readFileSync(SECURITY_DOC, 'utf8'));
    if (JSON.stringify(documented) !== JSON.stringify(derived)) {
      throw new Error(
        `The table under "${HEADING}" in docs/security.md differs from what the templates grant. If the change is ` +
          `meant, replace the table with this one:\n\n${markdown(derived)}\n`,
      );
    }
  });

  test('THEN the tasks themselves (the task role) read no secret and cannot reach AD admin, except the sidecar its own identity', () => {
    const sidecarColumn = HEADER.indexOf('sidecar identity secret');
    for (const row of derived) {
      expect(row.filter((_, i) => i > 0 && i !== sidecarColumn).join(' ')).not.toContain('task role');
      expect({ mode: row[0], taskRoleReadsSidecar: row[sidecarColumn].includes('task role') }).toEqual({
        mode: row[0],
        taskRoleReadsSidecar: row[0].startsWith('sidecar'),
      });
    }
  });

  test('THEN only domain-joined modes have a reader of the domain-join secret', () => {
    for (const row of derived) {
      expect({ mode: row[0], join: row[3] === '—' }).toEqual({
        mode: row[0],
        join: !row[0].startsWith('domain-joined'),
      });
    }
  });
});
