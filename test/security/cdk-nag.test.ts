import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as rds from 'aws-cdk-lib/aws-rds';
import { SQL_SERVER_WEB_CLASSES } from '../../bin/instance-types';
import { PROVIDER_ROLE_NAG_RULE } from '../../lib/aspects/cdk-provider-role-acknowledgements';
import { SQL_SERVER_DEFAULT_VERSION } from '../../lib/sql-server-version';
import WARM_UP_RESOURCE_TYPES from '../../lib/template-validation/warm-up-resource-types.json';
import { Settings } from '../../lib/settings';
import { CfnTemplate, mapStackOutputsToImports, templateFindings, templatesOf } from '../helpers/deployed-nag';
import { CDK_JSON_CONTEXT, MODE_NAMES, ModeName, settingsFor } from '../helpers/modes';
import {
  backgroundValidation,
  NagRun,
  stopBackgroundValidation,
  synthFindings,
  synthWithSecurityChecks,
} from '../helpers/nag';
import { buildRotationApp } from '../helpers/rotation-app';

/*
 * Every synth of the test suite with CDK's built-in CloudFormation validation on is in this file: the validation sets
 * up its rule engine once per test file (seconds), then checks each synth quickly. Each mode and variant is synthesized
 * once, with validation and cdk-nag, and every check below reads that one synth.
 */

// The acknowledged findings are documented in docs/security.md (the README links it).
const SECURITY_DOC = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'security.md'), 'utf8');

/** With and without the app, and with the optional access settings that add the RDP rule, the key pair and the ALB limit. */
const VARIANTS: ReadonlyArray<[string, Partial<Settings>]> = [
  ['DEPLOY_APP=0', { deployApp: false }],
  ['DEPLOY_APP=1', { deployApp: true }],
  [
    'DEPLOY_APP=1 MY_SG_INGRESS_IP BASTION_RDP_CIDR EC2_INSTANCE_KEYPAIR_NAME BASTION_MAINTENANCE ECS_EXEC',
    {
      deployApp: true,
      mySgIngressCidr: '203.0.113.7/32',
      bastionRdpCidr: '203.0.113.7/32',
      ec2InstanceKeyPairName: 'my-key',
      bastionMaintenance: true,
      ecsExec: true,
    },
  ],
];

/** Roles of aws-cdk-lib's own custom-resource providers, which only the template-level check sees. */
const PROVIDER_ROLE = /^Custom(VpcRestrictDefaultSG|S3AutoDeleteObjects)CustomResourceProviderRole[0-9A-F]{8}$/;

const runs = new Map<string, NagRun>();

// The validation's worker starts now and warms its rule engine up while the first app is built, as in `cdk synth`.
const validation = backgroundValidation();
afterAll(() => stopBackgroundValidation());

/** The synth of a mode and variant (by its name in VARIANTS) with validation and cdk-nag, made once per test file. */
function nagRun(mode: ModeName, variant: string): NagRun {
  const key = `${mode} ${variant}`;
  let run = runs.get(key);
  if (run === undefined) {
    const overrides = VARIANTS.find(([name]) => name === variant)![1];
    run = synthWithSecurityChecks(settingsFor(mode, overrides));
    runs.set(key, run);
  }
  return run;
}

/**
 * cdk-nag's AwsSolutions pack (v3, a validation plugin) and CDK's built-in CloudFormation validation over every stack of
 * every mode: zero unacknowledged errors or warnings, each acknowledgement recorded in the template with its reason and
 * listed in docs/security.md.
 */
describe.each(MODE_NAMES.flatMap((mode) => VARIANTS.map(([name, overrides]) => [mode, name, overrides] as const)))(
  'security checks in mode %s with %s',
  (mode, name) => {
    test('THEN there is no unacknowledged finding and every acknowledgement is documented', () => {
      const { stacks, findings } = nagRun(mode, name);
      expect(findings).toEqual([]);

      for (const stack of Object.values(stacks).filter((s): s is Stack => s !== undefined)) {
        const resources = Template.fromStack(stack).toJSON().Resources as Record<
          string,
          { Metadata?: Record<string, unknown> }
        >;
        for (const resource of Object.values(resources)) {
          const rules = (resource.Metadata?.cdk_nag as { rules_to_suppress?: Array<{ id: string; reason: string }> })
            ?.rules_to_suppress;
          for (const rule of rules ?? []) {
            expect(rule.reason.length).toBeGreaterThan(20);
            const awsSolutionsRule = /^AwsSolutions-([A-Z]+[0-9]+)/.exec(rule.id)?.[1];
            if (awsSolutionsRule !== undefined) expect(SECURITY_DOC).toContain(awsSolutionsRule);
          }
        }
      }
    });
  },
);

