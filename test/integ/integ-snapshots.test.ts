import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnTemplate, templateFindings } from '../helpers/deployed-nag';
import { CDK_JSON_CONTEXT } from '../helpers/modes';
import { buildModeIntegTest } from './gmsa-integ-test';
import { INTEG_MODE_NAMES, INTEG_MODES, IntegModeName, integStackNames } from './integ-modes';

/**
 * The snapshot check of the integration tests, run in CI without an account: each mode's integration test is
 * synthesized and its assertion stack and test manifest compared with the snapshot beside this file
 * (`__snapshots__/`). Changing an assertion without `npm run integ:update-snapshots` fails here. The app's own stacks
 * are the ones `test/mode-apps.test.ts` snapshots; only their names differ here (each mode's SOLUTION_ID).
 */
interface Synthesized {
  readonly assertions: CfnTemplate;
  readonly manifest: unknown;
  readonly stackNames: string[];
}

const synthesized = new Map<IntegModeName, Synthesized>();
function synth(mode: IntegModeName): Synthesized {
  let result = synthesized.get(mode);
  if (result === undefined) {
    // No bundling (no esbuild run for the rotation function, never Docker), as in the other template tests.
    const app = new App({ postCliContext: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const { assertionStack } = buildModeIntegTest(mode, app);
    const assembly = app.synth();
    result = {
      assertions: assembly.getStackByName(assertionStack.stackName).template as CfnTemplate,
      manifest: JSON.parse(fs.readFileSync(path.join(assembly.directory, 'integ.json'), 'utf8')),
      stackNames: assembly.stacks.map((s) => s.stackName),
    };
    synthesized.set(mode, result);
  }
  return result;
}

describe.each(INTEG_MODE_NAMES)('integration test %s', (mode) => {
  test('snapshot: assertion stack and test manifest', () => {
    const { assertions, manifest } = synth(mode);
    // integ-tests-alpha salts each call with the synth time so that it runs again at every deploy.
    const stable = JSON.parse(
      JSON.stringify({ manifest, assertions }).replace(/"salt":"\d+"/g, '"salt":"[SYNTH TIME]"'),
    );
    expect(stable).toMatchSnapshot();
  });

  test('deploys the four stacks of the mode with the app, then the assertions (the names the runner destroys)', () => {
    expect(synth(mode).stackNames.sort()).toEqual(integStackNames(mode).sort());
  });

  test('GET <ServiceURL>/api/status must answer ok with KERBEROS, waited for', () => {
    const template = Template.fromJSON(synth(mode).assertions);
    const calls = template.findResources('Custom::DeployAssert@HttpCall');
    expect(Object.keys(calls).length).toBe(INTEG_MODES[mode].domainless ? 2 : 1);
    for (const call of Object.values(calls)) {
      // http://<the application stack's load balancer>/api/status
      const url = JSON.stringify(call.Properties.parameters.url);
      expect(url).toMatch(/^\{"Fn::Join":\["",\["http:\/\/",\{"Fn::GetStackOutput":.*"\/api\/status"\]\]\}$/);
      expect(url).toContain(`"StackName":"${INTEG_MODES[mode].solutionId}-application"`);
      const expected = JSON.parse(call.Properties.expected) as { $ObjectLike: unknown };
      expect(expected).toEqual({ $ObjectLike: { status: 200, body: { ok: true, authScheme: 'KERBEROS' } } });
    }
    // Each wait is a Step Functions state machine that retries the call.
    expect(Object.keys(template.findResources('AWS::StepFunctions::StateMachine')).length).toBeGreaterThanOrEqual(3);
  });

  test(`the CredSpec is read where the task definition reads it (${INTEG_MODES[mode].credSpecIn}) and must name the gMSA`, () => {
    const template = Template.fromJSON(synth(mode).assertions);
    if (INTEG_MODES[mode].credSpecIn === 'none') {
      // The Kerberos sidecar's task definition reads no CredSpec: nothing to assert about it.
      expect(JSON.stringify(template.toJSON())).not.toContain('DomainJoinConfig.MachineAccountName');
      return;
    }
    const type = INTEG_MODES[mode].credSpecIn === 's3' ? 'S3getObject' : 'SSMgetParameter';
    expect(Object.keys(template.findResources(`Custom::DeployAssert@SdkCall${type}`))).toHaveLength(1);
    expect(JSON.stringify(template.toJSON())).toContain('DomainJoinConfig.MachineAccountName');
  });

  test(
    INTEG_MODES[mode].domainless ? 'rotates the identity secret and redeploys' : 'rotates nothing (domain-joined)',
    () => {
      const template = Template.fromJSON(synth(mode).assertions);
      const rotations = Object.keys(template.findResources('Custom::DeployAssert@SdkCallSecretsManagerrotateSecret'));
      const redeploys = Object.keys(template.findResources('Custom::DeployAssert@SdkCallECSupdateService'));
      expect(rotations).toHaveLength(INTEG_MODES[mode].domainless ? 1 : 0);
      expect(redeploys).toHaveLength(INTEG_MODES[mode].domainless ? 1 : 0);
    },
  );

  test('assertion functions may touch only the deployment under test', () => {
    const roles = Template.fromJSON(synth(mode).assertions).findResources('AWS::IAM::Role');
    const statements = Object.values(roles).flatMap((role) =>
      (
        (role.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Array<{ Resource: unknown }> } }>
      ).flatMap((policy) => policy.PolicyDocument.Statement),
    );
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) expect(JSON.stringify(statement.Resource)).not.toMatch(/"\*"|:\*"/);
  });

  test('cdk-nag re-reading the assertion template finds nothing unacknowledged', () => {
    const { assertions } = synth(mode);
    expect(templateFindings({ [`${mode}-assertions`]: assertions }, [])).toEqual([]);
  });
});
