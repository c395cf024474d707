// `node test/mutation/partial.mjs <target>`: the results so far of a mutation run, read from the events Stryker's
// event-recorder reporter writes as each mutant is tested (reports/mutation/<target>/events). A run stopped before its
// end writes no other report; this says how far it got, its score so far and the surviving mutants, by line.
import { readdirSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { TARGETS } from './targets.mjs';

const name = process.argv[2];
if (!(name in TARGETS)) {
  console.error(
    `Usage: node test/mutation/partial.mjs <target>, the target one of ${Object.keys(TARGETS).join(', ')}.`,
  );
  process.exit(2);
}
const dir = new URL(`../../reports/mutation/${name}/events/`, import.meta.url);
let files;
try {
  files = readdirSync(dir).sort();
} catch {
  console.error(`No events for ${name}: run npm run test:mutation -- ${name} first.`);
  process.exit(2);
}
const read = (file) => JSON.parse(readFileSync(new URL(file, dir), 'utf8'));

const planFile = files.find((file) => file.endsWith('-onMutationTestingPlanReady.json'));
const planned = planFile ? read(planFile).mutantPlans.filter((plan) => plan.plan === 'Run').length : undefined;
const results = files.filter((file) => file.endsWith('-onMutantTested.json')).map(read);

// Stryker's score: detected (killed, timed out) over valid mutants (detected, survived, no coverage); ignored and
// compile errors do not count.
const count = (...statuses) => results.filter((r) => statuses.includes(r.status)).length;
const detected = count('Killed', 'Timeout');
const valid = detected + count('Survived', 'NoCoverage');
const score = valid === 0 ? 'n/a' : `${((100 * detected) / valid).toFixed(1)} %`;
// Ignored mutants (--ignoreStatic) are reported as tested at once but are not among the planned runs.
const run = results.filter((r) => r.status !== 'Ignored').length;
console.log(
  `${name}: ${run} mutants tested${planned === undefined ? '' : ` of ${planned} planned`}; ` +
    `killed ${count('Killed')}, timed out ${count('Timeout')}, survived ${count('Survived')}, ` +
    `no coverage ${count('NoCoverage')}, ignored ${count('Ignored')}; score so far ${score}`,
);
const cwd = new URL('../../', import.meta.url).pathname;
for (const r of results
  .filter((result) => result.status === 'Survived' || result.status === 'NoCoverage')
  .sort((a, b) => a.fileName.localeCompare(b.fileName) || a.location.start.line - b.location.start.line)) {
  const where = `${relative(cwd, r.fileName)}:${r.location.start.line}:${r.location.start.column}`;
  console.log(
    `  ${r.status === 'NoCoverage' ? 'no coverage' : 'survived'} ${where} ${r.mutatorName} → ${r.replacement}`,
  );
}
