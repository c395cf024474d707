import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildGmsaApp, GmsaStacks } from '../../lib/gmsa-app';
import { DEFAULT_SETTINGS, Settings } from '../../lib/settings';

/** The seven valid deployment modes: five with a gMSA (credentials-fetcher), two with the Kerberos sidecar. */
export type ModeName =
  | 'domainless-ec2-ssm'
  | 'domainless-ec2-s3'
  | 'domain-joined-ec2-ssm'
  | 'domain-joined-ec2-s3'
  | 'domainless-fargate-s3'
  | 'sidecar-ec2'
  | 'sidecar-fargate';

/** Settings of each mode, as `bin/` would build them from the mode's flags. */
export const MODES: Readonly<Record<ModeName, Settings>> = {
  'domainless-ec2-ssm': { ...DEFAULT_SETTINGS },
  'domainless-ec2-s3': { ...DEFAULT_SETTINGS, credSpecFromS3: true },
  'domain-joined-ec2-ssm': { ...DEFAULT_SETTINGS, domainJoinEcs: true },
  'domain-joined-ec2-s3': { ...DEFAULT_SETTINGS, domainJoinEcs: true, credSpecFromS3: true },
  'domainless-fargate-s3': { ...DEFAULT_SETTINGS, fargate: true, credSpecFromS3: true },
  // TICKET_SOURCE=sidecar, without and with FARGATE=1 (bin/ sets credSpecFromS3 with FARGATE; it does nothing here).
  'sidecar-ec2': { ...DEFAULT_SETTINGS, ticketSource: 'sidecar' },
  'sidecar-fargate': { ...DEFAULT_SETTINGS, ticketSource: 'sidecar', fargate: true, credSpecFromS3: true },
};

export const MODE_NAMES = Object.keys(MODES) as ModeName[];

/** Settings of a mode with some values changed. */
export function settingsFor(mode: ModeName, overrides: Partial<Settings> = {}): Settings {
  return { ...MODES[mode], ...overrides };
}

/** A whole app built for one settings object, without reading the environment. */
export interface BuiltApp {
  readonly app: App;
  readonly stacks: GmsaStacks;
}

/** The feature flags of `cdk.json`, so tests synthesize what `cdk synth` does. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;

/** Builds the whole app for the given settings; asset bundling (esbuild, Docker) is skipped. */
export function buildApp(settings: Settings): BuiltApp {
  const app = new App({
    context: {
      ...CDK_JSON_CONTEXT,
      // No bundling in template tests: no esbuild run per synth, and never Docker.
      'aws:cdk:bundling-stacks': [],
    },
  });
  const stacks = buildGmsaApp(app, settings);
  return { app, stacks };
}

const shared = new Map<string, BuiltApp>();

/**
 * The app built for the settings, once per Jest file (each has its own module registry): building and synthesizing a
 * whole app takes about half a second, and many describe blocks read the same mode — the stack and exposure tests all
 * run in one Jest file (test/mode-apps.test.ts) to share these. Only for tests that read the app and its templates; a
 * test that adds constructs or aspects, or changes anything, builds its own with `buildApp`.
 */
export function sharedApp(settings: Settings): BuiltApp {
  const key = JSON.stringify(settings);
  let built = shared.get(key);
  if (built === undefined) {
    built = buildApp(settings);
    shared.set(key, built);
  }
  return built;
}

/** Template of a stack; stacks of one app share one synthesis. */
export function templateOf(stack: Stack): Template {
  return Template.fromStack(stack);
}
