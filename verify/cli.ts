import * as os from 'node:os';
import * as path from 'node:path';
import { parseSettings, readContextFiles, SettingsError, typoNotices } from '../bin/settings';
import type { Settings } from '../lib/settings';
import { CHECKS } from './checks';
import { AwsClients, createClients } from './clients';
import { loadDeployment, preflight } from './deployment';
import { missingProfileProblem } from './profile';
import { HOSTS_BUDGET_MS, runHostChecks } from './hosts';
import { runChecks } from './runner';
import { CannotCheckError, CheckResult } from './types';

/** The whole run, preflight included, stays below a minute. */
export const RUN_BUDGET_MS = 50_000;
const PAGE_TIMEOUT_MS = 10_000;

const USAGE = [
  'Usage: npm run verify -- [--json] [--hosts] [-c key=value ...]',
  '',
  'Checks a deployed gmsa-linux-ecs solution link by link, for the settings cdk deploy used',
  '(SOLUTION_ID, DOMAIN_JOIN_ECS, FARGATE, DEPLOY_APP... from the environment, cdk.json and -c) in the AWS region',
  'of your environment (AWS_REGION or the profile).',
  '',
  'Options:',
  '  --json            print the results as JSON (for scripts)',
  '  --hosts           instead: diagnose each container instance (SSM Run Command, read-only; docs/operations.md)',
  '  -c, --context k=v a CDK context value, as for cdk deploy',
  '  -h, --help        this text',
  '',
  'Checks, in order:',
  ...CHECKS.map((check, i) => `  ${i + 1}. ${check.title}: ${check.description}`),
  '',
  'Exit status: 0 every check passed (or was skipped for the mode), 1 a check failed, 2 nothing could be checked',
  '(no region, no credentials, a stack not found, a bad setting).',
].join('\n');

/** Where the CLI writes and what it reads; tests pass their own. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Clients for tests; otherwise created for the environment's region. */
  readonly clients?: AwsClients;
  readonly budgetMs?: number;
}

interface CliOptions {
  readonly help: boolean;
  readonly json: boolean;
  readonly hosts: boolean;
  readonly context: Record<string, string>;
}

