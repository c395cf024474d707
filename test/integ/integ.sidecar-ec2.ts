// Integration test of the sidecar-ec2 mode: deployed, asserted and destroyed by `npm run integ -- sidecar-ec2`; its snapshot
// (integ.sidecar-ec2.ts.snapshot/) is checked on every change by `npm run test:integ-snapshots` (no account needed).
import { buildModeIntegTest } from './gmsa-integ-test';

buildModeIntegTest('sidecar-ec2').app.synth();