/**
 * cdk-nag's AwsSolutions pack over the templates as they are deployed, not over the construct tree: this also sees what
 * the in-app check skips (CDK's own custom-resource provider roles are plain `CfnResource`s). Each mode with the app,
 * from the synth above (moved here from deployed-templates-nag.test.ts so that no mode is synthesized twice).
 */
describe.each(MODE_NAMES)('synthesized templates of mode %s re-read with cloudformation-include', (mode) => {
  let templates: Record<string, CfnTemplate>;
  beforeAll(() => {
    templates = templatesOf(nagRun(mode, 'DEPLOY_APP=1').app);
  });

  test('THEN the AwsSolutions pack finds nothing unacknowledged', () => {
    expect(Object.keys(templates)).toHaveLength(4);
    expect(templateFindings(templates)).toEqual([]);
  });

  test("THEN CDK's provider roles carry their acknowledgement in the template, and nothing else is needed", () => {
    expect(templateFindings(templates, [])).toEqual([]);
    const providerRoles = Object.values(templates).flatMap((template) =>
      Object.entries(template.Resources ?? {}).filter(([id]) => PROVIDER_ROLE.test(id)),
    );
    // The directory stack's two providers, and the application stack's bucket emptier.
    expect(providerRoles).toHaveLength(3);
    for (const [, role] of providerRoles) {
      // cdk-nag's writer adds what the stack acknowledges for all its resources (e.g. CloudFormation-Validate::W3010).
      expect(role.Metadata?.cdk_nag).toEqual({
        rules_to_suppress: expect.arrayContaining([
          { id: PROVIDER_ROLE_NAG_RULE, reason: expect.stringContaining('aws-cdk-lib attaches') },
        ]),
      });
    }
  });
});

describe('the re-reading check', () => {
  let directory: CfnTemplate;
  beforeAll(() => {
    const templates = templatesOf(nagRun('domainless-ec2-ssm', 'DEPLOY_APP=0').app);
    directory = Object.entries(templates).find(([name]) => name.endsWith('-directory'))![1];
  });

  test('GIVEN an extra role with a wildcard policy THEN it reports that role', () => {
    const withWildcard: CfnTemplate = {
      ...directory,
      Resources: {
        ...directory.Resources,
        ExtraRole: {
          Type: 'AWS::IAM::Role',
          Properties: {
            AssumeRolePolicyDocument: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
            },
            Policies: [
              {
                PolicyName: 'everything',
                PolicyDocument: {
                  Version: '2012-10-17',
                  Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
                },
              },
            ],
          },
        },
      },
    };
    const findings = templateFindings({ 'gmsa-directory': withWildcard });
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every((f) => f.endsWith(' gmsa-directory/ExtraRole'))).toBe(true);
    expect(findings).toEqual(expect.arrayContaining([expect.stringMatching(/^AwsSolutions-IAM5\[Action::s3:\*\]/)]));
  });

  test('GIVEN a provider role with another managed policy THEN that policy is still reported', () => {
    const [logicalId, role] = Object.entries(directory.Resources!).find(([id]) => PROVIDER_ROLE.test(id))!;
    const properties = role.Properties as { ManagedPolicyArns: unknown[] };
    const widened: CfnTemplate = {
      ...directory,
      Resources: {
        ...directory.Resources,
        [logicalId]: {
          ...role,
          Properties: {
            ...properties,
            ManagedPolicyArns: [...properties.ManagedPolicyArns, 'arn:aws:iam::aws:policy/AdministratorAccess'],
          },
        },
      },
    };
    expect(templateFindings({ 'gmsa-directory': widened })).toEqual([
      `AwsSolutions-IAM4[Policy::arn:aws:iam::aws:policy/AdministratorAccess] gmsa-directory/${logicalId}`,
    ]);
  });

  test('GIVEN the acknowledgements recorded in resource metadata removed THEN exactly those findings come back', () => {
    const withoutMetadata: CfnTemplate = {
      ...directory,
      Resources: Object.fromEntries(
        Object.entries(directory.Resources!).map(([id, r]) => [id, { ...r, Metadata: undefined }]),
      ),
    };
    const findings = templateFindings({ 'gmsa-directory': withoutMetadata });
    expect(findings.length).toBeGreaterThan(0);
    for (const finding of findings) {
      const [, rule, logicalId] = /^(\S+) gmsa-directory\/(\S+)$/.exec(finding)!;
      const recorded = (
        directory.Resources![logicalId].Metadata?.cdk_nag as { rules_to_suppress: Array<{ id: string }> }
      ).rules_to_suppress;
      expect(recorded.map((r) => r.id)).toContain(rule);
    }
  });

  test('maps Fn::GetStackOutput to an import of <stack>:<output> wherever it is nested', () => {
    const reference = { 'Fn::GetStackOutput': { StackName: 's', Region: { Ref: 'AWS::Region' }, OutputName: 'O' } };
    expect(mapStackOutputsToImports({ a: ['x', { 'Fn::Join': ['', [reference]] }], b: 1 })).toEqual({
      a: ['x', { 'Fn::Join': ['', [{ 'Fn::ImportValue': 's:O' }]] }],
      b: 1,
    });
  });
});

