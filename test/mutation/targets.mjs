// The modules `npm run test:mutation` mutates, smallest first; the test files run against their mutants (globs, so
// that a new file named like them counts); and the mutation score issue 27 asks of each.
//
// The test files that synthesize whole apps (test/mode-apps, test/security/*, test/verify/stack-outputs, the construct
// tests of the stacks) are left out: on 2 cores each took about 40 s per mutant, and they notice a mutant through a
// snapshot or a template rather than by stating what the module must do.
import { readdirSync } from 'node:fs';

const checks = readdirSync(new URL('../../verify/checks/', import.meta.url))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => `verify/checks/${file}`);

export const TARGETS = {
  credspec: {
    mutate: ['lib/constructs/credspec-document.ts'],
    tests: ['test/constructs/credspec-*.test.ts'],
    goal: 95,
  },
  capacity: {
    mutate: ['lib/constructs/gmsa-web-app-capacity.ts'],
    tests: ['test/constructs/gmsa-web-app-capacity*.test.ts'],
    goal: 90,
  },
  rotation: {
    mutate: ['lambda/rotate-domainless-identity/rotation.ts'],
    tests: ['test/lambda/rotate-domainless-identity*.test.ts'],
    goal: 90,
  },
  verify: {
    mutate: checks,
    tests: ['test/verify.test.ts', 'test/verify/checks-*.test.ts'],
    goal: 90,
  },
  settings: {
    mutate: ['bin/settings.ts'],
    tests: ['test/settings*.test.ts', 'test/constructs/gmsa-web-app-capacity*.test.ts'],
    goal: 95,
  },
};
