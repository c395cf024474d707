import { Stage, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { BackgroundCloudFormationValidation } from './template-validation/background-cloudformation-validation';

/** What {@link addSecurityChecks} adds besides cdk-nag. */
export interface SecurityChecksOptions {
  /**
   * CDK's CloudFormation validation, already started in the background (`BackgroundCloudFormationValidation.start()`).
   * It replaces CDK's default instance of the same validation. Without it, CDK runs its default instance (unless
   * `CDK_VALIDATION=false`).
   * @default CDK's default CloudFormation validation
   */
  readonly cloudFormationValidation?: BackgroundCloudFormationValidation;
}

/**
 * Runs cdk-nag's AwsSolutions pack on every stack at synth. Findings fail the synth; each acknowledgement
 * (`Validations.of(construct).acknowledge(...)`) is written into the resource's `Metadata` so anyone reading the
 * templates sees what was waived and why.
 */
export function addSecurityChecks(scope: Stage, options: SecurityChecksOptions = {}): void {
  Validations.of(scope).addPlugins(new AwsSolutionsChecks(scope, { writeSuppressionsToCloudFormation: true }));
  // After cdk-nag: plugins run in the order they are added, and cdk-nag's run gives the worker more time to warm up.
  if (options.cloudFormationValidation !== undefined)
    Validations.of(scope).addPlugins(options.cloudFormationValidation);
}
