import { CfnResource, IAspect, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { IConstruct } from 'constructs';

/**
 * Gives every Lambda function that has no explicit log group (CDK's own custom-resource providers, such as the one
 * that empties buckets) a log group with a retention that is deleted with its stack. Without it Lambda creates
 * `/aws/lambda/<name>` on first invocation, with no retention, and `cdk destroy` leaves it behind.
 * https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html (custom log groups)
 */
export class ExplicitLambdaLogGroups implements IAspect {
  constructor(private readonly retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH) {}

  public visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node) || node.cfnResourceType !== 'AWS::Lambda::Function') return;
    if (hasExplicitLogGroup(node)) return;

    const scope = node.node.scope ?? Stack.of(node);
    const logGroup = new logs.LogGroup(scope, `${node.node.id}LogGroup`, {
      retention: this.retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    node.addPropertyOverride('LoggingConfig.LogGroup', logGroup.logGroupName);
    // The function must not run (and create the default group) before its log group exists; on delete the group goes last.
    node.addResourceDependency(logGroup.node.defaultChild as CfnResource);
  }
}

function hasExplicitLogGroup(node: CfnResource): boolean {
  if (node instanceof lambda.CfnFunction) {
    return node.loggingConfig !== undefined;
  }
  // CDK's custom-resource providers are plain CfnResources whose properties are rendered as given.
  const rendered = Stack.of(node).resolve(
    (node as unknown as { _toCloudFormation(): unknown })._toCloudFormation(),
  ) as {
    Resources: Record<string, { Properties?: { LoggingConfig?: unknown } }>;
  };
  return Object.values(rendered.Resources).some((r) => r.Properties?.LoggingConfig !== undefined);
}
