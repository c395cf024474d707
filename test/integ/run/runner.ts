import { INTEG_MODE_NAMES, IntegModeName, integStackNames } from '../integ-modes';

/** One command the runner starts; `onLine` gets each line it prints (stdout and stderr). */
export interface CommandSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly onLine?: (line: string) => void;
}

/** What the runner needs from the machine; tests pass fakes. */
export interface RunnerIo {
  /** Runs a command to its end and resolves with its exit code; `signal` aborts it (the promise still resolves). */
  readonly exec: (spec: CommandSpec, signal: AbortSignal) => Promise<number>;
  /** Reads a JSON file; undefined when it does not exist. */
  readonly readJson: (file: string) => unknown;
  readonly now: () => number;
  readonly log: (line: string) => void;
}

/** The outcome of one mode. */
export interface ModeResult {
  readonly mode: IntegModeName;
  readonly result: 'passed' | 'failed' | 'interrupted';
  /** Minutes from the start of the deploy to the application stack's completion. */
  readonly deployMinutes?: number;
  /** Minutes from the start of the deploy to the first KERBEROS answer (the first page assertion completing). */
  readonly firstKerberosMinutes?: number;
  readonly destroyMinutes?: number;
  /** Why it failed, in one line. */
  readonly reason?: string;
  /** Stacks left behind when destroy failed, for the person to delete by hand. */
  readonly leftBehind?: readonly string[];
}

/** Where a mode's cloud assembly and deploy outputs go (git-ignored). */
export function assemblyDir(mode: IntegModeName): string {
  return `cdk.integ.out/${mode}`;
}

const CDK = 'npx';
function cdk(...args: string[]): string[] {
  return ['--no-install', 'cdk', ...args];
}

/** The commands of one mode, in order; printed by `--dry-run` and run otherwise. */
export function modeCommands(mode: IntegModeName): { synth: string[]; deploy: string[]; destroy: string[] } {
  const out = assemblyDir(mode);
  return {
    synth: cdk(
      'synth',
      '--quiet',
      '--app',
      `node -r ./test/integ/register-typescript.cjs test/integ/integ.${mode}.ts`,
      '--output',
      out,
    ),
    deploy: cdk(
      'deploy',
      '--app',
      out,
      '--all',
      '--require-approval',
      'never',
      '--concurrency',
      '3',
      '--progress',
      'events',
      '--outputs-file',
      `${out}.outputs.json`,
    ),
    destroy: cdk('destroy', '--app', out, '--all', '--force'),
  };
}

const minutes = (from: number, to: number): number => Math.round(((to - from) / 60_000) * 10) / 10;

/**
 * Proves one mode in the account: synth → deploy (the assertion stack last: its custom resources wait for each
 * assertion) → read the assertion results → destroy, ALWAYS: after a failed synth, deploy or assertion, and after an
 * interrupt (`signal`). A destroy that fails names the stacks left behind.
 */
