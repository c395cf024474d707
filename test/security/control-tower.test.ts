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

const HTTPS = 'domainless-ec2-ssm with CERTIFICATE_ARN and ECS_EXEC';
const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0c3f6a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f';

/** Templates of every mode (with the app) and of one mode with HTTPS, by set name, then stack name. */
function allTemplates(): Record<string, Record<string, CfnTemplate>> {
  const sets: Record<string, Record<string, CfnTemplate>> = {};
  for (const mode of MODE_NAMES) sets[mode] = templatesOf(buildApp(settingsFor(mode, { deployApp: true })).app);
  sets[HTTPS] = templatesOf(
    buildApp(settingsFor('domainless-ec2-ssm', { deployApp: true, certificateArn: CERTIFICATE_ARN, ecsExec: true }))
      .app,
  );
  return sets;
}

const unacknowledged = (findings: readonly GuardFinding[]) =>
  findings.filter((f) => !f.acknowledged).map(describeFinding);

let templates: Record<string, Record<string, CfnTemplate>>;
beforeAll(() => {
  templates = allTemplates();
});

/** The template of a stack (by the end of its name) in a set. */
function stackOf(set: string, suffix: string): CfnTemplate {
  return Object.entries(templates[set]).find(([name]) => name.endsWith(suffix))![1];
}

/** A resource as these tests read it: JSON of any shape below `Properties`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** The resources of a type in a template. */
function resourcesOf(template: CfnTemplate, type: string): Json[] {
  return Object.values(template.Resources ?? {}).filter((r) => r.Type === type);
}

/* The fixes the rules asked for, read from the same templates (they hold without cfn-guard too). */
describe('GIVEN the templates of the default mode', () => {
  test('THEN SQL Server exports its error and agent logs to log groups the stack creates and deletes', () => {
    const database = stackOf('domainless-ec2-ssm', '-database');
    const [instance] = resourcesOf(database, 'AWS::RDS::DBInstance');
    expect(instance.Properties.EnableCloudwatchLogsExports).toEqual(['error', 'agent']);
    const identifier = instance.Properties.DBInstanceIdentifier;
    for (const log of ['error', 'agent']) {
      const [id, group] = Object.entries(database.Resources!).find(
        ([, r]) =>
          r.Type === 'AWS::Logs::LogGroup' &&
          (r.Properties as Json)?.LogGroupName === `/aws/rds/instance/${identifier}/${log}`,
      )!;
      expect(group).toMatchObject({ DeletionPolicy: 'Delete', Properties: { RetentionInDays: 30 } });
      // The group exists before RDS would create it without a retention.
      expect(instance.DependsOn).toContain(id);
    }
  });

  test('THEN the CredSpec bucket keeps earlier versions for a while, and its access-log bucket too', () => {
    const directory = stackOf('domainless-ec2-ssm', '-directory');
    const buckets = resourcesOf(directory, 'AWS::S3::Bucket');
    expect(buckets).toHaveLength(2);
    for (const bucket of buckets) {
      expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(bucket.Properties.LifecycleConfiguration.Rules).toContainEqual(
        expect.objectContaining({
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: expect.any(Number) },
        }),
      );
    }
  });

  test('THEN Secrets Manager may invoke the rotation function only for the identity secret, in this account', () => {
    const database = stackOf('domainless-ec2-ssm', '-database');
    const permissions = resourcesOf(database, 'AWS::Lambda::Permission');
    expect(permissions).toHaveLength(1);
    expect(permissions[0].Properties).toMatchObject({
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: { 'Fn::GetStackOutput': expect.objectContaining({ StackName: expect.stringMatching(/-directory$/) }) },
    });
  });

  test('THEN ServiceURL follows the scheme: http without a certificate, https with one', () => {
    const url = (set: string) => (stackOf(set, '-application').Outputs as Json).ServiceURL.Value['Fn::Join'][1][0];
    expect(url('domainless-ec2-ssm')).toBe('http://');
    expect(url(HTTPS)).toBe('https://');
  });
});

describeWithGuard('AWS Control Tower proactive controls', () => {
  let findings: Record<string, GuardFinding[]>;
  beforeAll(() => {
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
    // A small template of three resources of an app keeps this second cfn-guard run short. Fargate's: its task
    // definition still acknowledges running as root (the EC2 modes run as UID 1654 and acknowledge nothing there).
    const [name, template] = Object.entries(templates['domainless-fargate-s3']).find(([n]) =>
      n.endsWith('-application'),
    )!;
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
