import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import {
  LEAVE_DOMAIN_COMMAND_TIMEOUT_SECONDS,
  LEAVE_DOMAIN_HEARTBEAT_TIMEOUT,
  LeaveDomainOnTermination,
} from '../../lib/constructs/leave-domain-on-termination';

type Json = ReturnType<Template['toJSON']>;

function build(): { stack: Stack; template: Template; construct: LeaveDomainOnTermination; groupId: string } {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const group = new autoscaling.AutoScalingGroup(stack, 'Group', {
    vpc,
    instanceType: new ec2.InstanceType('t3.medium'),
    machineImage: ec2.MachineImage.latestAmazonLinux2023(),
  });
  const construct = new LeaveDomainOnTermination(stack, 'Leave', {
    autoScalingGroup: group,
    commands: ['script="$(mktemp)"', "bash \"${script}\" '--domain' 'd.example.com'"],
  });
  const groupId = stack.getLogicalId(group.node.defaultChild as autoscaling.CfnAutoScalingGroup);
  return { stack, template: Template.fromStack(stack), construct, groupId };
}

function idOf(stack: Stack, construct: { node: { defaultChild?: unknown } } | unknown): string {
  const element = (construct as { node: { defaultChild?: unknown } }).node.defaultChild ?? construct;
  return stack.getLogicalId(element as Parameters<Stack['getLogicalId']>[0]);
}

