import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CDK_JSON_CONTEXT } from './modes';
import { readValidationReport } from './validation-report';

const ROOT = path.join(__dirname, '..', '..');
/** The commands `cdk synth` runs: `build` once before the app, then `app` (both through a shell, from the root). */
const CDK_JSON: { app: string; build?: string } = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
let built = false;

/** Runs cdk.json's `build` command once per test file, as the CLI does before each synth. */
function buildOnce(): void {
  if (built || CDK_JSON.build === undefined) return;
  const result = spawnSync(CDK_JSON.build, { cwd: ROOT, shell: true, encoding: 'utf8', timeout: 90_000 });
  if (result.status !== 0) throw new Error(`cdk.json build "${CDK_JSON.build}" failed: ${result.stderr}`);
  built = true;
}

/** What the `bin/` entry point did when run as the CDK CLI runs it. */
export interface BinResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Files the run wrote into its output directory. */
  readonly outdirFiles: string[];
  /** Names of the validation plugins in the run's validation report (empty without a report). */
  readonly validationPlugins: string[];
  /** Wall time of the app's run (without cdk.json's build), in milliseconds. */
  readonly elapsedMs: number;
}

const results = new Map<string, BinResult>();

/**
 * Runs the app as `cdk synth` does: cdk.json's `build`, then its `app` command in a child process with `CDK_OUTDIR` set,
 * only the given settings in its environment and optional CDK context (as the CLI passes `-c key=value`). The same
 * settings and context in one test file run the app once (each run takes about half a second of CPU).
 */
export function runBin(
  settingsEnv: Record<string, string>,
  context: Record<string, string> = {},
  options: RunBinOptions = {},
): BinResult {
  const key = JSON.stringify([settingsEnv, context, options]);
  let result = results.get(key);
  if (result === undefined) {
    result = runBinOnce(settingsEnv, context, options);
    results.set(key, result);
  }
  return result;
}

/** Where the app runs: the repository root (as `cdk synth` there) unless `cwd` names another project folder. */
export interface RunBinOptions {
  /** The folder the CLI would run the app from (it reads cdk.json and cdk.context.json there). */
  readonly cwd?: string;
}

function runBinOnce(
  settingsEnv: Record<string, string>,
  context: Record<string, string>,
  options: RunBinOptions,
): BinResult {
  buildOnce();
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-bin-'));
  try {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      CDK_OUTDIR: outdir,
      // The CLI passes cdk.json's context (the feature flags) to the app along with `-c` values.
      CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_JSON_CONTEXT, ...context }),
      CDK_VALIDATION: 'false',
      ...settingsEnv,
    };
    const started = Date.now();
    // cdk.json's app command names the bundle relative to the root; from another folder it is named by its full path.
    const command = options.cwd ? CDK_JSON.app.replace('.build/', `${ROOT}/.build/`) : CDK_JSON.app;
    const result = spawnSync(command, {
      cwd: options.cwd ?? ROOT,
      shell: true,
      env,
      encoding: 'utf8',
      timeout: 90_000,
    });
    return {
      status: result.status,
      stdout: result.stdout,
      stderr: result.stderr,
      outdirFiles: fs.readdirSync(outdir),
      validationPlugins: readValidationReport(outdir).map((r) => r.pluginName),
      elapsedMs: Date.now() - started,
    };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}
