import { Stage, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * Runs cdk-nag's AwsSolutions pack on every stack at synth. Findings fail the synth; each acknowledgement
 * (`Validations.of(construct).acknowledge(...)`) is written into the resource's `Metadata` so anyone reading the
 * templates sees what was waived and why.
 */
export function addSecurityChecks(scope: Stage): void {
  Validations.of(scope).addPlugins(new AwsSolutionsChecks(scope, { writeSuppressionsToCloudFormation: true }));
}
