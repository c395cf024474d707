import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * What a resource's `Metadata.guard` holds once a guard rule is acknowledged on it. `SuppressedRules` is the convention
 * of AWS's guard rules registry (aws-cloudformation/aws-guard-rules-registry: a rule skips a resource that lists it);
 * `Reasons` keeps, next to it, why each one is acknowledged, so whoever reads the template reads the reason too.
 * AWS Control Tower's proactive-control rules do not read `SuppressedRules` themselves: test/security/control-tower.test.ts
 * filters their findings on it.
 */
export interface GuardMetadata {
  readonly SuppressedRules: string[];
  readonly Reasons: Record<string, string>;
}

/** A Control Tower / guard rule name, e.g. `ECS_TASK_DEFINITION_NONROOT_USER_CHECK`. */
const RULE_NAME = /^[A-Z][A-Z0-9_]*$/;

/** A reason short enough to be a sentence, long enough to say something. */
const MIN_REASON_LENGTH = 20;

/**
 * Acknowledges one guard rule on one resource, with its reason, in the resource's template metadata
 * (`Metadata.guard.SuppressedRules` and `Metadata.guard.Reasons`).
 *
 * @param scope the `CfnResource`, or an L2 construct whose default child is one
 * @param rule the rule name the guard report uses (e.g. `ELBV2_DELETION_PROTECTION_ENABLED_CHECK`)
 * @param reason why this resource does not follow the rule, and the setting that turns it on if there is one
 * @throws if the scope has no CloudFormation resource, the rule or reason is malformed, or the rule is already
 *   acknowledged on the resource with another reason
 */
export function acknowledgeGuardRule(scope: IConstruct, rule: string, reason: string): void {
  const resource = cfnResourceOf(scope);
  if (!RULE_NAME.test(rule)) {
    throw new Error(
      `Invalid guard rule "${rule}" on ${scope.node.path}: expected a rule name such as S3_BUCKET_LOGGING_ENABLED_CHECK.`,
    );
  }
  if (reason.trim().length < MIN_REASON_LENGTH) {
    throw new Error(
      `Missing reason for guard rule ${rule} on ${scope.node.path}: give one of at least ${MIN_REASON_LENGTH} characters.`,
    );
  }
  const current = guardMetadataOf(resource);
  const previous = current.Reasons[rule];
  if (previous !== undefined && previous !== reason) {
    throw new Error(
      `Guard rule ${rule} is acknowledged twice on ${scope.node.path} with different reasons: "${previous}" and "${reason}".`,
    );
  }
  const metadata: GuardMetadata = {
    SuppressedRules: current.SuppressedRules.includes(rule)
      ? current.SuppressedRules
      : [...current.SuppressedRules, rule],
    Reasons: { ...current.Reasons, [rule]: reason },
  };
  resource.addMetadata('guard', metadata);
}

/** Acknowledges several guard rules on one resource; see {@link acknowledgeGuardRule}. */
export function acknowledgeGuardRules(scope: IConstruct, rules: Readonly<Record<string, string>>): void {
  for (const [rule, reason] of Object.entries(rules)) acknowledgeGuardRule(scope, rule, reason);
}

/** The guard rules acknowledged on a resource so far (empty lists when none). */
export function guardMetadataOf(resource: CfnResource): GuardMetadata {
  const metadata = resource.getMetadata('guard') as Partial<GuardMetadata> | undefined;
  return { SuppressedRules: metadata?.SuppressedRules ?? [], Reasons: metadata?.Reasons ?? {} };
}

function cfnResourceOf(scope: IConstruct): CfnResource {
  if (CfnResource.isCfnResource(scope)) return scope;
  const child = scope.node.defaultChild;
  if (child !== undefined && CfnResource.isCfnResource(child)) return child;
  throw new Error(`Cannot acknowledge a guard rule on ${scope.node.path}: it has no CloudFormation resource.`);
}
