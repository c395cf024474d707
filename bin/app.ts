#!/usr/bin/env node
import 'source-map-support/register';
import { App } from 'aws-cdk-lib';
import type { Settings } from '../lib/settings';
import { BackgroundCloudFormationValidation } from '../lib/template-validation/background-cloudformation-validation';
import { parseSettings, readContextFiles, SettingsError, settingsNotices } from './settings';

const app = new App();

// The CLI runs the app from the project folder; the context files only name where a value came from.
const sources = { env: process.env, context: app.node.getAllContext(), contextFiles: readContextFiles(process.cwd()) };
let settings: Settings;
try {
  settings = parseSettings(sources);
} catch (error) {
  if (error instanceof SettingsError) {
    // One line, no stack trace, nothing synthesized.
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

for (const notice of settingsNotices(settings, sources)) process.stderr.write(`${notice}\n`);
// CDK's CloudFormation validation sets its rule engine up in a worker thread while the stacks are built (seconds off
// every synth); `CDK_VALIDATION=false` turns it off, as it turns off CDK's default instance.
const cloudFormationValidation =
  process.env.CDK_VALIDATION === 'false'
    ? undefined
    : BackgroundCloudFormationValidation.start({
        onFallback: (reason) =>
          process.stderr.write(`Notice: CloudFormation validation ran on the main thread (slower): ${reason}\n`),
      });
// The stacks (and the aws-cdk-lib modules and cdk-nag under them) load only once the settings are valid: a bad
// setting is reported in a fraction of the time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildGmsaApp } = require('../lib/gmsa-app') as typeof import('../lib/gmsa-app');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { addSecurityChecks } = require('../lib/security-checks') as typeof import('../lib/security-checks');
buildGmsaApp(app, settings);
// cdk-nag's AwsSolutions pack: an unacknowledged finding fails the synth.
addSecurityChecks(app, { cloudFormationValidation });
