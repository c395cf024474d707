import { Aws, IAspect, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/**
 * Service principals that, as AWS documents, set `aws:SourceAccount` when they assume a role in this account, each with
 * the page that shows the condition in such a trust policy. A condition on a key the service does not set denies
 * (IAM evaluates a positive condition on a missing key as false), so a service is listed only with its source: the
 * roles of lambda.amazonaws.com, ec2.amazonaws.com, events.amazonaws.com, rds.amazonaws.com,
 * directoryservice.rds.amazonaws.com and vpc-flow-logs.amazonaws.com are left without (docs/security.md, "Confused
 * deputy").
 */
export const SERVICES_WITH_SOURCE_ACCOUNT: Readonly<Record<string, string>> = {
  // Amazon ECS Developer Guide, "Amazon ECS task IAM role" (trust relationship with aws:SourceAccount/aws:SourceArn);
  // the same in aws/agent-toolkit-for-aws, serverless-skills/.../ecs-trust-policy.json.
  'ecs-tasks.amazonaws.com': 'https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html',
  // AWS Systems Manager User Guide: the Automation assume role's trust policy scoped with aws:SourceAccount.
  'ssm.amazonaws.com':
    'https://docs.aws.amazon.com/systems-manager/latest/userguide/cloud-connector-gcp-automation-assume-role.html',
};

type Statement = {
  Effect?: string;
  Action?: string | string[];
  Principal?: { Service?: string | string[] } | string;
  Condition?: Record<string, unknown>;
};

/**
 * Adds `aws:SourceAccount` = this stack's account to every trust statement whose principals are all services of
 * {@link SERVICES_WITH_SOURCE_ACCOUNT}, including the roles aws-cdk-lib creates itself: a service can then assume the
 * role only on behalf of a resource of this account (the cross-service confused deputy,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html). A statement that already has a condition is
 * left as its author wrote it.
 */
export class ConfusedDeputyConditions implements IAspect {
  public visit(node: IConstruct): void {
    if (!(node instanceof iam.CfnRole) || node.assumeRolePolicyDocument === undefined) return;
    const document = Stack.of(node).resolve(node.assumeRolePolicyDocument) as { Statement?: Statement[] };
    let changed = false;
    const statements = (document.Statement ?? []).map((statement) => {
      if (!needsSourceAccount(statement)) return statement;
      changed = true;
      return { ...statement, Condition: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } };
    });
    if (changed) node.assumeRolePolicyDocument = { ...document, Statement: statements };
  }
}

function needsSourceAccount(statement: Statement): boolean {
  if (statement.Effect !== 'Allow' || statement.Condition !== undefined) return false;
  if (typeof statement.Principal !== 'object' || statement.Principal.Service === undefined) return false;
  const services = ([] as string[]).concat(statement.Principal.Service);
  return services.length > 0 && services.every((service) => service in SERVICES_WITH_SOURCE_ACCOUNT);
}