export async function runMode(mode: IntegModeName, io: RunnerIo, signal: AbortSignal): Promise<ModeResult> {
  const commands = modeCommands(mode);
  const stacks = integStackNames(mode);
  const applicationStack = stacks[3];
  let deployStart: number | undefined;
  let deployMinutes: number | undefined;
  let firstKerberosMinutes: number | undefined;
  let result: ModeResult['result'] = 'failed';
  let reason: string | undefined;
  const lastLines: string[] = [];

  const onDeployLine = (line: string): void => {
    io.log(`[${mode}] ${line}`);
    lastLines.push(line);
    if (lastLines.length > 5) lastLines.shift();
    const now = io.now();
    // The CDK CLI prints "✅  <stack>" when a stack is deployed.
    if (
      deployMinutes === undefined &&
      deployStart !== undefined &&
      new RegExp(`✅\\s+${applicationStack}\\b`).test(line)
    )
      deployMinutes = minutes(deployStart, now);
    // Each page assertion is a Custom::DeployAssert@HttpCall resource that completes only once its wait succeeded.
    if (
      firstKerberosMinutes === undefined &&
      deployStart !== undefined &&
      /HttpCall.*CREATE_COMPLETE|CREATE_COMPLETE.*HttpCall/.test(line)
    )
      firstKerberosMinutes = minutes(deployStart, now);
  };

  try {
    io.log(`[${mode}] synth`);
    const synthCode = await io.exec(
      { command: CDK, args: commands.synth, onLine: (l) => io.log(`[${mode}] ${l}`) },
      signal,
    );
    if (signal.aborted) result = 'interrupted';
    else if (synthCode !== 0) reason = `cdk synth exited with ${synthCode}`;
    else {
      io.log(`[${mode}] deploy: ${stacks.join(', ')}`);
      deployStart = io.now();
      const deployCode = await io.exec({ command: CDK, args: commands.deploy, onLine: onDeployLine }, signal);
      if (signal.aborted) result = 'interrupted';
      else if (deployCode !== 0) reason = `cdk deploy exited with ${deployCode}: ${lastLines.join(' | ')}`;
      else {
        const failures = assertionFailures(io.readJson(`${assemblyDir(mode)}.outputs.json`), stacks[4]);
        if (failures.length === 0) result = 'passed';
        else reason = failures.join(' | ');
      }
    }
  } finally {
    // Destroy runs whatever happened above, with a signal of its own: an interrupt must not stop the clean-up.
    io.log(`[${mode}] destroy`);
    const destroyStart = io.now();
    const destroyCode = await io.exec(
      { command: CDK, args: commands.destroy, onLine: (l) => io.log(`[${mode}] ${l}`) },
      new AbortController().signal,
    );
    const destroyMinutes = minutes(destroyStart, io.now());
    const leftBehind = destroyCode === 0 ? undefined : [...stacks].reverse();
    if (leftBehind)
      io.log(
        `[${mode}] destroy FAILED (exit ${destroyCode}): delete these stacks by hand, in this order: ` +
          leftBehind.map((s) => `aws cloudformation delete-stack --stack-name ${s}`).join(' && '),
      );
    // eslint-disable-next-line no-unsafe-finally
    return { mode, result, deployMinutes, firstKerberosMinutes, destroyMinutes, reason, leftBehind };
  }
}

/**
 * The assertion results the assertion stack exports (integ-tests-alpha writes one `AssertionResults…` output per
 * assertion: `{"status":"success"}` or `{"status":"fail","message":…}`); a missing stack or no result is a failure.
 */
export function assertionFailures(outputs: unknown, assertionStack: string): string[] {
  const stackOutputs = (outputs as Record<string, Record<string, string>> | undefined)?.[assertionStack];
  if (stackOutputs === undefined) return [`no outputs of ${assertionStack}`];
  const results = Object.entries(stackOutputs).filter(([key]) => key.startsWith('AssertionResults'));
  if (results.length === 0) return [`${assertionStack} reported no assertion results`];
  return results.flatMap(([key, value]) => {
    let parsed: { status?: string; message?: string };
    try {
      parsed = JSON.parse(value) as typeof parsed;
    } catch {
      return [`${key}: ${value}`];
    }
    return parsed.status === 'success' ? [] : [`${key}: ${parsed.message ?? value}`];
  });
}

/** The summary table printed at the end. */
export function summaryTable(results: readonly ModeResult[]): string {
  const cell = (n: number | undefined): string => (n === undefined ? '-' : n.toFixed(1));
  const rows = [
    ['mode', 'deploy min', 'first KERBEROS min', 'destroy min', 'result'],
    ...results.map((r) => [
      r.mode,
      cell(r.deployMinutes),
      cell(r.firstKerberosMinutes),
      cell(r.destroyMinutes),
      r.leftBehind ? `${r.result}, NOT DESTROYED` : r.result,
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Modes named on the command line, all of them when none is; throws with one line for an unknown one. */
export function selectModes(names: readonly string[]): IntegModeName[] {
  if (names.length === 0) return [...INTEG_MODE_NAMES];
  for (const name of names) {
    if (!(INTEG_MODE_NAMES as readonly string[]).includes(name))
      throw new Error(`unknown mode "${name}": expected one of ${INTEG_MODE_NAMES.join(', ')}`);
  }
  return names as IntegModeName[];
}
