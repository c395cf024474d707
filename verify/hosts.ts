import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DescribeContainerInstancesCommand, ListContainerInstancesCommand } from '@aws-sdk/client-ecs';
import { GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { GMSA_PRINCIPALS_GROUP } from '../lib/directory-names';
import { outputOf } from './deployment';
import { CannotCheckError, CheckContext, CheckResult } from './types';

/**
 * `npm run verify -- --hosts`: runs scripts/ecs-host/diagnose-host.sh on every container instance through SSM Run
 * Command (AWS-RunShellScript) and reports its lines, one result per line and instance. Needs `ssm:SendCommand` on the
 * cluster's instances and the AWS-RunShellScript document, and `ssm:GetCommandInvocation` (docs/operations.md).
 */

/** The diagnostic script, in this repository (next to `.build/` and `verify/` alike). */
export const DIAGNOSE_SCRIPT_SOURCE = path.join(__dirname, '..', 'scripts', 'ecs-host', 'diagnose-host.sh');

/** How long the script may run on a host, and how long SSM may take to deliver it (seconds; SSM's minimum is 30). */
export const HOST_EXECUTION_TIMEOUT_S = 60;
export const DELIVERY_TIMEOUT_S = 30;
/** Between two GetCommandInvocation calls. */
export const POLL_INTERVAL_MS = 2000;
/** The whole `--hosts` run: delivery plus execution plus a margin. */
export const HOSTS_BUDGET_MS = 100_000;

/** Ends the heredoc that carries the script into the command; the script must not contain this line. */
const HEREDOC_END = 'GMSA_DIAGNOSE_HOST_END';

/** Run Command's statuses that are still going. https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html */
const PENDING = new Set(['Pending', 'InProgress', 'Delayed']);

const SSM_FIX =
  'the instance must be online in Systems Manager (Fleet Manager): its role has AmazonSSMManagedInstanceCore and it ' +
  'reaches the ssm, ssmmessages and ec2messages endpoints';

/** The shell lines Run Command runs: write the script to a temporary file, run it, remove it, keep its status. */
export function diagnoseCommands(
  args: readonly string[],
  script = readFileSync(DIAGNOSE_SCRIPT_SOURCE, 'utf8'),
): string[] {
  if (script.split('\n').some((line) => line.trim() === HEREDOC_END)) {
    throw new Error(`The diagnostic script must not contain a line "${HEREDOC_END}".`);
  }
  // SSM reads {{...}} as a document parameter.
  if (script.includes('{{')) throw new Error('The diagnostic script must not contain "{{".');
  const unsafe = args.find((arg) => !/^[A-Za-z0-9._-]+$/.test(arg));
  if (unsafe !== undefined) throw new Error(`Argument ${JSON.stringify(unsafe)} has characters the shell would read.`);
  return [
    'script="$(mktemp)"',
    `cat > "\${script}" <<'${HEREDOC_END}'`,
    script.trimEnd(),
    HEREDOC_END,
    `bash "\${script}" ${args.join(' ')} && status=0 || status=$?`,
    'rm -f "${script}"',
    'exit "${status}"',
  ];
}

/** The script's arguments for the deployment's mode. */
export function diagnoseArguments(ctx: CheckContext): string[] {
  const domain = outputOf(ctx, 'directory', 'DirectoryName');
  return ctx.settings.domainJoinEcs
    ? ['--mode', 'domain-joined', '--domain', domain, '--group', GMSA_PRINCIPALS_GROUP]
    : ['--mode', 'domainless', '--domain', domain];
}

/** Runs the diagnostic on every container instance; never throws except {@link CannotCheckError} (exit 2). */
export async function runHostChecks(ctx: CheckContext, sleep = delay): Promise<CheckResult[]> {
  if (ctx.settings.fargate) {
    return [
      {
        id: 'hosts',
        title: 'Container instances',
        status: 'skip',
        detail:
          "Fargate: no container instances to diagnose; a task's gMSA error is in its stopped reason (npm run verify)",
      },
    ];
  }
  const instanceIds = await containerInstanceIds(ctx);
  if (instanceIds.length === 0) {
    return [
      {
        id: 'hosts',
        title: 'Container instances',
        status: 'fail',
        detail: `no container instance registered in ${outputOf(ctx, 'cluster', 'ClusterName')}`,
        fix: 'read the Auto Scaling group activity and the bootstrap log group (docs/operations.md)',
      },
    ];
  }
  const commandId = await sendCommand(ctx, instanceIds);
  const results: CheckResult[] = [];
  for (const instanceId of instanceIds) {
    results.push(...(await invocationResults(ctx, commandId, instanceId, sleep)));
  }
  return results;
}

async function containerInstanceIds(ctx: CheckContext): Promise<string[]> {
  const cluster = outputOf(ctx, 'cluster', 'ClusterName');
  const { containerInstanceArns: arns } = await ctx.clients.ecs.send(
    new ListContainerInstancesCommand({ cluster, status: 'ACTIVE' }),
    { abortSignal: ctx.signal },
  );
  if (!arns || arns.length === 0) return [];
  const { containerInstances } = await ctx.clients.ecs.send(
    new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }),
    { abortSignal: ctx.signal },
  );
  return (containerInstances ?? []).flatMap((instance) => (instance.ec2InstanceId ? [instance.ec2InstanceId] : []));
}

