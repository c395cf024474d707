import { App, Validations } from 'aws-cdk-lib';
import { GmsaStacks } from '../../lib/gmsa-app';
import { addSecurityChecks } from '../../lib/security-checks';
import { BackgroundCloudFormationValidation } from '../../lib/template-validation/background-cloudformation-validation';
import { Settings } from '../../lib/settings';
import { buildApp } from './modes';
import { readValidationReport } from './validation-report';

/** What synthesizing with cdk-nag (and CDK's built-in CloudFormation validation) reported. */
export interface NagRun {
  /** The synthesized app: `app.synth()` hands out the assembly of that synth again, without synthesizing twice. */
  readonly app: App;
  readonly stacks: GmsaStacks;
  /** Unacknowledged findings of every plugin, as `<rule> (<severity>) <construct path>`. */
  readonly findings: string[];
}

let validation: BackgroundCloudFormationValidation | undefined;

/**
 * The CloudFormation validation `bin/` uses (CDK's, with its rule engine in a worker thread), one per test file: start
 * it at the top of the file so the engine warms up while the first app is built, and stop it in `afterAll`.
 */
export function backgroundValidation(): BackgroundCloudFormationValidation {
  validation ??= BackgroundCloudFormationValidation.start();
  return validation;
}

/** Stops the test file's validation worker (if it was started). */
export async function stopBackgroundValidation(): Promise<void> {
  await validation?.stop();
  validation = undefined;
}

/**
 * Synthesizes the app with CDK's CloudFormation validation as `bin/` runs it (in the background worker), after whatever
 * validation plugins the app has, such as cdk-nag. A failing synth still writes its report, which lists every
 * unacknowledged finding of every plugin.
 *
 * @returns the findings as `<rule> (<severity>) <construct path>`; empty when everything passes.
 */
export function synthFindings(app: App): string[] {
  Validations.of(app).addPlugins(backgroundValidation());
  const previous = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'true';
  try {
    try {
      app.synth();
    } catch {
      // Findings make the synth throw; the report below names them.
    }
    return readValidationReport(app.outdir).flatMap((r) =>
      r.violations.flatMap((v) =>
        (v.violatingConstructs ?? [{}]).map(
          (c) => `${v.ruleName} (${v.severity ?? 'error'}) ${c.constructPath ?? '?'}`,
        ),
      ),
    );
  } finally {
    process.env.CDK_VALIDATION = previous;
  }
}

/** Builds the app for the settings, adds the AwsSolutions checks as `bin/` does and synthesizes it with validation on. */
export function synthWithSecurityChecks(settings: Settings): NagRun {
  const { app, stacks } = buildApp(settings);
  addSecurityChecks(app);
  return { app, stacks, findings: synthFindings(app) };
}
