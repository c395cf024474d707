import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addSecurityChecks } from '../../lib/security-checks';
import { buildApp, MODE_NAMES, settingsFor } from '../helpers/modes';

const README = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const README_SECURITY_SECTION = README.slice(README.indexOf('## Security'), README.indexOf('## Troubleshooting'));

interface Violation {
  readonly ruleName: string;
  readonly severity: string;
  readonly violatingResources: Array<{ constructPath?: string; resourceLogicalId?: string }>;
}

/**
 * cdk-nag's AwsSolutions pack (v3, a validation plugin) over every stack of every mode, with and without the app:
 * zero unacknowledged errors or warnings. Acknowledgements must be recorded in the templates' Metadata.
 */
describe.each(MODE_NAMES.flatMap((mode) => [true, false].map((deployApp) => [mode, deployApp] as const)))(
  'cdk-nag AwsSolutions in mode %s with DEPLOY_APP=%p',
  (mode, deployApp) => {
    test('THEN there is no unacknowledged finding', () => {
      const { app, stacks } = buildApp(settingsFor(mode, { deployApp }));
      addSecurityChecks(app);
      let violations: Violation[] = [];
      let error: unknown;
      try {
        const assembly = app.synth();
        const report = path.join(assembly.directory, 'validation-report.json');
        if (fs.existsSync(report)) {
          violations = JSON.parse(fs.readFileSync(report, 'utf8')).pluginReports.flatMap(
            (r: { violations: Violation[] }) => r.violations,
          );
        }
      } catch (e) {
        error = e;
      }
      // The report names each finding and its construct when this fails.
      expect(error === undefined ? '' : String(error)).toBe('');
      expect(violations.map((v) => `${v.ruleName} (${v.severity}) at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);

      // Every acknowledgement is visible in the template, with its reason, and listed in the README's security section.
      for (const stack of Object.values(stacks).filter((s): s is Stack => s !== undefined)) {
        const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Metadata?: Record<string, unknown> }>;
        for (const resource of Object.values(resources)) {
          const rules = (resource.Metadata?.cdk_nag as { rules_to_suppress?: Array<{ id: string; reason: string }> })?.rules_to_suppress;
          for (const rule of rules ?? []) {
            expect(rule.reason.length).toBeGreaterThan(20);
            const awsSolutionsRule = /^AwsSolutions-([A-Z]+[0-9]+)/.exec(rule.id)?.[1];
            if (awsSolutionsRule !== undefined) expect(README_SECURITY_SECTION).toContain(awsSolutionsRule);
          }
        }
      }
    });
  },
);