/**
 * Runs the CLI and returns the exit status. Never throws. With `--json` anywhere in the arguments, stdout carries one
 * JSON document on every path (help, a bad option, a run that cannot check) and nothing else; notices go into it.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  // The same notices synth prints for a misspelt setting: a `FARGTE=1` here would check the wrong deployment.
  const notices = typoNotices(io.env);
  const cannot = (message: string): number => {
    if (json)
      io.stdout(`${JSON.stringify({ ok: false, exitCode: 2, error: message, notices, checks: [] }, null, 2)}\n`);
    else io.stderr(`${message}\n`);
    return 2;
  };
  let options: CliOptions;
  try {
    options = parseArgs(argv);
  } catch (error) {
    return cannot((error as Error).message);
  }
  if (options.help) {
    if (json) {
      const checks = CHECKS.map(({ id, title, description }) => ({ id, title, description }));
      io.stdout(`${JSON.stringify({ ok: true, exitCode: 0, usage: USAGE, checks }, null, 2)}\n`);
    } else {
      io.stdout(`${USAGE}\n`);
    }
    return 0;
  }
  if (!json) for (const notice of notices) io.stderr(`${notice}\n`);

  let settings: Settings;
  try {
    settings = parseSettings(settingsSources(io.env, options.context));
  } catch (error) {
    if (error instanceof SettingsError) return cannot(`Cannot check: ${error.message}`);
    return cannot(`Cannot check: reading the settings failed (${(error as Error).message}).`);
  }
  const profileProblem = missingProfileProblem(io.env);
  if (profileProblem !== undefined) return cannot(profileProblem);

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), io.budgetMs ?? (options.hosts ? HOSTS_BUDGET_MS : RUN_BUDGET_MS));
  try {
    // The AWS CLI and the CDK CLI also read AWS_DEFAULT_REGION; the JavaScript SDK reads only AWS_REGION and the profile.
    const clients = io.clients ?? createClients(io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION || undefined);
    const region = await preflight(clients);
    const deployment = await loadDeployment(clients, settings, region, controller.signal);
    const ctx = { settings, region, deployment, clients, signal: controller.signal, pageTimeoutMs: PAGE_TIMEOUT_MS };
    const results = options.hosts ? await runHostChecks(ctx) : await runChecks(ctx, CHECKS);
    const exitCode = results.some((result) => result.status === 'fail') ? 1 : 0;
    if (options.json) {
      const mode = { domainless: !settings.domainJoinEcs, fargate: settings.fargate };
      const report = {
        ok: exitCode === 0,
        exitCode,
        solutionId: settings.solutionId,
        region,
        mode,
        notices,
        checks: results,
      };
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      io.stdout(formatText(settings, region, results));
    }
    return exitCode;
  } catch (error) {
    if (error instanceof CannotCheckError) return cannot(error.message);
    const message = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
    return cannot(`Cannot check: ${message}`);
  } finally {
    clearTimeout(timer);
  }
}

function parseArgs(argv: readonly string[]): CliOptions {
  const context: Record<string, string> = {};
  let help = false;
  let json = false;
  let hosts = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--json') json = true;
    else if (arg === '--hosts') hosts = true;
    else if (arg === '-c' || arg === '--context') {
      const pair = argv[++i] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`Invalid option ${arg} ${JSON.stringify(pair)}: expected key=value.`);
      context[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else {
      throw new Error(`Unknown option ${JSON.stringify(arg)}: see npm run verify -- --help.`);
    }
  }
  return { help, json, hosts, context };
}

/**
 * The settings' sources as cdk deploy sees them: the environment, and the context of `-c`, cdk.json, cdk.context.json
 * and ~/.cdk.json merged in the CDK CLI's order of precedence (bin/settings.ts `readContextFiles`).
 */
function settingsSources(env: CliIo['env'], commandLine: Record<string, string>) {
  const contextFiles = readContextFiles(path.join(__dirname, '..'), env.HOME || os.homedir());
  const fromFiles = Object.assign({}, ...[...contextFiles].reverse().map((file) => file.context));
  return { env, context: { ...fromFiles, ...commandLine }, contextFiles };
}

const MARKS = { pass: '✓', fail: '✗', skip: '-' } as const;

export function formatText(settings: Settings, region: string, results: readonly CheckResult[]): string {
  const ticket =
    settings.ticketSource === 'sidecar' ? 'Kerberos sidecar' : settings.domainJoinEcs ? 'domain-joined' : 'domainless';
  const mode = `${ticket}, ${settings.fargate ? 'Fargate' : 'EC2'}`;
  const lines = [`Checking ${settings.solutionId} in ${region} (${mode}):`];
  for (const result of results) {
    const detail = result.status === 'skip' ? `skipped: ${result.detail}` : result.detail;
    const fix = result.status === 'fail' && result.fix ? ` → fix: ${result.fix}` : '';
    // One line per check, whatever a status reason or an error message carries.
    lines.push(`${MARKS[result.status]} ${result.title}: ${detail}${fix}`.replace(/\s*\n\s*/g, ' '));
  }
  const count = (status: CheckResult['status']) => results.filter((result) => result.status === status).length;
  lines.push(`${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped.`);
  return `${lines.join('\n')}\n`;
}

if (require.main === module) {
  // The SDK's notice that its 2027 releases need Node 22 says nothing about the deployment and would bury the one
  // line a failed run prints; package.json still allows Node 20.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main(process.argv.slice(2), {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }).then(
    (code) => {
      process.exitCode = code;
      // Every request is aborted by now; should a socket still hold the event loop, do not outlive the bound.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    () => {
      process.exitCode = 2;
    },
  );
}
