/*
 * The tests that read the app each mode builds, in one Jest file: test/helpers/modes.ts's `sharedApp` then builds each
 * mode's app once for all of them, instead of once per file. As five Jest files they took 32.6 s of worker time; as one,
 * 16.1 s (2 cores). Each part stays in its own file, named `*.tests.ts` so that Jest does not also run it on its own.
 */
import './stacks/directory-stack.tests';
import './stacks/database-stack.tests';
import './stacks/cluster-stack.tests';
import './stacks/application-stack.tests';
import './security/exposure.tests';