describe('the DB instance classes the parser accepts', () => {
  /** Findings of CDK's built-in CloudFormation validation about each DB instance class of one template. */
  function classFindings(classes: readonly string[]): Map<string, string[]> {
    const app = new App({ context: CDK_JSON_CONTEXT });
    const stack = new Stack(app, 'DbClasses', { env: { account: '123456789012', region: 'us-east-1' } });
    const ids = new Map<string, string>();
    classes.forEach((type, i) => {
      const id = `Db${i}`;
      ids.set(id, type);
      new rds.CfnDBInstance(stack, id, {
        engine: 'sqlserver-web',
        licenseModel: 'license-included',
        engineVersion: SQL_SERVER_DEFAULT_VERSION,
        dbInstanceClass: `db.${type}`,
        allocatedStorage: '20',
      });
    });
    const byClass = new Map<string, string[]>(classes.map((type) => [type, []]));
    for (const finding of synthFindings(app)) {
      const id = / DbClasses\/(Db\d+)$/.exec(finding)?.[1];
      if (id && /E3025|E3062/.test(finding)) byClass.get(ids.get(id)!)!.push(finding);
    }
    return byClass;
  }

  test("GIVEN every accepted class and some refused ones THEN CDK's validation agrees with the parser", () => {
    const refused = ['t3.micro', 't2.small', 'm4.large', 'r4.large', 'm5.8xlarge', 'm5.24xlarge', 'm6g.large'];
    const findings = classFindings([...SQL_SERVER_WEB_CLASSES, ...refused]);
    const flagged = [...findings].filter(([, list]) => list.length > 0).map(([type]) => type);
    // Each accepted class passes E3025 (classes of the engine) and E3062 (classes of the engine version) ...
    expect(flagged.filter((type) => SQL_SERVER_WEB_CLASSES.includes(type))).toEqual([]);
    // ... and the validation is really looking: the refused ones are flagged.
    expect(flagged).toEqual(refused);
  });
});

describe('DomainlessIdentityRotation on its own', () => {
  test('GIVEN the AwsSolutions checks and CloudFormation validation THEN the synth reports nothing unacknowledged', () => {
    // The only "*" (IAM5) is acknowledged in the construct.
    expect(synthFindings(buildRotationApp({}, true).app)).toEqual([]);
  });
});

describe('CloudFormation validation in its worker thread', () => {
  test('THEN every synth of this file was validated by the worker, none on the main thread', () => {
    expect(runs.size).toBe(MODE_NAMES.length * VARIANTS.length);
    expect(validation.lastFallbackReason).toBeUndefined();
    expect(validation.mainThreadReports).toBe(0);
    expect(validation.workerReports).toBeGreaterThanOrEqual(runs.size);
  });

  test('THEN the warm-up names every resource type of every mode, so the engine it builds is the one every synth reuses', () => {
    const types = new Set<string>();
    for (const { app } of runs.values()) {
      for (const template of Object.values(templatesOf(app))) {
        for (const resource of Object.values(template.Resources ?? {})) types.add(resource.Type as string);
      }
    }
    expect([...types].filter((type) => !WARM_UP_RESOURCE_TYPES.includes(type))).toEqual([]);
  });
});
