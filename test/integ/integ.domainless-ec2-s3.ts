// Integration test of the domainless-ec2-s3 mode: deployed, asserted and destroyed by `npm run integ -- domainless-ec2-s3`; its snapshot
// (integ.domainless-ec2-s3.ts.snapshot/) is checked on every change by `npm run test:integ-snapshots` (no account needed).
import { buildModeIntegTest } from './gmsa-integ-test';

buildModeIntegTest('domainless-ec2-s3').app.synth();
