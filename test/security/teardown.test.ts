import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MODE_NAMES, settingsFor, sharedApp } from '../helpers/modes';

/**
 * `npx cdk destroy "*"` must leave nothing of ours behind and nothing may block it. This walks every resource of every
 * stack in every mode.
 */

/** Resources that may keep a non-Delete deletion policy, by resource type, with the reason. */
const RETAIN_ALLOW_LIST: Readonly<Record<string, string>> = {};

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

function resourcesOf(stack: Stack): Array<[string, CfnResource]> {
  return Object.entries(Template.fromStack(stack).toJSON().Resources as Record<string, CfnResource>);
}

describe.each(MODE_NAMES)('teardown in mode %s', (mode) => {
  const { stacks } = sharedApp(settingsFor(mode, { deployApp: true }));
  const all = Object.values(stacks).filter((s): s is Stack => s !== undefined);
  const resources = all.flatMap((stack) =>
    resourcesOf(stack).map(([id, r]) => [`${stack.stackName}/${id}`, r] as const),
  );

  test('THEN no resource is retained, snapshotted or kept unless allow-listed with a reason', () => {
    const kept = resources
      .filter(([, r]) => r.DeletionPolicy !== undefined && r.DeletionPolicy !== 'Delete')
      .filter(([, r]) => !(r.Type in RETAIN_ALLOW_LIST))
      .map(([id, r]) => `${id} (${r.Type}): ${r.DeletionPolicy}`);
    expect(kept).toEqual([]);
  });

  test('THEN every log group has a retention and is deleted with its stack', () => {
    const bad = resources
      .filter(([, r]) => r.Type === 'AWS::Logs::LogGroup')
      .filter(([, r]) => r.Properties?.RetentionInDays === undefined || r.DeletionPolicy !== 'Delete')
      .map(([id]) => id);
    expect(bad).toEqual([]);
  });

  test('THEN every Lambda function logs to a log group of its stack (no implicit /aws/lambda group left behind)', () => {
    const implicit = resources
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .filter(([, r]) => (r.Properties?.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup === undefined)
      .map(([id]) => id);
    expect(implicit).toEqual([]);
  });

  test('THEN every function from the Serverless Application Repository has its default log group in our stack', () => {
    const missing = resources
      .filter(([, r]) => r.Type === 'AWS::Serverless::Application')
      .map(([, r]) => (r.Properties?.Parameters as { functionName?: string }).functionName)
      .filter(
        (name) =>
          !resources.some(
            ([, r]) => r.Type === 'AWS::Logs::LogGroup' && r.Properties?.LogGroupName === `/aws/lambda/${name}`,
          ),
      );
    expect(missing).toEqual([]);
  });

  test('THEN every bucket is emptied on destroy', () => {
    for (const stack of all) {
      const template = Template.fromStack(stack);
      const autoDeleted = new Set(
        Object.values(template.findResources('Custom::S3AutoDeleteObjects')).map((r) =>
          JSON.stringify(r.Properties.BucketName),
        ),
      );
      for (const id of Object.keys(template.findResources('AWS::S3::Bucket'))) {
        expect(autoDeleted).toContain(JSON.stringify({ Ref: id }));
      }
    }
  });

  test('THEN every ECR repository is emptied on destroy', () => {
    const kept = resources
      .filter(([, r]) => r.Type === 'AWS::ECR::Repository' && r.Properties?.EmptyOnDelete !== true)
      .map(([id]) => id);
    expect(kept).toEqual([]);
  });

  test('THEN no capacity provider or Auto Scaling group protects instances from scale-in', () => {
    const protectedOnes = resources
      .filter(
        ([, r]) =>
          (r.Type === 'AWS::ECS::CapacityProvider' &&
            (r.Properties?.AutoScalingGroupProvider as { ManagedTerminationProtection?: string })
              ?.ManagedTerminationProtection === 'ENABLED') ||
          (r.Type === 'AWS::AutoScaling::AutoScalingGroup' && r.Properties?.NewInstancesProtectedFromScaleIn === true),
      )
      .map(([id]) => id);
    expect(protectedOnes).toEqual([]);
  });

  test('THEN the database is deleted without a final snapshot and without deletion protection', () => {
    const dbs = resources.filter(([, r]) => r.Type === 'AWS::RDS::DBInstance');
    expect(dbs).toHaveLength(1);
    for (const [, db] of dbs) {
      expect(db.DeletionPolicy).toBe('Delete');
      expect(db.Properties?.DeletionProtection).not.toBe(true);
    }
  });
});

/**
 * The CredSpec is written by the bastion and by nothing else: no template may own it (a CloudFormation-owned value is
 * written back on any update of its resource), hold a placeholder for it, or read it at deploy time (before the
 * bastion has written it). In this file (it was credspec-ownership.test.ts) because it reads the same apps as the
 * teardown checks: each mode is built once.
 */
describe.each(MODE_NAMES)('CredSpec ownership in mode %s', (mode) => {
  const { stacks } = sharedApp(settingsFor(mode, { deployApp: true }));
  const templates = Object.values(stacks)
    .filter((s): s is Stack => s !== undefined)
    .map((stack) => ({ name: stack.stackName, json: Template.fromStack(stack).toJSON() }));

  test('THEN no template has an SSM parameter resource, or any S3 object resource, for the CredSpec', () => {
    const owned = templates.flatMap(({ name, json }) =>
      Object.entries(json.Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>)
        .filter(([, r]) => r.Type === 'AWS::SSM::Parameter' || /credspec/i.test(JSON.stringify(r.Properties?.Name)))
        .filter(([, r]) => !r.Type.startsWith('Custom::'))
        .map(([id, r]) => `${name}/${id} (${r.Type})`),
    );
    expect(owned).toEqual([]);
  });

  test('THEN no template holds a CredSpec placeholder value or reads the parameter at deploy time', () => {
    for (const { name, json } of templates) {
      const text = JSON.stringify(json);
      expect({ name, placeholder: /placeholder/i.test(text) }).toEqual({ name, placeholder: false });
      expect({ name, resolve: /resolve:ssm[^"]*credspec/i.test(text) }).toEqual({ name, resolve: false });
      const parameters = Object.values((json.Parameters ?? {}) as Record<string, { Type: string; Default?: string }>);
      expect(parameters.filter((p) => /credspec/i.test(String(p.Default)))).toEqual([]);
    }
  });

  test('THEN the only occurrence of the SID and GUID placeholders is the template in the bastion user data', () => {
    for (const { name, json } of templates) {
      const resources = Object.entries(json.Resources as Record<string, { Type: string }>).filter(([, r]) =>
        JSON.stringify(r).includes('__DOMAIN_SID__'),
      );
      expect({ name, types: resources.map(([, r]) => r.Type) }).toEqual({
        name,
        types: name.endsWith('-database') ? ['AWS::EC2::Instance'] : [],
      });
    }
  });
});
