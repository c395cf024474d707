// Integration test of the domainless-ec2-ssm mode: deployed, asserted and destroyed by `npm run integ -- domainless-ec2-ssm`; its snapshot
// (integ.domainless-ec2-ssm.ts.snapshot/) is checked on every change by `npm run test:integ-snapshots` (no account needed).
import { buildModeIntegTest } from './gmsa-integ-test';

buildModeIntegTest('domainless-ec2-ssm').app.synth();
