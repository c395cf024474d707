/*
 * The tests of `npm run verify` (test/verify/*.tests.ts) in one Jest file: each of them loads the AWS SDK clients,
 * which Jest loads again for every file it runs. With clients.test.ts, as thirteen Jest files they took 10.9 s of CPU
 * (one worker, one after the other); as two, 5.3 s. They share one mock per client class (test/verify/helpers.ts's `clientMock`).
 * test/verify/clients.test.ts stays on its own: it needs the SDK's real transport, which these mocks replace.
 */
import './verify/cli.tests';
import './verify/credspec.tests';
import './verify/database.tests';
import './verify/deployment.tests';
import './verify/directory.tests';
import './verify/hosts.tests';
import './verify/identity.tests';
import './verify/instances.tests';
import './verify/page.tests';
import './verify/runner.tests';
import './verify/service.tests';
import './verify/sidecar.tests';
import './verify/stacks.tests';
import './verify/targets.tests';
import './verify/edges.tests';
import './verify/outcomes.tests';
import './verify/calls.tests';
import './verify/shapes.tests';
import './verify/sparse-answers.tests';
