import { Arn, ArnFormat, CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

/**
 * How long a terminating instance may wait for the cleanup. The lifecycle action is completed by the automation as soon
 * as the script returns; when nothing completes it (the automation did not start), Auto Scaling goes on after this.
 */
export const LEAVE_DOMAIN_HEARTBEAT_TIMEOUT = Duration.minutes(5);
/** Upper bound of the script's run through Run Command (its own calls are bounded tighter, see leave-domain.sh). */
export const LEAVE_DOMAIN_COMMAND_TIMEOUT_SECONDS = 180;

/** Props of {@link LeaveDomainOnTermination}. */
export interface LeaveDomainOnTerminationProps {
  /** The group of domain-joined container instances. */
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The shell lines Run Command runs on the terminating instance (the leave-domain script and its arguments). */
  readonly commands: string[];
}

/**
 * Takes a terminating domain-joined instance out of Active Directory before it goes: a terminating lifecycle hook
 * (default result CONTINUE) → an EventBridge rule for that hook → an SSM Automation runbook that runs the leave-domain
 * script on the instance through Run Command, then completes the lifecycle action with CONTINUE whether the script
 * worked or not. A failure anywhere delays the termination by at most {@link LEAVE_DOMAIN_HEARTBEAT_TIMEOUT}.
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
 */
export class LeaveDomainOnTermination extends Construct {
  /** The terminating lifecycle hook. */
  public readonly hook: autoscaling.LifecycleHook;
  /** The Automation runbook. */
  public readonly runbook: ssm.CfnDocument;
  /** The rule that starts the runbook for this hook's events. */
  public readonly rule: events.Rule;
  /** The role the runbook runs as. */
  public readonly automationRole: iam.Role;
  /** The role EventBridge starts the runbook with. */
  public readonly eventsRole: iam.Role;

  constructor(scope: Construct, id: string, props: LeaveDomainOnTerminationProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const group = props.autoScalingGroup;

    // No notification target: Auto Scaling sends the lifecycle event to EventBridge by itself, so no role either.
    this.hook = group.addLifecycleHook('LeaveDomain', {
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
      defaultResult: autoscaling.DefaultResult.CONTINUE,
      heartbeatTimeout: LEAVE_DOMAIN_HEARTBEAT_TIMEOUT,
    });

    this.automationRole = new iam.Role(this, 'AutomationRole', {
      assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com'),
      description:
        'Runs the leave-domain script on a terminating ECS container instance and completes its lifecycle action',
    });
    const groupArn = group.autoScalingGroupArn;
    const runShellScript = Arn.format(
      { service: 'ssm', account: '', resource: 'document', resourceName: 'AWS-RunShellScript' },
      stack,
    );
    const instances = Arn.format({ service: 'ec2', resource: 'instance', resourceName: '*' }, stack);
    const policy = new iam.Policy(this, 'AutomationPolicy', {
      roles: [this.automationRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'RunTheShellScriptDocument',
          actions: ['ssm:SendCommand'],
          resources: [runShellScript],
        }),
        // Instance ids are known only at run time; the tag Auto Scaling puts on its instances pins this group.
        new iam.PolicyStatement({
          sid: 'OnThisGroupsInstancesOnly',
          actions: ['ssm:SendCommand'],
          resources: [instances],
          conditions: { StringEquals: { 'ssm:resourceTag/aws:autoscaling:groupName': group.autoScalingGroupName } },
        }),
        // aws:runCommand follows the command it sent; these read actions support no resource-level permissions.
        new iam.PolicyStatement({
          sid: 'FollowTheCommand',
          actions: [
            'ssm:DescribeInstanceInformation',
            'ssm:GetCommandInvocation',
            'ssm:ListCommandInvocations',
            'ssm:ListCommands',
          ],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'CompleteTheLifecycleAction',
          actions: ['autoscaling:CompleteLifecycleAction'],
          resources: [groupArn],
        }),
      ],
    });

    this.runbook = new ssm.CfnDocument(this, 'Runbook', {
      documentType: 'Automation',
      documentFormat: 'JSON',
      content: {
        schemaVersion: '0.3',
        description:
          'Removes a terminating ECS container instance from Active Directory, then lets Auto Scaling terminate it.',
        assumeRole: this.automationRole.roleArn,
        parameters: {
          InstanceId: { type: 'String', description: 'The terminating instance.' },
          AutoScalingGroupName: { type: 'String', description: 'Its Auto Scaling group.' },
          LifecycleHookName: { type: 'String', description: 'The lifecycle hook that holds it.' },
          LifecycleActionToken: { type: 'String', description: 'The token of this lifecycle action.' },
        },
        mainSteps: [
          {
            name: 'LeaveDomain',
            action: 'aws:runCommand',
            // A failed or timed-out script must not stop the next step: termination always goes on.
            onFailure: 'Continue',
            isCritical: false,
            timeoutSeconds: LEAVE_DOMAIN_COMMAND_TIMEOUT_SECONDS + 30,
            inputs: {
              DocumentName: 'AWS-RunShellScript',
              InstanceIds: ['{{ InstanceId }}'],
              Parameters: {
                commands: props.commands,
                executionTimeout: [String(LEAVE_DOMAIN_COMMAND_TIMEOUT_SECONDS)],
              },
            },
          },
          {
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
          },
        ],
      },
    });
    // The runbook names its role: the role and its policy exist before anything can start it.
    this.runbook.node.addDependency(policy);

    this.eventsRole = new iam.Role(this, 'EventsRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: 'Starts the leave-domain runbook for a terminating ECS container instance',
    });
    const automationDefinition = (version: string) =>
      Arn.format(
        {
          service: 'ssm',
          resource: 'automation-definition',
          resourceName: `${this.runbook.ref}:${version}`,
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        },
        stack,
      );
    this.eventsRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'StartTheRunbook',
        actions: ['ssm:StartAutomationExecution'],
        resources: [automationDefinition('*')],
      }),
    );
    // StartAutomationExecution hands the runbook's role to Systems Manager, and to nothing else.
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PassedToService
    this.eventsRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PassTheRunbookRoleToSystemsManager',
        actions: ['iam:PassRole'],
        resources: [this.automationRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } },
      }),
    );

    // Only this hook's events: ECS managed draining adds a terminating hook of its own to the same group.
    this.rule = new events.Rule(this, 'Rule', {
      description: 'A domain-joined ECS container instance is terminating: remove it from Active Directory',
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: ['EC2 Instance-terminate Lifecycle Action'],
        detail: {
          AutoScalingGroupName: [group.autoScalingGroupName],
          LifecycleHookName: [this.hook.lifecycleHookName],
        },
      },
    });
    const targetArn = Arn.format(
      {
        service: 'ssm',
        resource: 'automation-definition',
        resourceName: this.runbook.ref,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      stack,
    );
    this.rule.addTarget({
      bind: () => ({
        arn: targetArn,
        role: this.eventsRole,
        // Automation parameters are lists of strings.
        input: events.RuleTargetInput.fromObject({
          InstanceId: [events.EventField.fromPath('$.detail.EC2InstanceId')],
          AutoScalingGroupName: [events.EventField.fromPath('$.detail.AutoScalingGroupName')],
          LifecycleHookName: [events.EventField.fromPath('$.detail.LifecycleHookName')],
          LifecycleActionToken: [events.EventField.fromPath('$.detail.LifecycleActionToken')],
        }),
      }),
    });

    const groupLogicalId = stack.getLogicalId(group.node.defaultChild as CfnElement);
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/<${groupLogicalId}>]`,
      reason: "The group's ARN holds an id known only after creation; the group's name pins this one group.",
    });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
      reason:
        'The terminating instance is known only at run time; a condition on the aws:autoscaling:groupName tag limits ' +
        'SendCommand to the instances of this group.',
    });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ssm:ListCommands, ListCommandInvocations, GetCommandInvocation and DescribeInstanceInformation (read only, ' +
        'used by aws:runCommand to follow its command) support no resource-level permissions.',
    });
    Validations.of(this.eventsRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:automation-definition/<${stack.getLogicalId(this.runbook)}>:*]`,
      reason: 'Any version of this one runbook: EventBridge starts its default version.',
    });
  }
}