function statementsOfRole(template: Template, roleId: string): Json[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as Json[]).some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('LeaveDomainOnTermination', () => {
  const { stack, template, construct, groupId } = build();
  const hookId = idOf(stack, construct.hook);
  const runbookId = stack.getLogicalId(construct.runbook);
  const automationRoleId = idOf(stack, construct.automationRole);
  const eventsRoleId = idOf(stack, construct.eventsRole);

  test('THEN a terminating hook of the group continues by default after a short heartbeat, with no notification role', () => {
    template.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
      AutoScalingGroupName: { Ref: groupId },
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      DefaultResult: 'CONTINUE',
      HeartbeatTimeout: 300,
    });
    const hook = template.findResources('AWS::AutoScaling::LifecycleHook')[hookId].Properties;
    expect(hook.RoleARN).toBeUndefined();
    expect(hook.NotificationTargetARN).toBeUndefined();
  });

  test('THEN the heartbeat outlasts the Run Command step, so the runbook completes the action before Auto Scaling would', () => {
    const step = template.findResources('AWS::SSM::Document')[runbookId].Properties.Content.mainSteps[0];
    expect(step.timeoutSeconds).toBeGreaterThan(LEAVE_DOMAIN_COMMAND_TIMEOUT_SECONDS);
    expect(step.timeoutSeconds + 30).toBeLessThan(LEAVE_DOMAIN_HEARTBEAT_TIMEOUT.toSeconds());
  });

  test("THEN the rule matches only this hook's terminate events of this group and starts the runbook with the event's values", () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    expect(rules).toHaveLength(1);
    const rule = rules[0].Properties;
    expect(rule.EventPattern).toEqual({
      source: ['aws.autoscaling'],
      'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
      detail: { AutoScalingGroupName: [{ Ref: groupId }], LifecycleHookName: [{ Ref: hookId }] },
    });
    expect(rule.Targets).toHaveLength(1);
    const target = rule.Targets[0];
    expect(JSON.stringify(target.Arn)).toContain(':automation-definition/');
    expect(JSON.stringify(target.Arn)).toContain(`{"Ref":"${runbookId}"}`);
    expect(target.RoleArn).toEqual({ 'Fn::GetAtt': [eventsRoleId, 'Arn'] });
    expect(target.InputTransformer.InputPathsMap).toEqual({
      'detail-EC2InstanceId': '$.detail.EC2InstanceId',
      'detail-AutoScalingGroupName': '$.detail.AutoScalingGroupName',
      'detail-LifecycleHookName': '$.detail.LifecycleHookName',
      'detail-LifecycleActionToken': '$.detail.LifecycleActionToken',
    });
    // Automation parameters are string lists.
    expect(target.InputTemplate ?? target.InputTransformer.InputTemplate).toBe(
      '{"InstanceId":[<detail-EC2InstanceId>],"AutoScalingGroupName":[<detail-AutoScalingGroupName>],' +
        '"LifecycleHookName":[<detail-LifecycleHookName>],"LifecycleActionToken":[<detail-LifecycleActionToken>]}',
    );
  });

  test('THEN the runbook runs the command on the instance, goes on whatever happens, and always completes with CONTINUE', () => {
    const content = template.findResources('AWS::SSM::Document')[runbookId].Properties.Content;
    expect(template.findResources('AWS::SSM::Document')[runbookId].Properties.DocumentType).toBe('Automation');
    expect(content.assumeRole).toEqual({ 'Fn::GetAtt': [automationRoleId, 'Arn'] });
    const [leave, complete, ...rest] = content.mainSteps;
    expect(rest).toEqual([]);
    expect(leave).toMatchObject({
      action: 'aws:runCommand',
      onFailure: 'Continue',
      isCritical: false,
      inputs: {
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['{{ InstanceId }}'],
        Parameters: {
          commands: ['script="$(mktemp)"', "bash \"${script}\" '--domain' 'd.example.com'"],
          executionTimeout: [String(LEAVE_DOMAIN_COMMAND_TIMEOUT_SECONDS)],
        },
      },
    });
    expect(complete).toEqual({
      name: 'CompleteLifecycleAction',
      action: 'aws:executeAwsApi',
      isEnd: true,
      inputs: {
        Service: 'autoscaling',
        Api: 'CompleteLifecycleAction',
        AutoScalingGroupName: '{{ AutoScalingGroupName }}',
        LifecycleHookName: '{{ LifecycleHookName }}',
        LifecycleActionToken: '{{ LifecycleActionToken }}',
        InstanceId: '{{ InstanceId }}',
        LifecycleActionResult: 'CONTINUE',
      },
    });
    expect(JSON.stringify(content)).not.toContain('ABANDON');
  });

  test("THEN the runbook's role may run only AWS-RunShellScript, only on this group's instances, and complete only this group's actions", () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'ssm.amazonaws.com' } })],
      }),
    });
    const statements = statementsOfRole(template, automationRoleId);
    const text = (v: unknown) => JSON.stringify(v);
    expect(statements.map((s) => s.Sid)).toEqual([
      'RunTheShellScriptDocument',
      'OnThisGroupsInstancesOnly',
      'FollowTheCommand',
      'CompleteTheLifecycleAction',
    ]);
    const [document, instances, follow, complete] = statements;
    expect(document.Action).toBe('ssm:SendCommand');
    expect(text(document.Resource)).toContain('::document/AWS-RunShellScript');
    expect(instances.Action).toBe('ssm:SendCommand');
    expect(text(instances.Resource)).toContain(':instance/*');
    expect(instances.Condition).toEqual({
      StringEquals: { 'ssm:resourceTag/aws:autoscaling:groupName': { Ref: groupId } },
    });
    expect(follow.Action).toEqual([
      'ssm:DescribeInstanceInformation',
      'ssm:GetCommandInvocation',
      'ssm:ListCommandInvocations',
      'ssm:ListCommands',
    ]);
    expect(follow.Resource).toBe('*');
    expect(complete.Action).toBe('autoscaling:CompleteLifecycleAction');
    expect(text(complete.Resource)).toContain(`:autoScalingGroup:*:autoScalingGroupName/",{"Ref":"${groupId}"}`);
    expect(text(statements)).not.toMatch(/secretsmanager|iam:PassRole|ssm:\*|autoscaling:\*/);
  });

  test('THEN EventBridge may start only this runbook and pass only its role', () => {
    const statements = statementsOfRole(template, eventsRoleId);
    expect(statements).toHaveLength(2);
    const [start, pass] = statements;
    expect(start.Action).toBe('ssm:StartAutomationExecution');
    expect(JSON.stringify(start.Resource)).toContain(`automation-definition/",{"Ref":"${runbookId}"},":*"]`);
    expect(pass).toMatchObject({
      Action: 'iam:PassRole',
      Resource: { 'Fn::GetAtt': [automationRoleId, 'Arn'] },
      Condition: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } },
    });
  });
});
