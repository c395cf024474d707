import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Props of {@link RotationTamperAlerts}. */
export interface RotationTamperAlertsProps {
  /** The rotation function whose code and configuration must not change outside a deployment. */
  readonly function: lambda.IFunction;
  /** Id (`d-...`) of the directory the function resets a password in. */
  readonly directoryId: string;
  /** sAMAccountName of the only user the function may reset. */
  readonly username: string;
  /** Where the alerts go. */
  readonly topic: sns.ITopic;
}

/**
 * Detection for what IAM cannot prevent: the rotation role may reset any user of the directory's delegated OU
 * (`ds:ResetUserPassword` has no per-user scope), so whoever changes the function's code or configuration can reset
 * the directory's `admin`. Two EventBridge rules on CloudTrail management events tell the alarm topic:
 * - `FunctionChanged`: UpdateFunctionCode, UpdateFunctionConfiguration or AddPermission on this function (a
 *   deployment that changes the function also triggers it: expected, and the message says so);
 * - `OtherUserReset`: ResetUserPassword in this directory for a user name other than the identity's.
 *
 * These events reach EventBridge only while a CloudTrail trail logs management events in the region (EventBridge's
 * "Events from AWS services": recording "AWS API Call via CloudTrail" events needs a trail); without one the rules
 * never fire. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
 * Lambda records these calls with the API version in the event name (`UpdateFunctionCode20150331v2`), hence the
 * prefix match; `functionName` may be a name, a partial or a full ARN, all of which end with the function's name.
 * https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html
 */
export class RotationTamperAlerts extends Construct {
  /** The rule on changes to the function. */
  public readonly functionChanged: events.Rule;
  /** The rule on password resets of any other user of the directory. */
  public readonly otherUserReset: events.Rule;

  constructor(scope: Construct, id: string, props: RotationTamperAlertsProps) {
    super(scope, id);
    this.functionChanged = new events.Rule(this, 'FunctionChanged', {
      description: 'The domainless identity rotation function was changed (it can reset any user of the directory)',
      eventPattern: {
        source: ['aws.lambda'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['lambda.amazonaws.com'],
          eventName: events.Match.anyOf(
            events.Match.prefix('UpdateFunctionCode'),
            events.Match.prefix('UpdateFunctionConfiguration'),
            events.Match.prefix('AddPermission'),
          ),
          requestParameters: { functionName: events.Match.suffix(props.function.functionName) },
        },
      },
    });
    this.functionChanged.addTarget(
      new targets.SnsTopic(props.topic, {
        message: events.RuleTargetInput.fromText(
          `${events.EventField.fromPath('$.detail.eventName')} on the domainless identity rotation function by ` +
            `${events.EventField.fromPath('$.detail.userIdentity.arn')} at ${events.EventField.time}. Expected ` +
            'during a cdk deploy that changes the function; otherwise treat it as an attempt to reset another AD ' +
            'user (docs/security.md, "The rotation role").',
        ),
      }),
    );

    this.otherUserReset = new events.Rule(this, 'OtherUserReset', {
      description: `A password in the gMSA directory was reset for a user other than ${props.username}`,
      eventPattern: {
        source: ['aws.ds'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['ds.amazonaws.com'],
          eventName: ['ResetUserPassword'],
          requestParameters: {
            directoryId: [props.directoryId],
            // sAMAccountNames compare case-insensitively, as the function's own check does.
            userName: events.Match.anythingButEqualsIgnoreCase(props.username),
          },
        },
      },
    });
    this.otherUserReset.addTarget(
      new targets.SnsTopic(props.topic, {
        message: events.RuleTargetInput.fromText(
          `ResetUserPassword for AD user ${events.EventField.fromPath('$.detail.requestParameters.userName')} in ` +
            `directory ${props.directoryId} by ${events.EventField.fromPath('$.detail.userIdentity.arn')} at ` +
            `${events.EventField.time}. The rotation only ever resets ${props.username} (docs/security.md).`,
        ),
      }),
    );
  }
}
