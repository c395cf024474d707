import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { GuardMetadata } from '../../lib/guard-acknowledgements';
import type { CfnTemplate } from './deployed-nag';

/**
 * AWS Control Tower's proactive controls as cfn-guard rules, and the cfn-guard binary that runs them, from the npm
 * package `@cdklabs/cdk-validator-cfnguard` (0.0.62: cfn-guard 3.1.1, 237 rules under `rules/control-tower/cfn-guard`).
 * The package ships binaries for Linux and macOS on x86_64 and arm64 only (its `lib/plugin.js` picks one the same way).
 */
const PACKAGE_DIR = path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
const RULES_DIR = path.join(PACKAGE_DIR, 'rules', 'control-tower', 'cfn-guard');
const PLATFORMS: Readonly<Record<string, string>> = { linux: 'ubuntu', darwin: 'macos' };
const ARCHITECTURES: Readonly<Record<string, string>> = { x64: 'x86_64', arm64: 'aarch64' };

/** The bundled cfn-guard for this machine, or why there is none. */
export function cfnGuardBinary(): { readonly path: string } | { readonly missing: string } {
  const platform = PLATFORMS[os.platform()];
  const architecture = ARCHITECTURES[os.arch()];
  const binary = platform && architecture ? path.join(PACKAGE_DIR, 'bin', platform, architecture, 'cfn-guard') : '';
  if (binary === '' || !fs.existsSync(binary)) {
    return { missing: `@cdklabs/cdk-validator-cfnguard has no cfn-guard binary for ${os.platform()}/${os.arch()}` };
  }
  return { path: binary };
}

/** One failing rule on one resource of one template. */
export interface GuardFinding {
  readonly rule: string;
  /** The template's name as given, e.g. the stack name. */
  readonly template: string;
  /** Logical ID of the resource; `?` when cfn-guard's report names none and no other result of the rule does. */
  readonly logicalId: string;
  /** The resource lists the rule in `Metadata.guard.SuppressedRules` (with a reason in `Metadata.guard.Reasons`). */
  readonly acknowledged: boolean;
}

/** `RULE template/LogicalId`, the form test failures print. */
export function describeFinding(finding: GuardFinding): string {
  return `${finding.rule} ${finding.template}/${finding.logicalId}`;
}

/**
 * Runs the Control Tower rules over sets of templates (e.g. one set per deployment mode) in ONE cfn-guard call: each
 * distinct template is written once to a scratch folder (modes share most of theirs), and only the rule files that
 * name a resource type present in some template are passed (a rule file selects resources by type, so the others
 * cannot fail; a rule file that names no type at all is always passed). Both halve the run time; neither changes the
 * result (checked once against the full rule folder: the same findings).
 *
 * @param sets templates by set name, then by template name
 * @returns the findings of each set, sorted, acknowledged or not
 * @throws if cfn-guard fails to run (any exit code other than 0, all passed, and 19, something failed)
 */
