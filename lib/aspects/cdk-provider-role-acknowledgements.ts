import { CfnResource, IAspect, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** The custom-resource providers aws-cdk-lib adds by itself, and what each one's function does. */
const PROVIDERS: Readonly<Record<string, string>> = {
  VpcRestrictDefaultSG: 'removes the rules of the VPC default security group when the VPC is created',
  S3AutoDeleteObjects: 'empties a bucket when its stack is deleted',
};

/** The one cdk-nag finding on each provider's role. */
export const PROVIDER_ROLE_NAG_RULE =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';

/**
 * Writes the acknowledgement of cdk-nag's AwsSolutions-IAM4 on the roles of aws-cdk-lib's own custom-resource
 * providers into their template metadata (`cdk_nag.rules_to_suppress`), where any tool that re-reads the templates
 * (cdk-nag over `cloudformation-include`, a platform team's pipeline) finds it with its reason.
 *
 * These roles are plain `CfnResource`s of type `AWS::IAM::Role`, not `CfnRole`s: the in-app cdk-nag skips them, and
 * `Validations.acknowledge` on them is never written anywhere (../shared/REFERENCE.md, "cdk-nag in the app does not
 * see everything"). aws-cdk-lib attaches the managed policy and has no setting to replace it.
 */
export class CdkProviderRoleAcknowledgements implements IAspect {
  public visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node) || node.cfnResourceType !== 'AWS::IAM::Role' || node.node.id !== 'Role')
      return;
    const match = /^Custom::(\w+)CustomResourceProvider$/.exec(node.node.scope?.node.id ?? '');
    const job = match ? PROVIDERS[match[1]] : undefined;
    if (job === undefined) return;
    const reason =
      `Role of the function aws-cdk-lib creates for Custom::${match![1]} (it ${job}); aws-cdk-lib attaches this AWS ` +
      'managed policy and has no setting to replace it. The policy only lets the function write its own logs ' +
      '(logs:CreateLogGroup, logs:CreateLogStream, logs:PutLogEvents); what the function may change is granted by a ' +
      'separate inline policy that names its resources.';
    const current = (node.getMetadata('cdk_nag') as { rules_to_suppress?: Array<{ id: string; reason: string }> })
      ?.rules_to_suppress;
    if (current?.some((r) => r.id === PROVIDER_ROLE_NAG_RULE)) return;
    // Both: cdk-nag's own writer (writeSuppressionsToCloudFormation) rewrites `cdk_nag` from the acknowledgements of the
    // resource and its ancestors when it visits, so it must find this one there too; the metadata written here is what
    // a synth without cdk-nag (the tests' snapshots) shows.
    Validations.of(node).acknowledge({ id: PROVIDER_ROLE_NAG_RULE, reason });
    node.addMetadata('cdk_nag', { rules_to_suppress: [...(current ?? []), { id: PROVIDER_ROLE_NAG_RULE, reason }] });
  }
}
