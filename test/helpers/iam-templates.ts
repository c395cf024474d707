import { Template } from 'aws-cdk-lib/assertions';
import { GmsaStacks } from '../../lib/gmsa-app';

/** One resource of a synthesized template, with the stack it is in. */
export interface TemplateResource {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  readonly properties: Record<string, unknown>;
}

/** An IAM policy statement as it is in a template. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** A statement of an identity policy and the role (stack and logical id) it is attached to. */
export interface RoleStatement {
  readonly stack: string;
  readonly roleId: string;
  readonly statement: PolicyStatement;
  /** The logical id of the policy resource that holds the statement; absent for a role's inline `Policies`. */
  readonly policyId?: string;
}

/** Every resource of every stack of the app, as synthesized. */
export function resourcesOf(stacks: GmsaStacks): TemplateResource[] {
  return Object.values(stacks)
    .filter((stack) => stack !== undefined)
    .flatMap((stack) => {
      const resources = Template.fromStack(stack).toJSON().Resources as Record<
        string,
        { Type: string; Properties?: Record<string, unknown> }
      >;
      return Object.entries(resources).map(([logicalId, r]) => ({
        stack: stack.stackName,
        logicalId,
        type: r.Type,
        properties: r.Properties ?? {},
      }));
    });
}

export function asList<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : ([] as T[]).concat(value);
}

/**
 * The statements of every identity policy of every role: inline `Policies`, `AWS::IAM::Policy` and customer managed
 * `AWS::IAM::ManagedPolicy` attached through `Roles` (a `Ref` to a role of the same stack). AWS managed policies are
 * not read here: the roles that carry one are listed by the caller.
 */
export function roleStatements(resources: TemplateResource[]): RoleStatement[] {
  const out: RoleStatement[] = [];
  for (const r of resources) {
    if (r.type === 'AWS::IAM::Role') {
      for (const policy of asList(r.properties.Policies as { PolicyDocument: { Statement: PolicyStatement[] } }[])) {
        for (const statement of policy.PolicyDocument.Statement)
          out.push({ stack: r.stack, roleId: r.logicalId, statement });
      }
    }
    if (r.type === 'AWS::IAM::Policy' || r.type === 'AWS::IAM::ManagedPolicy') {
      const document = r.properties.PolicyDocument as { Statement: PolicyStatement[] };
      for (const role of asList(r.properties.Roles as { Ref?: string }[])) {
        if (role.Ref === undefined) throw new Error(`${r.stack}/${r.logicalId} attaches to a role that is not a Ref.`);
        for (const statement of document.Statement)
          out.push({ stack: r.stack, roleId: role.Ref, statement, policyId: r.logicalId });
      }
    }
  }
  return out;
}

/** Whether an allowed action pattern (`service:Name`, with `*` wildcards, case-insensitive) covers `action`. */
export function allows(statement: PolicyStatement, action: string): boolean {
  if (statement.Effect !== 'Allow') return false;
  return asList(statement.Action).some((pattern) =>
    new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(action),
  );
}
