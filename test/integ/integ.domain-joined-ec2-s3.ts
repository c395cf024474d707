// Integration test of the domain-joined-ec2-s3 mode: deployed, asserted and destroyed by `npm run integ -- domain-joined-ec2-s3`; its snapshot
// (integ.domain-joined-ec2-s3.ts.snapshot/) is checked on every change by `npm run test:integ-snapshots` (no account needed).
import { buildModeIntegTest } from './gmsa-integ-test';

buildModeIntegTest('domain-joined-ec2-s3').app.synth();
