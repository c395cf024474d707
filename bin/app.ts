#!/usr/bin/env node
import 'source-map-support/register';
import { App } from 'aws-cdk-lib';
import { buildGmsaApp } from '../lib/gmsa-app';
import { addSecurityChecks } from '../lib/security-checks';
import { Settings } from '../lib/settings';
import { parseSettings, SettingsError, settingsNotices } from './settings';

const app = new App();

const sources = { env: process.env, context: app.node.getAllContext() };
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
buildGmsaApp(app, settings);
// cdk-nag's AwsSolutions pack: an unacknowledged finding fails the synth.
addSecurityChecks(app);
