import { CfnTemplate, templatesOf } from '../helpers/deployed-nag';
import {
  cfnGuardBinary,
  controlTowerFindings,
  describeFinding,
  GuardFinding,
  suppressedRules,
} from '../helpers/control-tower';
import { buildApp, MODE_NAMES, settingsFor } from '../helpers/modes';

/*
 * AWS Control Tower's proactive controls (the cfn-guard rules of npm @cdklabs/cdk-validator-cfnguard, run by the
 * cfn-guard it bundles) over the synthesized templates of every mode with the app, and of one mode with HTTPS. A
 * finding passes only when the resource acknowledges the rule in its own template metadata
 * (`Metadata.guard.SuppressedRules`, with the reason in `Metadata.guard.Reasons`, written by
 * lib/guard-acknowledgements.ts): whoever re-reads the templates sees what was waived and why.
 */

const guard = cfnGuardBinary();
if ('missing' in guard && process.env.CI === 'true') {
  throw new Error(`${guard.missing}: CI must run the Control Tower check.`);
}
if ('missing' in guard) {
  // One line, and every test below is skipped; CI never gets here.
  process.stderr.write(`Skipping the Control Tower check: ${guard.missing}.\n`);
}
const describeWithGuard = 'path' in guard ? describe : describe.skip;
const binary = 'path' in guard ? guard.path : '';

const HTTPS = 'domainless-ec2-ssm with CERTIFICATE_ARN';
const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0c3f6a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f';

/** Templates of every mode (with the app) and of one mode with HTTPS, by set name, then stack name. */
function allTemplates(): Record<string, Record<string, CfnTemplate>> {
  const sets: Record<string, Record<string, CfnTemplate>> = {};
  for (const mode of MODE_NAMES) sets[mode] = templatesOf(buildApp(settingsFor(mode, { deployApp: true })).app);
  sets[HTTPS] = templatesOf(
    buildApp(settingsFor('domainless-ec2-ssm', { deployApp: true, certificateArn: CERTIFICATE_ARN })).app,
  );
  return sets;
}

const unacknowledged = (findings: readonly GuardFinding[]) =>
  findings.filter((f) => !f.acknowledged).map(describeFinding);

describeWithGuard('AWS Control Tower proactive controls', () => {
  let templates: Record<string, Record<string, CfnTemplate>>;
  let findings: Record<string, GuardFinding[]>;
  beforeAll(() => {
    templates = allTemplates();
    // One cfn-guard run for every set: each distinct template once.
    findings = controlTowerFindings(templates, binary);
  });

  describe.each([...MODE_NAMES, HTTPS])('GIVEN the templates of %s', (set) => {
    test('THEN every finding is acknowledged on its resource, in the template', () => {
      expect(Object.keys(templates[set])).toHaveLength(4);
      expect(findings[set].length).toBeGreaterThan(0);
      expect(unacknowledged(findings[set])).toEqual([]);
    });

    test('THEN every acknowledgement has a reason and answers a finding on that resource (none is stale)', () => {
      const found = new Set(findings[set].map(describeFinding));
      for (const [stack, template] of Object.entries(templates[set])) {
        for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
          const reasons = (resource.Metadata?.guard as { Reasons?: Record<string, string> } | undefined)?.Reasons;
          for (const rule of suppressedRules(template, logicalId)) {
            expect(reasons?.[rule]?.length ?? 0).toBeGreaterThanOrEqual(20);
            expect(found).toContain(`${rule} ${stack}/${logicalId}`);
          }
        }
      }
    });
  });

  test('GIVEN a certificate THEN port 80 only redirects to HTTPS, and without one the plain listener is acknowledged', () => {
    const rule = 'ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK';
    expect(findings[HTTPS].filter((f) => f.rule === rule)).toEqual([]);
    expect(findings['domainless-ec2-ssm'].filter((f) => f.rule === rule)).toEqual([
      expect.objectContaining({ template: expect.stringMatching(/-application$/), acknowledged: true }),
    ]);
  });

  test('GIVEN an acknowledgement removed from a template, or a new resource, THEN their findings are unacknowledged', () => {
    // A small template of three resources of the default mode's app keeps this second cfn-guard run short.
    const [name, template] = Object.entries(templates['domainless-ec2-ssm']).find(([n]) => n.endsWith('-application'))!;
    const resources = template.Resources!;
    const idOf = (type: string) => Object.keys(resources).find((id) => resources[id].Type === type)!;
    const taskDefinition = idOf('AWS::ECS::TaskDefinition');
    const repository = idOf('AWS::ECR::Repository');
    const listener = idOf('AWS::ElasticLoadBalancingV2::Listener');
    const changed: CfnTemplate = {
      Resources: {
        [taskDefinition]: { ...resources[taskDefinition], Metadata: undefined },
        [repository]: resources[repository],
        [listener]: resources[listener],
        NewBucket: { Type: 'AWS::S3::Bucket', Properties: {} },
      },
    };
    const run = controlTowerFindings({ changed: { [name]: changed } }, binary).changed;
    const open = unacknowledged(run);
    expect(open).toContain(`ECS_TASK_DEFINITION_NONROOT_USER_CHECK ${name}/${taskDefinition}`);
    expect(open).toContain(`S3_BUCKET_LOGGING_ENABLED_CHECK ${name}/NewBucket`);
    // The listener keeps its acknowledgement; the repository has nothing to acknowledge.
    expect(run).toContainEqual(
      expect.objectContaining({ rule: 'ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK', logicalId: listener, acknowledged: true }),
    );
    expect(open.every((f) => f.endsWith(`/${taskDefinition}`) || f.endsWith('/NewBucket'))).toBe(true);
  });
});