export function controlTowerFindings(
  sets: Readonly<Record<string, Readonly<Record<string, CfnTemplate>>>>,
  binary: string,
): Record<string, GuardFinding[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-control-tower-'));
  try {
    const files = new Map<string, CfnTemplate>();
    const fileOf = new Map<CfnTemplate, string>();
    for (const templates of Object.values(sets)) {
      for (const template of Object.values(templates)) {
        const text = JSON.stringify(template);
        const file = `${createHash('sha256').update(text).digest('hex').slice(0, 16)}.json`;
        if (!files.has(file)) fs.writeFileSync(path.join(dir, file), text);
        files.set(file, template);
        fileOf.set(template, file);
      }
    }

    const byFile = findingsByFile(runGuard(binary, dir, rulesFor([...files.values()])));
    return Object.fromEntries(
      Object.entries(sets).map(([set, templates]) => [
        set,
        Object.entries(templates)
          .flatMap(([name, template]) =>
            (byFile.get(fileOf.get(template)!) ?? []).map(({ rule, logicalId }) => ({
              rule,
              template: name,
              logicalId,
              acknowledged: suppressedRules(template, logicalId).includes(rule),
            })),
          )
          .sort((a, b) => describeFinding(a).localeCompare(describeFinding(b))),
      ]),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The rules a resource acknowledges in `Metadata.guard.SuppressedRules`. */
export function suppressedRules(template: CfnTemplate, logicalId: string): string[] {
  const guard = template.Resources?.[logicalId]?.Metadata?.guard as Partial<GuardMetadata> | undefined;
  return guard?.SuppressedRules ?? [];
}

let ruleFiles: ReadonlyArray<{ readonly file: string; readonly types: readonly string[] }> | undefined;

/** Rule files that name a resource type of the templates, or no type at all. */
function rulesFor(templates: readonly CfnTemplate[]): string[] {
  ruleFiles ??= fs
    .readdirSync(RULES_DIR, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.guard'))
    .map((file) => {
      const text = fs.readFileSync(path.join(RULES_DIR, file), 'utf8');
      return { file: path.join(RULES_DIR, file), types: [...new Set(text.match(/AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g))] };
    });
  const present = new Set(templates.flatMap((t) => Object.values(t.Resources ?? {}).map((r) => r.Type)));
  return ruleFiles.filter((r) => r.types.length === 0 || r.types.some((t) => present.has(t))).map((r) => r.file);
}

interface SarifResult {
  readonly ruleId: string;
  readonly message: { readonly text: string };
  readonly locations: ReadonlyArray<{
    readonly physicalLocation: { readonly artifactLocation: { readonly uri: string } };
  }>;
}

function runGuard(binary: string, dataDir: string, rules: readonly string[]): SarifResult[] {
  const args = ['validate', '--data', dataDir, ...rules.flatMap((r) => ['--rules', r])];
  args.push('--output-format', 'sarif', '--structured', '--show-summary', 'none');
  const run = spawnSync(binary, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 180_000 });
  // cfn-guard exits 0 when every rule passes and 19 when some rule fails; anything else is an error of its own.
  if (run.error !== undefined || (run.status !== 0 && run.status !== 19)) {
    throw new Error(
      `cfn-guard failed (status ${run.status}, ${run.error ?? 'no error'}): ${run.stderr.slice(0, 2000)}`,
    );
  }
  return (JSON.parse(run.stdout) as { runs: Array<{ results: SarifResult[] }> }).runs.flatMap((r) => r.results);
}

/**
 * Each failing rule and resource, by template file. cfn-guard's SARIF message names the failing property by its path
 * (`/Resources/<LogicalId>/Properties/...`); a few messages name only a list element (`[/0]`): those belong to the
 * resources the same rule flagged by path in the same template.
 */
function findingsByFile(results: readonly SarifResult[]): Map<string, Array<{ rule: string; logicalId: string }>> {
  const located = new Map<string, Map<string, Set<string>>>();
  const unlocated: Array<{ file: string; rule: string }> = [];
  for (const result of results) {
    const file = path.basename(result.locations[0].physicalLocation.artifactLocation.uri);
    const logicalId = /\/Resources\/([^/[\]]+)/.exec(result.message.text)?.[1];
    if (logicalId === undefined) {
      unlocated.push({ file, rule: result.ruleId });
      continue;
    }
    const rules = located.get(file) ?? new Map<string, Set<string>>();
    located.set(file, rules.set(result.ruleId, (rules.get(result.ruleId) ?? new Set()).add(logicalId)));
  }
  for (const { file, rule } of unlocated) {
    const rules = located.get(file) ?? new Map<string, Set<string>>();
    if (!rules.has(rule)) located.set(file, rules.set(rule, new Set(['?'])));
  }
  return new Map(
    [...located].map(([file, rules]) => [
      file,
      [...rules].flatMap(([rule, ids]) => [...ids].map((logicalId) => ({ rule, logicalId }))),
    ]),
  );
}
