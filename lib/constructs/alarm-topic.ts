import { Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Props of {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /** Shown as the sender of the notifications, e.g. the solution id. */
  readonly displayName: string;
  /**
   * An e-mail address to subscribe; SNS mails it a confirmation link first.
   * @default - no subscription: subscribe later in the SNS console or with `aws sns subscribe`
   */
  readonly email?: string;
}

/** The one SNS topic every alarm and rotation-failure rule of the gMSA chain notifies. */
export class AlarmTopic extends Construct {
  /** The topic. */
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `${props.displayName} alarms`,
      // Publishers (CloudWatch alarms, EventBridge) and subscribers must use TLS.
      enforceSSL: true,
    });
    if (props.email !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    }
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'CloudWatch alarms and EventBridge cannot publish to a topic encrypted with the AWS managed key, and a customer ' +
        'managed key costs more than every alarm here together; the messages name resources and hold no secret. ' +
        'https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html',
    });
  }
}
