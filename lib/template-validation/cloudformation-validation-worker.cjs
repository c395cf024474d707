// Runs CDK's own CloudFormation validation plugin (aws-cdk-lib's CloudFormationValidatePlugin: the same rules,
// exclusions and severities as `cdk synth` without this app's help) in a worker thread, for
// background-cloudformation-validation.ts.
//
// Plain CommonJS on purpose: a worker thread loads it with Node.js's own loader, in `cdk synth` (from the .build
// bundle) and under Jest (which cannot transform a worker's code) alike.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const { parentPort, workerData } = require('node:worker_threads');

// The engine is 9 MB of WebAssembly. By default V8 compiles its hot functions a second time, optimized, on background
// threads: on 2 cores that doubled the warm-up's CPU time (7.2 s against 3.3 s, for 4 templates) and slowed the main
// thread's synth, for no gain in a process that validates a few templates and exits. The baseline compiler alone
// gives the same results (a compiler tier changes speed, never semantics). Set before the engine is first compiled.
v8.setFlagsFromString('--liftoff-only');
const { CloudFormationValidatePlugin } = require('aws-cdk-lib');

const { signal, replies, warmUp } = workerData;
const plugin = new CloudFormationValidatePlugin();

// The rule engine's first use is the expensive part (seconds: its WebAssembly code warms up and the rules for the
// template's resource types compile). Doing it now, while the main thread builds the stacks, takes it off the synth's
// path. The warm-up template names every resource type this app synthesizes, so the engine built here is the one the
// real templates reuse (the plugin rebuilds it only for a type it has not seen).
if (warmUp) {
  let folder;
  try {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-cfn-validate-'));
    const templatePath = path.join(folder, 'warm-up.template.json');
    const types = require('./warm-up-resource-types.json');
    const resources = Object.fromEntries(types.map((type, index) => [`Resource${index}`, { Type: type }]));
    fs.writeFileSync(templatePath, JSON.stringify({ Resources: resources }));
    plugin.validate({
      templatePaths: [templatePath],
      stackTemplates: [{ stackConstructPath: 'WarmUp', templatePath }],
    });
  } catch {
    // A failed warm-up only costs time: the first real request builds the engine again and reports its own errors.
  } finally {
    if (folder !== undefined) fs.rmSync(folder, { recursive: true, force: true });
  }
}

parentPort.on('message', (request) => {
  let reply;
  try {
    const report = plugin.validate({ templatePaths: request.stackTemplates.map((s) => s.templatePath), ...request });
    reply = { report, version: plugin.version };
  } catch (error) {
    reply = { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  replies.postMessage(reply);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});
