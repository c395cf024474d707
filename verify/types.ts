import type { Settings } from '../lib/settings';
import type { AwsClients } from './clients';

/** How one check ended: passed, failed (with the fix), or not applicable to this deployment's mode. */
export type CheckStatus = 'pass' | 'fail' | 'skip';

/** What a check returns. `detail` is one line; `fix` says what to do when the check fails. */
export interface CheckOutcome {
  readonly status: CheckStatus;
  readonly detail: string;
  readonly fix?: string;
}

/** One printed line: a check's outcome with its id and title. */
export interface CheckResult extends CheckOutcome {
  readonly id: string;
  readonly title: string;
}

/** The part each stack plays; stack names are `<SOLUTION_ID>-<role>` (lib/gmsa-app.ts). */
export type StackRole = 'directory' | 'database' | 'cluster' | 'application';

/** One deployed CloudFormation stack as DescribeStacks reports it. */
export interface DeployedStack {
  readonly role: StackRole;
  readonly name: string;
  readonly status: string;
  readonly statusReason?: string;
  /** Output key → value (contract 8 keys). */
  readonly outputs: Readonly<Record<string, string>>;
}

/** The stacks found for the settings; the application stack is absent when it was not deployed. */
export interface Deployment {
  readonly stacks: readonly DeployedStack[];
}

/** What every check receives. */
export interface CheckContext {
  readonly settings: Settings;
  readonly region: string;
  readonly deployment: Deployment;
  readonly clients: AwsClients;
  /** Aborted when the whole run's time is up; passed to every AWS call and to the page fetch. */
  readonly signal: AbortSignal;
  /** Timeout of the page request, in milliseconds. */
  readonly pageTimeoutMs: number;
}

/** One link of the chain. */
export interface Check {
  readonly id: string;
  readonly title: string;
  /** What is checked, for `--help`. */
  readonly description: string;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}

/** A check found something wrong; thrown from helpers deep in a check, reported as a failure. */
export class CheckFailure extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
    this.name = 'CheckFailure';
  }
}

/** Nothing can be checked (no region, no credentials, a stack not found): exit 2 with this one line. */
export class CannotCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CannotCheckError';
  }
}

export function pass(detail: string): CheckOutcome {
  return { status: 'pass', detail };
}

export function fail(detail: string, fix: string): CheckOutcome {
  return { status: 'fail', detail, fix };
}

export function skip(detail: string): CheckOutcome {
  return { status: 'skip', detail };
}
