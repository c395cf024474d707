import * as fs from 'fs';
import * as path from 'path';

/** The feature flags of `cdk.json`, so an integration test synthesizes what `cdk synth` and `cdk deploy` do. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;
