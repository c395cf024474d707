import * as fs from 'fs';
import * as path from 'path';

/** A finding in CDK's validation report. */
export interface ReportedViolation {
  readonly ruleName: string;
  readonly severity?: string;
  readonly violatingConstructs?: Array<{ constructPath?: string }>;
}

/** One plugin's part of CDK's validation report. */
export interface PluginReport {
  readonly pluginName: string;
  readonly violations: ReportedViolation[];
}

/**
 * The plugin reports of the `validation-report.json` CDK writes into a cloud assembly when validation runs; none when
 * it wrote no report (validation off, or the synth stopped before it).
 */
export function readValidationReport(assemblyDir: string): PluginReport[] {
  const reportFile = path.join(assemblyDir, 'validation-report.json');
  if (!fs.existsSync(reportFile)) return [];
  return JSON.parse(fs.readFileSync(reportFile, 'utf8')).pluginReports;
}
