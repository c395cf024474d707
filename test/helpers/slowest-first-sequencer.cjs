// Jest runs the slowest test files first so that neither worker is left with a long file at the end. It knows how
// long a file took from its cache; a fresh clone (CI) has no cache and Jest falls back to file size, which put
// test/mode-apps.test.ts (a few imports, 16 s then) last: 51.8 s for the whole run against 47.5 s in this order (both
// from an empty cache, with the transformer of then). Without a cached time for every file, the files below run
// first, slowest first (the time each took on the 2-core machines this runs on, milliseconds, rounded); Jest's own
// order follows.
'use strict';

const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const ROOT = path.join(__dirname, '..', '..');
const MEASURED_MS = {
  // Mostly waiting for 20-second Kerberos tickets to be renewed (little CPU): best started first, beside the others.
  'test/scripts/kerberos-sidecar.test.ts': 40000,
  // Estimated from its CPU time (28 s under load on 2 shared cores, most of it one single-threaded cfn-guard run).
  'test/security/control-tower.test.ts': 25000,
  'test/security/cdk-nag.test.ts': 17000,
  'test/security/inputs.test.ts': 12000,
  'test/mode-apps.test.ts': 11000,
  'test/integ/integ-snapshots.test.ts': 9000,
  'test/verify.test.ts': 5000,
  'test/constructs/credentials-fetcher-hosts.test.ts': 4500,
  'test/scripts/leave-domain.test.ts': 3000,
  'test/scripts/migrate-task-definition.test.ts': 3000,
  'test/verify/stack-outputs.test.ts': 2500,
};

/** Jest's order when it knows every file's time; otherwise the files measured here first, slowest first. */
class SlowestFirstSequencer extends Sequencer {
  sort(tests) {
    const ordered = super.sort(tests);
    if (ordered.every((test) => this.time(test) !== undefined)) return ordered;
    const measured = (test) => MEASURED_MS[path.relative(ROOT, test.path).split(path.sep).join('/')] ?? 0;
    return [...ordered].sort((a, b) => measured(b) - measured(a));
  }
}

module.exports = SlowestFirstSequencer;