async function sendCommand(ctx: CheckContext, instanceIds: string[]): Promise<string> {
  try {
    const { Command } = await ctx.clients.ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: instanceIds,
        Comment: 'gmsa-linux-ecs verify --hosts (read-only diagnostic)',
        TimeoutSeconds: DELIVERY_TIMEOUT_S,
        Parameters: {
          commands: diagnoseCommands(diagnoseArguments(ctx)),
          executionTimeout: [String(HOST_EXECUTION_TIMEOUT_S)],
        },
      }),
      { abortSignal: ctx.signal },
    );
    if (!Command?.CommandId) throw new CannotCheckError('Cannot check the hosts: SendCommand returned no command id.');
    return Command.CommandId;
  } catch (error) {
    if (error instanceof CannotCheckError) throw error;
    const name = (error as Error).name;
    if (name === 'AccessDeniedException') {
      throw new CannotCheckError(
        "Cannot check the hosts: ssm:SendCommand was denied. It needs ssm:SendCommand on the cluster's instances and " +
          'on the AWS-RunShellScript document, and ssm:GetCommandInvocation (docs/operations.md).',
      );
    }
    throw new CannotCheckError(`Cannot check the hosts: SendCommand failed (${name}: ${(error as Error).message}).`);
  }
}

/** Polls one instance's invocation until it ends (bounded by the run's signal) and turns its output into results. */
async function invocationResults(
  ctx: CheckContext,
  commandId: string,
  instanceId: string,
  sleep: (ms: number, signal: AbortSignal) => Promise<void>,
): Promise<CheckResult[]> {
  for (;;) {
    let invocation;
    try {
      invocation = await ctx.clients.ssm.send(
        new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
        { abortSignal: ctx.signal },
      );
    } catch (error) {
      const name = (error as Error).name;
      // Right after SendCommand the invocation may not exist yet (SSM's API is eventually consistent).
      if (name !== 'InvocationDoesNotExist') {
        if (name === 'AccessDeniedException') {
          throw new CannotCheckError(
            'Cannot check the hosts: ssm:GetCommandInvocation was denied; it is needed to read the results (docs/operations.md).',
          );
        }
        if (ctx.signal.aborted) return [timedOut(instanceId)];
        throw error;
      }
    }
    const status = invocation?.Status;
    if (status !== undefined && !PENDING.has(status)) {
      return parseOutput(instanceId, invocation?.StandardOutputContent ?? '', {
        status,
        details: invocation?.StatusDetails,
        responseCode: invocation?.ResponseCode,
      });
    }
    if (ctx.signal.aborted) return [timedOut(instanceId)];
    try {
      await sleep(POLL_INTERVAL_MS, ctx.signal);
    } catch {
      return [timedOut(instanceId)];
    }
  }
}

function timedOut(instanceId: string): CheckResult {
  return {
    id: `host:${instanceId}`,
    title: instanceId,
    status: 'fail',
    detail: 'no result before the time limit',
    fix: SSM_FIX,
  };
}

/**
 * One result per line the script printed (`PASS <check>: <detail>` or `FAIL <check>: <detail>. Fix: <fix>`); when it
 * printed none, one result saying why (not delivered, timed out, the script itself failed).
 */
export function parseOutput(
  instanceId: string,
  stdout: string,
  ending: { readonly status: string; readonly details?: string; readonly responseCode?: number },
): CheckResult[] {
  const { status, responseCode } = ending;
  const results: CheckResult[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^(PASS|FAIL) ([a-z-]+): (.*)$/.exec(line.trim());
    if (!match) continue;
    const [, verdict, check, rest] = match;
    const [detail, fix] = verdict === 'FAIL' ? splitFix(rest) : [rest, undefined];
    results.push({
      id: `host:${instanceId}:${check}`,
      title: `${instanceId} ${check}`,
      status: verdict === 'PASS' ? 'pass' : 'fail',
      detail,
      ...(fix === undefined ? {} : { fix }),
    });
  }
  const failed = results.some((result) => result.status === 'fail');
  if (results.length > 0 && (status === 'Success' || (responseCode === 1 && failed))) return results;
  // Undeliverable, timed out, cancelled, terminated, or a script that broke before reporting.
  const how = ending.details ?? status;
  const fix = /Undeliverable|Delivery Timed Out|Terminated/.test(how)
    ? SSM_FIX
    : how === 'Execution Timed Out'
      ? `the script ran longer than ${HOST_EXECUTION_TIMEOUT_S} s: run it on the host (docs/operations.md) to see which check waits`
      : 'read the command output in the Systems Manager console (Run Command)';
  return [
    ...results,
    {
      id: `host:${instanceId}`,
      title: instanceId,
      status: 'fail',
      detail: `Run Command ended ${how}${responseCode !== undefined && responseCode >= 0 ? ` with exit status ${responseCode}` : ''}`,
      fix,
    },
  ];
}

function splitFix(rest: string): [string, string | undefined] {
  const at = rest.indexOf('. Fix: ');
  return at < 0 ? [rest, undefined] : [rest.slice(0, at), rest.slice(at + '. Fix: '.length)];
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      },
      { once: true },
    );
  });
}
