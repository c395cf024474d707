import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ConfusedDeputyConditions, SERVICES_WITH_SOURCE_ACCOUNT } from '../../lib/aspects/confused-deputy-conditions';
import { allows, asList, PolicyStatement, resourcesOf, roleStatements } from '../helpers/iam-templates';
import { MODE_NAMES, settingsFor, sharedApp } from '../helpers/modes';

/*
 * Over the synthesized templates of every mode (with the app): which service may assume which role, on whose behalf;
 * who may pass a role to which service; who may invoke a function; and who may reset an AD password.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
 */

/**
 * Services whose roles carry no aws:SourceAccount, each with why (docs/security.md, "Confused deputy"). A new service
 * principal in a template fails the test below until it is added to the aspect's list or here.
 */
const WITHOUT_SOURCE_ACCOUNT = [
  'directoryservice.rds.amazonaws.com',
  'ec2.amazonaws.com',
  'events.amazonaws.com',
  'lambda.amazonaws.com',
  'rds.amazonaws.com',
  'vpc-flow-logs.amazonaws.com',
];

const ACCOUNT = { Ref: 'AWS::AccountId' };

describe.each(MODE_NAMES)('%s: confused-deputy conditions', (mode) => {
  const resources = resourcesOf(sharedApp(settingsFor(mode, { deployApp: true })).stacks);
  const trustStatements = resources
    .filter((r) => r.type === 'AWS::IAM::Role')
    .flatMap((r) =>
      (r.properties.AssumeRolePolicyDocument as { Statement: PolicyStatement[] }).Statement.map((statement) => ({
        role: `${r.stack}/${r.logicalId}`,
        statement,
        services: asList((statement.Principal as { Service?: string | string[] } | undefined)?.Service),
      })),
    );

  test('THEN every trust statement of a service that sets aws:SourceAccount requires this account', () => {
    const withService = trustStatements.filter((t) => t.services.some((s) => s in SERVICES_WITH_SOURCE_ACCOUNT));
    expect(withService.length).toBeGreaterThan(0);
    for (const { role, statement } of withService) {
      expect({ role, condition: statement.Condition }).toEqual({
        role,
        condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
      });
    }
  });

  test('THEN every other service principal is one documented as left without the condition', () => {
    const others = new Set(
      trustStatements.flatMap((t) => t.services).filter((s) => !(s in SERVICES_WITH_SOURCE_ACCOUNT)),
    );
    expect([...others].filter((s) => !WITHOUT_SOURCE_ACCOUNT.includes(s))).toEqual([]);
  });

  test('THEN every iam:PassRole names the role and the one service it may be passed to', () => {
    const passes = roleStatements(resources).filter((s) => allows(s.statement, 'iam:PassRole'));
    for (const { roleId, statement } of passes) {
      expect({ roleId, resource: statement.Resource }).not.toEqual({ roleId, resource: '*' });
      expect({ roleId, condition: statement.Condition?.StringEquals?.['iam:PassedToService'] }).toEqual({
        roleId,
        condition: expect.stringMatching(/^[a-z0-9.-]+\.amazonaws\.com$/),
      });
    }
  });

  test('THEN every Lambda invoke permission for a service names the source account and the source ARN', () => {
    const permissions = resources.filter((r) => r.type === 'AWS::Lambda::Permission');
    for (const p of permissions) {
      if (!String(p.properties.Principal).endsWith('.amazonaws.com')) continue;
      expect({ id: p.logicalId, account: p.properties.SourceAccount }).toEqual({ id: p.logicalId, account: ACCOUNT });
      expect({ id: p.logicalId, arn: p.properties.SourceArn }).toEqual({ id: p.logicalId, arn: expect.anything() });
    }
  });

  test("THEN no role may call ds:ResetUserPassword except from the rotation function's own code", () => {
    const resets = roleStatements(resources).filter((s) => allows(s.statement, 'ds:ResetUserPassword'));
    expect(resets.length).toBe(mode.startsWith('domain-joined') ? 0 : 1);
    for (const { roleId, statement } of resets) {
      expect(roleId).toMatch(/^DomainlessIdentityRotationRole/);
      // The rotation function's ARN, built from its fixed name `<stack>-identity-rotation`.
      expect(Object.keys(statement.Condition ?? {})).toEqual(['ArnEquals']);
      expect(JSON.stringify(statement.Condition?.ArnEquals)).toMatch(
        /^\{"lambda:SourceFunctionArn":\{"Fn::Join":.*:function:[a-z0-9-]+-database-identity-rotation"\]\]\}\}$/,
      );
    }
  });
});

describe('ConfusedDeputyConditions', () => {
  function trustOf(principal: iam.IPrincipal): unknown {
    const app = new App();
    const stack = new Stack(app, 'S');
    new iam.Role(stack, 'R', { assumedBy: principal });
    new ConfusedDeputyConditions().visit(stack.node.findChild('R').node.defaultChild!);
    const roles = Template.fromStack(stack).findResources('AWS::IAM::Role');
    return Object.values(roles)[0].Properties.AssumeRolePolicyDocument.Statement;
  }

  test('GIVEN a role of ecs-tasks.amazonaws.com THEN it requires aws:SourceAccount', () => {
    expect(trustOf(new iam.ServicePrincipal('ecs-tasks.amazonaws.com'))).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'ecs-tasks.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
      },
    ]);
  });

  test('GIVEN a role of ec2.amazonaws.com (which sets no source key) THEN its trust policy is unchanged', () => {
    expect(trustOf(new iam.ServicePrincipal('ec2.amazonaws.com'))).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' } },
    ]);
  });

  test('GIVEN one statement that names a listed service and another THEN it is unchanged (the condition binds both)', () => {
    const stack = new Stack(new App(), 'S');
    const statement = {
      Action: 'sts:AssumeRole',
      Effect: 'Allow',
      Principal: { Service: ['ssm.amazonaws.com', 'ec2.amazonaws.com'] },
    };
    const role = new iam.CfnRole(stack, 'R', { assumeRolePolicyDocument: { Statement: [statement] } });
    new ConfusedDeputyConditions().visit(role);
    expect(stack.resolve(role.assumeRolePolicyDocument)).toEqual({ Statement: [statement] });
  });

  test('GIVEN a statement with its own condition THEN it is left as written', () => {
    const own = new iam.ServicePrincipal('ssm.amazonaws.com', {
      conditions: { ArnLike: { 'aws:SourceArn': 'arn:aws:ssm:*:111122223333:automation-execution/*' } },
    });
    expect(trustOf(own)).toEqual([
      expect.objectContaining({
        Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:ssm:*:111122223333:automation-execution/*' } },
      }),
    ]);
  });
});
