import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as readline from 'node:readline';
import { INTEG_MODE_NAMES, INTEG_MODES, integStackNames } from '../integ-modes';
import { CommandSpec, modeCommands, ModeResult, runMode, RunnerIo, selectModes, summaryTable } from './runner';

const USAGE = [
  'Usage: npm run integ -- [MODE ...] [--dry-run]',
  '',
  'Proves modes end to end in your AWS account: for each MODE (all five when none is named) it deploys the whole',
  'solution with the web app, waits for the assertions (CredSpec names the gMSA; the service completes its deployment;',
  'GET <ServiceURL>/api/status answers ok with KERBEROS; domainless modes: after a rotation of the identity secret and',
  'a redeployment, KERBEROS again), then destroys everything — also after a failure or Ctrl-C.',
  '',
  'Modes:',
  ...INTEG_MODE_NAMES.map((mode) => `  ${mode.padEnd(24)} stacks ${INTEG_MODES[mode].solutionId}-*`),
  '',
  'Needs: AWS credentials, AWS_REGION (or AWS_DEFAULT_REGION), a bootstrapped environment (npx cdk bootstrap) and a',
  'running Docker daemon (the web app image is built). One mode takes about 1.5 to 2 hours and costs about USD 1 to 2',
  '(docs/integration-tests.md). Modes run one after the other.',
  '',
  'Options:',
  '  --dry-run   print the commands for each mode; nothing is deployed',
  '  -h, --help  this text',
  '',
  'Exit status: 0 every mode passed and was destroyed, 1 a mode failed or could not be destroyed, 2 bad usage or no',
  'region.',
].join('\n');

/** Runs a command with its output streamed line by line; `signal` sends it SIGINT, then SIGKILL 30 s later. */
export function execStreaming(spec: CommandSpec, signal: AbortSignal): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(spec.command, spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => spec.onLine?.(line));
    }
    const stop = (): void => {
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    child.on('error', (error) => {
      spec.onLine?.(`${spec.command}: ${error.message}`);
      resolve(127);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/** An argument as a person would type it in Bash or PowerShell. */
const quoted = (arg: string): string => (/\s/.test(arg) ? `"${arg}"` : arg);

/** Runs the CLI; resolves with the exit status. */
export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: RunnerIo,
  interrupts: AbortSignal,
): Promise<number> {
  const flags = argv.filter((arg) => arg.startsWith('-'));
  const names = argv.filter((arg) => !arg.startsWith('-'));
  const unknown = flags.filter((flag) => !['--dry-run', '--help', '-h'].includes(flag));
  if (flags.includes('--help') || flags.includes('-h')) {
    io.log(USAGE);
    return 0;
  }
  if (unknown.length > 0) {
    io.log(`npm run integ: unknown option ${unknown[0]} (see npm run integ -- --help)`);
    return 2;
  }
  let modes;
  try {
    modes = selectModes(names);
  } catch (error) {
    io.log(`npm run integ: ${(error as Error).message}`);
    return 2;
  }
  if (flags.includes('--dry-run')) {
    for (const mode of modes) {
      const commands = modeCommands(mode);
      io.log(`${mode}:`);
      for (const step of ['synth', 'deploy', 'destroy'] as const)
        io.log(`  npx ${commands[step].map(quoted).join(' ')}`);
      io.log(`  stacks: ${integStackNames(mode).join(', ')}`);
    }
    return 0;
  }
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    io.log('npm run integ: set AWS_REGION (or AWS_DEFAULT_REGION) to the region to deploy the integration tests in');
    return 2;
  }
  io.log(`Integration tests in ${region}: ${modes.join(', ')}`);
  const results: ModeResult[] = [];
  for (const mode of modes) {
    if (interrupts.aborted) break;
    const result = await runMode(mode, io, interrupts);
    io.log(`[${mode}] ${result.result}${result.reason ? `: ${result.reason}` : ''}`);
    results.push(result);
  }
  io.log('');
  io.log(summaryTable(results));
  return results.length === modes.length && results.every((r) => r.result === 'passed' && !r.leftBehind) ? 0 : 1;
}

if (require.main === module) {
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write(
        '\nInterrupted: stopping the current step, then destroying what was deployed (Ctrl-C again to quit at once).\n',
      );
      controller.abort();
    } else {
      process.stderr.write(
        'Quit without destroying: delete the stacks listed by npm run integ -- --dry-run by hand.\n',
      );
      process.exit(130);
    }
  });
  void main(
    process.argv.slice(2),
    process.env,
    {
      exec: execStreaming,
      readJson: (file) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined),
      now: () => Date.now(),
      log: (line) => process.stdout.write(`${line}\n`),
    },
    controller.signal,
  ).then((code) => process.exit(code));
}
