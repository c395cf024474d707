import * as fs from 'fs';
import * as path from 'path';
import { GmsaStacks } from '../../lib/gmsa-app';
import { addSecurityChecks } from '../../lib/security-checks';
import { Settings } from '../../lib/settings';
import { buildApp } from './modes';

/** What synthesizing with cdk-nag (and CDK's built-in CloudFormation validation) reported. */
export interface NagRun {
  readonly stacks: GmsaStacks;
  /** Unacknowledged findings of every plugin, as `<rule> (<severity>) <construct path>`. */
  readonly findings: string[];
}

interface ReportedViolation {
  readonly ruleName: string;
  readonly severity?: string;
  readonly violatingConstructs?: Array<{ constructPath?: string }>;
}

/**
 * Builds the app for the settings, adds the AwsSolutions checks as `bin/` does and synthesizes with CDK's built-in
 * validation on. A failing synth still writes its report, which lists every unacknowledged finding.
 */
export function synthWithSecurityChecks(settings: Settings): NagRun {
  const previous = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'true';
  try {
    const { app, stacks } = buildApp(settings);
    addSecurityChecks(app);
    try {
      app.synth();
    } catch {
      // Findings make the synth throw; the report below names them.
    }
    const reportFile = path.join(app.outdir, 'validation-report.json');
    const report = fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, 'utf8')) : { pluginReports: [] };
    const findings = (report.pluginReports as Array<{ violations: ReportedViolation[] }>).flatMap((r) =>
      r.violations.flatMap((v) =>
        (v.violatingConstructs ?? [{}]).map(
          (c) => `${v.ruleName} (${v.severity ?? 'error'}) ${c.constructPath ?? '?'}`,
        ),
      ),
    );
    return { stacks, findings };
  } finally {
    process.env.CDK_VALIDATION = previous;
  }
}
