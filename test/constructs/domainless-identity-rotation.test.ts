import { CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DOMAINLESS_USERNAME } from '../../lib/directory-names';
import { buildRotationApp as build, DIRECTORY_ID } from '../helpers/rotation-app';

// Its synth with the AwsSolutions checks and CloudFormation validation is in test/security/cdk-nag.test.ts, with every
// other synth that validates: the validation's rule engine is set up once per test file and takes seconds.
/** All statements of the role's policies, with each action paired with its resources. */
function statementsOf(template: Template): { Action: string | string[]; Resource: unknown; Effect: string }[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => p.Properties.PolicyDocument.Statement,
  );
}

function resourcesFor(template: Template, action: string): unknown[] {
  return statementsOf(template)
    .filter((s) => ([] as string[]).concat(s.Action).includes(action))
    .flatMap((s) => ([] as unknown[]).concat(s.Resource));
}

describe('DomainlessIdentityRotation', () => {
  const { stack, rotation } = build();
  const template = Template.fromStack(stack);
  const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnResource);
  const functionId = logicalId(rotation.function);
  const roleId = logicalId(rotation.role);

  test('THEN the function runs the rotation handler on a current Node.js runtime with the directory and user set', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Timeout: 60,
      Role: { 'Fn::GetAtt': [roleId, 'Arn'] },
      Environment: { Variables: { DIRECTORY_ID: DIRECTORY_ID, IDENTITY_USERNAME: DOMAINLESS_USERNAME } },
    });
  });

  test("THEN the function runs in the VPC's private subnets with its own security group", () => {
    const fn = template.findResources('AWS::Lambda::Function')[functionId];
    const subnets = JSON.stringify(fn.Properties.VpcConfig.SubnetIds);
    expect(fn.Properties.VpcConfig.SubnetIds).toHaveLength(2);
    expect(subnets).toMatch(/privateSubnet1/);
    expect(subnets).toMatch(/privateSubnet2/);
    expect(subnets).not.toMatch(/publicSubnet/);
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([
      { 'Fn::GetAtt': [logicalId(rotation.securityGroup), 'GroupId'] },
    ]);
  });

  test('THEN the security group has no inbound rule, and outbound only HTTPS and DNS in the VPC', () => {
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    const sg = template.findResources('AWS::EC2::SecurityGroup')[logicalId(rotation.securityGroup)];
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
    const egress = sg.Properties.SecurityGroupEgress.map((r: Record<string, unknown>) => [
      r.IpProtocol,
      r.FromPort,
      r.ToPort,
      typeof r.CidrIp === 'string' ? r.CidrIp : 'vpc',
    ]);
    expect(egress).toEqual([
      ['tcp', 443, 443, '0.0.0.0/0'],
      ['udp', 53, 53, 'vpc'],
      ['tcp', 53, 53, 'vpc'],
    ]);
    const vpcCidr = sg.Properties.SecurityGroupEgress[1].CidrIp;
    expect(JSON.stringify(vpcCidr)).toMatch(/CidrBlock/);
  });

  test('THEN the function logs to its own log group with retention, destroyed with the stack', () => {
    const logGroupId = logicalId(rotation.logGroup);
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
    expect(resourcesFor(template, 'logs:PutLogEvents')).toEqual([{ 'Fn::GetAtt': [logGroupId, 'Arn'] }]);
  });

  test('THEN the role has no managed policy and is assumed by Lambda only', () => {
    const role = template.findResources('AWS::IAM::Role')[roleId];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
  });

  test('THEN the role reads and writes that secret only', () => {
    for (const action of [
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
    ]) {
      const resources = resourcesFor(template, action);
      expect(resources).toHaveLength(1);
      // The secret's full ARN, an output of the directory stack.
      expect(resources[0]).toEqual({
        'Fn::GetStackOutput': {
          StackName: 'Directory',
          Region: { Ref: 'AWS::Region' },
          OutputName: expect.stringMatching(/^PublishOutputRefIdentitySecret/),
        },
      });
    }
  });

  test('THEN GetRandomPassword, which has no resource, is allowed on "*"', () => {
    expect(resourcesFor(template, 'secretsmanager:GetRandomPassword')).toEqual(['*']);
  });

  test("THEN ds:ResetUserPassword is allowed on that directory's ARN only, and no other ds action", () => {
    expect(resourcesFor(template, 'ds:ResetUserPassword')).toEqual([
      {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':ds:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            `:directory/${DIRECTORY_ID}`,
          ],
        ],
      },
    ]);
    const dsActions = statementsOf(template)
      .flatMap((s) => ([] as string[]).concat(s.Action))
      .filter((a) => a.startsWith('ds:'));
    expect(dsActions).toEqual(['ds:ResetUserPassword']);
  });

  test("THEN ds:ResetUserPassword works only from the function's own code (lambda:SourceFunctionArn), in its own policy", () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const withReset = Object.entries(policies).filter(([, p]) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('ds:ResetUserPassword'),
    );
    expect(withReset.map(([id]) => id)).toEqual([logicalId(rotation.resetPolicy)]);
    const [[, policy]] = withReset;
    expect(policy.Properties.Roles).toEqual([{ Ref: roleId }]);
    // Every statement that grants the reset carries the condition: none is left without it.
    // The function's ARN from its fixed name (the boundary names it the same way).
    const fn = template.findResources('AWS::Lambda::Function')[functionId];
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      expect(Object.keys(statement.Condition)).toEqual(['ArnEquals']);
      expect(Object.keys(statement.Condition.ArnEquals)).toEqual(['lambda:SourceFunctionArn']);
      expect(JSON.stringify(statement.Condition.ArnEquals['lambda:SourceFunctionArn'])).toContain(
        `:function:${fn.Properties.FunctionName}"`,
      );
    }
  });

  test('THEN a permissions boundary caps the role: every action its policies allow is in the boundary, on the same resources', () => {
    const role = template.findResources('AWS::IAM::Role')[roleId];
    const boundaryId = logicalId(rotation.boundary);
    expect(role.Properties.PermissionsBoundary).toEqual({ Ref: boundaryId });
    const boundary: { Action: string | string[]; Resource: unknown; Condition?: unknown }[] =
      template.findResources('AWS::IAM::ManagedPolicy')[boundaryId].Properties.PolicyDocument.Statement;
    const pairs = (statements: { Action: string | string[]; Resource: unknown; Condition?: unknown }[]) =>
      statements.flatMap((st) =>
        ([] as string[])
          .concat(st.Action)
          .flatMap((action) =>
            ([] as unknown[]).concat(st.Resource).map((r) => JSON.stringify([action, r, st.Condition ?? null])),
          ),
      );
    const capped = new Set(pairs(boundary));
    const used = pairs(statementsOf(template) as never);
    expect(used.length).toBeGreaterThan(5);
    // What the role's policies allow must be in the boundary, or the rotation would fail at run time.
    expect(used.filter((pair) => !capped.has(pair))).toEqual([]);
    // And the boundary allows nothing the role does not use.
    expect([...capped].filter((pair) => !used.includes(pair))).toEqual([]);
  });

  test("THEN the boundary's reset works only from the function, named without a reference (no cycle)", () => {
    const fn = template.findResources('AWS::Lambda::Function')[functionId];
    expect(fn.Properties.FunctionName).toBe(`${stack.stackName}-identity-rotation`);
    const boundary = template.findResources('AWS::IAM::ManagedPolicy')[logicalId(rotation.boundary)];
    const reset = boundary.Properties.PolicyDocument.Statement.find(
      (st: { Action: string }) => st.Action === 'ds:ResetUserPassword',
    );
    expect(JSON.stringify(reset.Condition.ArnEquals['lambda:SourceFunctionArn'])).toContain(
      `:function:${stack.stackName}-identity-rotation`,
    );
  });

  test('THEN the schedule (whose creation rotates at once) waits for the reset policy', () => {
    const schedule = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule'))[0];
    expect(schedule.DependsOn).toEqual(expect.arrayContaining([logicalId(rotation.resetPolicy)]));
  });

  test('THEN "*" appears only for the network-interface actions and GetRandomPassword', () => {
    const starActions = statementsOf(template)
      .filter((s) => ([] as unknown[]).concat(s.Resource).includes('*'))
      .flatMap((s) => ([] as string[]).concat(s.Action))
      .sort();
    expect(starActions).toEqual([
      'ec2:AssignPrivateIpAddresses',
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:UnassignPrivateIpAddresses',
      'secretsmanager:GetRandomPassword',
    ]);
  });

  test('THEN the rotation schedule rotates the secret with the function every 30 days, after the bastion', () => {
    template.hasResource('AWS::SecretsManager::RotationSchedule', {
      Properties: {
        SecretId: {
          'Fn::GetStackOutput': Match.objectLike({
            StackName: 'Directory',
            OutputName: Match.stringLikeRegexp('^PublishOutputRefIdentitySecret'),
          }),
        },
        RotationLambdaARN: { 'Fn::GetAtt': [functionId, 'Arn'] },
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
      },
      DependsOn: Match.arrayWith(['Bastion']),
    });
  });

  test('THEN Secrets Manager may invoke the function, and the permission exists before the schedule', () => {
    const permissions = template.findResources('AWS::Lambda::Permission', {
      Properties: {
        Action: 'lambda:InvokeFunction',
        Principal: 'secretsmanager.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
      },
    });
    expect(Object.keys(permissions)).toHaveLength(1);
    const schedule = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule'))[0];
    expect(schedule.DependsOn).toEqual(expect.arrayContaining(Object.keys(permissions)));
  });

  test("THEN the secret's stack gets the resource policy RotationSchedule adds (deny DeleteSecret to the account root)", () => {
    const { directoryStack } = build();
    Template.fromStack(directoryStack).hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      ResourcePolicy: {
        Statement: [Match.objectLike({ Action: 'secretsmanager:DeleteSecret', Effect: 'Deny' })],
      },
    });
  });

  test('GIVEN rotationDays 7 THEN the schedule is rate(7 days)', () => {
    Template.fromStack(build({ rotationDays: 7 }).stack).hasResourceProperties(
      'AWS::SecretsManager::RotationSchedule',
      {
        RotationRules: { ScheduleExpression: 'rate(7 days)' },
      },
    );
  });

  test('GIVEN no alertTopic THEN there is no tamper alert rule', () => {
    expect(rotation.tamperAlerts).toBeUndefined();
    template.resourceCountIs('AWS::Events::Rule', 0);
  });

  test.each([0, 1.5, 1001])('fails when rotationDays is %p', (rotationDays) => {
    expect(() => build({ rotationDays })).toThrow(
      `rotationDays must be a whole number of days from 1 to 1000 (Secrets Manager's limits), got ${rotationDays}.`,
    );
  });
});

