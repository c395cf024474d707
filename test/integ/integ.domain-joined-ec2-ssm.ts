// Integration test of the domain-joined-ec2-ssm mode: deployed, asserted and destroyed by `npm run integ -- domain-joined-ec2-ssm`; its snapshot
// (integ.domain-joined-ec2-ssm.ts.snapshot/) is checked on every change by `npm run test:integ-snapshots` (no account needed).
import { buildModeIntegTest } from './gmsa-integ-test';

buildModeIntegTest('domain-joined-ec2-ssm').app.synth();
