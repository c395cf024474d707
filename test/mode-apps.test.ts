/*
 * The tests that read the app each mode builds, in one Jest file: test/helpers/modes.ts's `sharedApp` then builds
 * each mode's app once for all of them, instead of once per file. As five Jest files they took 26.1 s of CPU (one
 * worker, one after the other); as one, 16.9 s. Each part stays in its own file, named `*.tests.ts` so that Jest does
 * not also run it on its own.
 */
import './stacks/directory-stack.tests';
import './stacks/database-stack.tests';
import './stacks/cluster-stack.tests';
import './stacks/application-stack.tests';
import './security/exposure.tests';