describe('DomainlessIdentityRotation with an alert topic', () => {
  const { stack, rotation } = build({}, false, true);
  const template = Template.fromStack(stack);
  const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnResource);
  const functionId = logicalId(rotation.function);
  const rules = template.findResources('AWS::Events::Rule');
  const ruleOf = (c: { node: { defaultChild?: unknown } }) => rules[logicalId(c)];

  test("THEN a change to the function's code, configuration or invoke permission alerts the topic", () => {
    const rule = ruleOf(rotation.tamperAlerts!.functionChanged);
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.lambda'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['lambda.amazonaws.com'],
        // CloudTrail names Lambda calls with the API version (UpdateFunctionCode20150331v2).
        eventName: [
          { prefix: 'UpdateFunctionCode' },
          { prefix: 'UpdateFunctionConfiguration' },
          { prefix: 'AddPermission' },
        ],
        requestParameters: { functionName: [{ suffix: { Ref: functionId } }] },
      },
    });
    expect(rule.Properties.Targets).toHaveLength(1);
    expect(JSON.stringify(rule.Properties.Targets[0].Arn)).toMatch(/AlarmTopic/);
  });

  test('THEN a reset of any user of the directory but the identity alerts the topic', () => {
    const rule = ruleOf(rotation.tamperAlerts!.otherUserReset);
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.ds'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['ds.amazonaws.com'],
        eventName: ['ResetUserPassword'],
        requestParameters: {
          directoryId: [DIRECTORY_ID],
          userName: [{ 'anything-but': { 'equals-ignore-case': DOMAINLESS_USERNAME } }],
        },
      },
    });
    expect(JSON.stringify(rule.Properties.Targets[0].Arn)).toMatch(/AlarmTopic/);
  });
});
