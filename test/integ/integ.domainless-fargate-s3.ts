// Integration test of the domainless-fargate-s3 mode: deployed, asserted and destroyed by `npm run integ -- domainless-fargate-s3`; its snapshot
// (integ.domainless-fargate-s3.ts.snapshot/) is checked on every change by `npm run test:integ-snapshots` (no account needed).
import { buildModeIntegTest } from './gmsa-integ-test';

buildModeIntegTest('domainless-fargate-s3').app.synth();
