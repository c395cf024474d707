import {
  CfnTemplate,
  mapStackOutputsToImports,
  PROVIDER_ROLE_ACKNOWLEDGEMENTS,
  synthesizedTemplates,
  templateFindings,
} from '../helpers/deployed-nag';
import { MODE_NAMES, settingsFor } from '../helpers/modes';

/**
 * cdk-nag's AwsSolutions pack over the templates as they are deployed, not over the construct tree: this also sees what
 * the in-app check skips (CDK's own custom-resource provider roles are plain `CfnResource`s). Each mode with the app.
 */
describe.each(MODE_NAMES)('synthesized templates of mode %s re-read with cloudformation-include', (mode) => {
  let templates: Record<string, CfnTemplate>;
  beforeAll(() => {
    templates = synthesizedTemplates(settingsFor(mode, { deployApp: true }));
  });

  test('THEN the AwsSolutions pack finds nothing unacknowledged', () => {
    expect(Object.keys(templates)).toHaveLength(4);
    expect(templateFindings(templates)).toEqual([]);
  });

  test('THEN the only findings acknowledged outside the templates are the two provider roles', () => {
    const stripped = templateFindings(templates, []);
    expect(stripped).toEqual([
      expect.stringMatching(
        /^AwsSolutions-IAM4\[Policy::.*AWSLambdaBasicExecutionRole\] \S+-directory\/CustomS3AutoDeleteObjects/,
      ),
      expect.stringMatching(
        /^AwsSolutions-IAM4\[Policy::.*AWSLambdaBasicExecutionRole\] \S+-directory\/CustomVpcRestrictDefaultSG/,
      ),
    ]);
  });
});

describe('the re-reading check', () => {
  let directory: CfnTemplate;
  beforeAll(() => {
    const templates = synthesizedTemplates(settingsFor('domainless-ec2-ssm', { deployApp: false }));
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
    const [logicalId, role] = Object.entries(directory.Resources!).find(([id]) =>
      PROVIDER_ROLE_ACKNOWLEDGEMENTS[0].logicalId.test(id),
    )!;
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
