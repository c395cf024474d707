// Jest's workers are forked with the main process's Node.js flags. V8's parallel garbage collector threads only compete
// with the other worker for the two cores this runs on: with the collector single-threaded, the whole suite took about
// 6 % less wall time and 5 % less CPU (measured: 58 s against 62 s). Only the speed of the collector changes.
if (!process.execArgv.includes('--single-threaded-gc')) process.execArgv.push('--single-threaded-gc');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The .NET test project of the PowerShell scripts (run by `npm run test:scripts`), and its build output.
  modulePathIgnorePatterns: ['<rootDir>/test/powershell/'],
  transform: {
    // esbuild strips the types (tsconfig sets isolatedModules; npm run build type-checks everything once).
    '^.+\\.tsx?$': '<rootDir>/test/helpers/esbuild-transform.cjs',
  },
  setupFiles: ['<rootDir>/test/helpers/setup-env.ts'],
  // Removes the temporary cloud assemblies each test's synth writes.
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  snapshotSerializers: ['<rootDir>/test/helpers/asset-hash-serializer.ts'],
  testTimeout: 120000,
  // Jest's default is one worker fewer than the cores: 1 worker on the 2-core machines this runs on, with one core idle
  // while a worker waits for nothing (the test files are CPU-bound synths and app runs). Two workers on 2 cores took
  // about 70 % of one worker's wall time (measured: 82 s against 115 s); more workers than cores only add contention.
  maxWorkers: 2,
  testSequencer: '<rootDir>/test/helpers/slowest-first-sequencer.cjs',
  // How long a worker may take to exit after its last test before Jest kills it and prints "A worker process has failed
  // to exit gracefully". Jest's default, 500 ms, is shorter than a worker's exit takes on a loaded 2-core machine: two
  // one-line tests in an empty project (no setup, nothing left open) were force-exited in 2 of 4 runs at 500 ms and 0 of
  // 4 at 5 s, with the same wall time; --detectOpenHandles finds nothing left open by this suite's files. A worker that
  // holds a real leak still fails after these 5 s. (Option added in Jest 30.4: jestjs/jest#15984, which cites #11354.)
  workerGracefulExitTimeout: 5000,
};
