// Mutation testing (`npm run test:mutation [-- <target>...]`, see docs/testing.md): Stryker changes one small piece of
// a module at a time ("mutant") and runs the tests that reach it; a mutant no test notices has "survived". One target
// per run: test/mutation/run.mjs sets MUTATION_TARGET and starts Stryker with this file.
import { createRequire } from 'node:module';
import { TARGETS } from './test/mutation/targets.mjs';

const require = createRequire(import.meta.url);
const name = process.env.MUTATION_TARGET;
const target = TARGETS[name];
if (target === undefined) {
  throw new Error(
    `MUTATION_TARGET "${name}" is not one of ${Object.keys(TARGETS).join(', ')}; run npm run test:mutation.`,
  );
}

// The project's own jest setup (esbuild transform, setup files, serializer), running the target's test files only, with
// the sources among the roots so that jest can tell which of them import a mutated file (its haste map holds the roots).
const jestConfig = {
  ...require('./jest.config.js'),
  roots: ['<rootDir>/test', '<rootDir>/bin', '<rootDir>/lib', '<rootDir>/lambda', '<rootDir>/verify'],
  testMatch: target.tests.map((glob) => `<rootDir>/${glob}`),
  maxWorkers: 1,
};

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  testRunnerNodeArgs: ['--single-threaded-gc'],
  jest: {
    projectType: 'custom',
    config: jestConfig,
    enableFindRelatedTests: true,
  },
  // Each test's coverage is recorded, so a mutant runs only the tests that reach it.
  coverageAnalysis: 'perTest',
  mutate: target.mutate,
  // One mutant at a time: the machines this runs on have 2 cores (raise it with -- --concurrency N).
  concurrency: 1,
  timeoutMS: 60000,
  // The sandbox Stryker copies the project into needs no build output (the web app's sources are a Docker asset).
  ignorePatterns: [
    '**/bin/Debug',
    '**/bin/Release',
    '**/obj',
    'test/pester/.packages',
    'cdk.out',
    '.build',
    'coverage',
    'reports',
  ],
  // event-recorder writes each mutant's result as it is known, so a run stopped early can still be read
  // (node test/mutation/partial.mjs <target>); the other reports are written only at the end.
  reporters: ['clear-text', 'progress', 'html', 'json', 'event-recorder'],
  eventReporter: { baseDir: `reports/mutation/${name}/events` },
  htmlReporter: { fileName: `reports/mutation/${name}/mutation.html` },
  jsonReporter: { fileName: `reports/mutation/${name}/mutation.json` },
  thresholds: { high: target.goal, low: target.goal - 10, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
