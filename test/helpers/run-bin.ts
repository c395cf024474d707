import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CDK_JSON_CONTEXT } from './modes';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** What the `bin/` entry point did when run as the CDK CLI runs it. */
export interface BinResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Files the run wrote into its output directory. */
  readonly outdirFiles: string[];
}

/**
 * Runs `bin/app.ts` in a child process, as `cdk synth` does (`CDK_OUTDIR` set), with only the given settings in its
 * environment and optional CDK context (as the CLI passes `-c key=value`).
 */
export function runBin(settingsEnv: Record<string, string>, context: Record<string, string> = {}): BinResult {
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
    const result = spawnSync(TSX, [path.join(ROOT, 'bin', 'app.ts')], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 90_000,
    });
    return {
      status: result.status,
      stdout: result.stdout,
      stderr: result.stderr,
      outdirFiles: fs.readdirSync(outdir),
    };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}
