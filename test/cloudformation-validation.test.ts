import * as fs from 'fs';
import * as path from 'path';
import { buildApp, MODE_NAMES, settingsFor } from './helpers/modes';

/**
 * CDK's built-in CloudFormation validation (`@aws-cdk/core:validateAgainstDefaultRules` is true in cdk.json) must pass
 * with zero findings in every mode. The other tests turn it off for speed; this one turns it back on.
 */
describe.each(MODE_NAMES)('CloudFormation validation in mode %s', (mode) => {
  const previous = process.env.CDK_VALIDATION;
  beforeAll(() => {
    process.env.CDK_VALIDATION = 'true';
  });
  afterAll(() => {
    process.env.CDK_VALIDATION = previous;
  });

  test('GIVEN DEPLOY_APP on THEN every template passes with zero findings', () => {
    const { app } = buildApp(settingsFor(mode, { deployApp: true }));
    // Throws with the report when a rule fails.
    const assembly = app.synth();
    const reportFile = path.join(assembly.directory, 'validation-report.json');
    const violations = fs.existsSync(reportFile)
      ? JSON.parse(fs.readFileSync(reportFile, 'utf8')).pluginReports.flatMap(
          (r: { violations: unknown[] }) => r.violations,
        )
      : [];
    expect(violations).toEqual([]);
  });
});
