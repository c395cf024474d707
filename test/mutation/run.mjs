// `npm run test:mutation [-- <target>... [stryker options]]`: runs Stryker once per target (all of them, smallest
// first, when none is named), one after the other. Options after the targets go to Stryker (e.g. --concurrency 2).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TARGETS } from './targets.mjs';

const args = process.argv.slice(2);
const firstOption = args.findIndex((arg) => arg.startsWith('-'));
const names = firstOption === -1 ? args : args.slice(0, firstOption);
const options = firstOption === -1 ? [] : args.slice(firstOption);
const unknown = names.filter((name) => !(name in TARGETS));
if (unknown.length > 0) {
  console.error(
    `Unknown mutation target "${unknown[0]}": choose ${Object.keys(TARGETS).join(', ')} (or none for all).`,
  );
  process.exit(2);
}

// The CLI that npm links into node_modules/.bin (the package exports no path to it).
const stryker = fileURLToPath(new URL('../../node_modules/@stryker-mutator/core/bin/stryker.js', import.meta.url));
let failed = false;
for (const name of names.length > 0 ? names : Object.keys(TARGETS)) {
  console.log(`\n=== Mutation testing: ${name} (${TARGETS[name].mutate.join(', ')})`);
  const run = spawnSync(process.execPath, [stryker, 'run', 'stryker.config.mjs', ...options], {
    stdio: 'inherit',
    env: { ...process.env, MUTATION_TARGET: name },
  });
  if (run.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
