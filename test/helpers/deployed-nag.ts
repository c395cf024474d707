import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { AwsSolutionsChecks } from 'cdk-nag';

/** A synthesized CloudFormation template, as far as this check reads it. */
export interface CfnTemplate {
  Resources?: Record<string, { Type: string; Metadata?: Record<string, unknown>; [key: string]: unknown }>;
  [section: string]: unknown;
}

/**
 * A finding acknowledged only when re-reading templates, for a test that adds one. The app itself writes every
 * acknowledgement into the templates, including those of CDK's provider roles that the in-app check cannot see
 * (lib/aspects/cdk-provider-role-acknowledgements.ts).
 */
export interface TemplateAcknowledgement {
  /** Logical IDs the acknowledgement applies to. */
  readonly logicalId: RegExp;
  /** Resource type the acknowledgement applies to; another type with a matching ID stays checked. */
  readonly type: string;
  /** The exact cdk-nag finding, including its `[...]` detail, so any other finding on the resource is still reported. */
  readonly id: string;
  readonly reason: string;
}

/**
 * With weak cross-stack references a value from another stack is `{"Fn::GetStackOutput": {StackName, OutputName}}`,
 * which `cloudformation-include` cannot parse. An import of `<stack>:<output>` keeps what matters to the rules: the value
 * is a reference to something outside this template, never a literal such as `*`.
 */
export function mapStackOutputsToImports(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mapStackOutputsToImports);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0][0] === 'Fn::GetStackOutput') {
    const { StackName, OutputName } = entries[0][1] as { StackName: string; OutputName: string };
    return { 'Fn::ImportValue': `${StackName}:${OutputName}` };
  }
  return Object.fromEntries(entries.map(([key, v]) => [key, mapStackOutputsToImports(v)]));
}

/** The acknowledgements the in-app check wrote into a resource's `Metadata` (`cdk_nag.rules_to_suppress`). */
function recordedAcknowledgements(
  metadata: Record<string, unknown> | undefined,
): Array<{ id: string; reason: string }> {
  const nag = metadata?.cdk_nag as { rules_to_suppress?: Array<{ id: string; reason: string }> } | undefined;
  return nag?.rules_to_suppress ?? [];
}

/**
 * Re-loads each template into a fresh app with `cloudformation-include` and runs cdk-nag's AwsSolutions pack over it,
 * honouring the acknowledgements recorded in each resource's metadata (plus `extraAcknowledgements`, none by default).
 *
 * @param templates template of each stack, by stack name
 * @returns unacknowledged findings as `<rule> <stack>/<logical id>`, sorted; empty when everything passes
 */
export function templateFindings(
  templates: Readonly<Record<string, CfnTemplate>>,
  extraAcknowledgements: readonly TemplateAcknowledgement[] = [],
): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gmsa-deployed-nag-'));
  try {
    const findings: string[] = [];
    for (const [stackName, template] of Object.entries(templates)) {
      const templateFile = path.join(dir, `${stackName}.template.json`);
      fs.writeFileSync(templateFile, JSON.stringify(mapStackOutputsToImports(template)));
      const stack = new Stack(new App({ outdir: path.join(dir, 'out') }), stackName);
      const included = new CfnInclude(stack, 'Template', { templateFile });

      for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
        const acknowledgements = [
          ...recordedAcknowledgements(resource.Metadata),
          ...extraAcknowledgements.filter((a) => a.type === resource.Type && a.logicalId.test(logicalId)),
        ];
        for (const { id, reason } of acknowledgements) {
          Validations.of(included.getResource(logicalId)).acknowledge({ id, reason });
        }
      }

      const report = new AwsSolutionsChecks().validateScope(stack);
      for (const violation of report.violations) {
        for (const resource of violation.violatingResources) {
          const logicalId = resource.constructPath?.split('/').pop();
          findings.push(`${violation.ruleName} ${stackName}/${logicalId}`);
        }
      }
    }
    return findings.sort();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Each stack's template of an app's cloud assembly, by stack name (synthesizes the app unless it was already). */
export function templatesOf(app: App): Record<string, CfnTemplate> {
  const assembly = app.synth();
  return Object.fromEntries(assembly.stacks.map((s) => [s.stackName, s.template as CfnTemplate]));
}
