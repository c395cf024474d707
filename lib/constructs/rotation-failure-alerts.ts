import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Props of {@link RotationFailureAlerts}. */
export interface RotationFailureAlertsProps {
  /** The rotated secrets to watch (the SQL Server master secret, the domainless identity). */
  readonly secrets: readonly secretsmanager.ISecret[];
  /** Where the alert goes. */
  readonly topic: sns.ITopic;
  /** Name of the rule: the dashboard, in another stack, finds its metric by it. */
  readonly ruleName: string;
}

/**
 * Tells the alarm topic when Secrets Manager reports a failed rotation of one of the secrets. Secrets Manager sends
 * `RotationFailed` to EventBridge as an "AWS Service Event via CloudTrail" with the secret's ARN in
 * `additionalEventData.SecretId`; such service events reach the default bus without a trail.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html#cloudtrail_log_entries_rotation
 */
export class RotationFailureAlerts extends Construct {
  /** The rule; its `TriggeredRules` metric counts failed rotations. */
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: RotationFailureAlertsProps) {
    super(scope, id);
    if (props.secrets.length === 0) throw new Error('RotationFailureAlerts needs at least one secret to watch.');
    this.rule = new events.Rule(this, 'Rule', {
      ruleName: props.ruleName,
      description: 'A rotation of the SQL Server master secret or the domainless identity failed',
      eventPattern: {
        source: ['aws.secretsmanager'],
        detailType: ['AWS Service Event via CloudTrail'],
        detail: {
          eventSource: ['secretsmanager.amazonaws.com'],
          eventName: ['RotationFailed'],
          additionalEventData: { SecretId: props.secrets.map((secret) => secret.secretArn) },
        },
      },
    });
    this.rule.addTarget(
      new targets.SnsTopic(props.topic, {
        message: events.RuleTargetInput.fromText(
          `Rotation of ${events.EventField.fromPath('$.detail.additionalEventData.SecretId')} failed at ` +
            `${events.EventField.time}. Runbook: read the rotation function's log (docs/operations.md, "A rotation ` +
            'failed"); the secret keeps its current version until a rotation succeeds: aws secretsmanager ' +
            'rotate-secret --secret-id <that ARN> retries once the cause is fixed.',
        ),
      }),
    );
  }
}
