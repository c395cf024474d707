// Integration test of the sidecar-fargate mode: deployed, asserted and destroyed by `npm run integ -- sidecar-fargate`; its snapshot
// (integ.sidecar-fargate.ts.snapshot/) is checked on every change by `npm run test:integ-snapshots` (no account needed).
import { buildModeIntegTest } from './gmsa-integ-test';

buildModeIntegTest('sidecar-fargate').app.synth();
