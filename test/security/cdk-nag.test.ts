import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Settings } from '../../lib/settings';
import { MODE_NAMES, settingsFor } from '../helpers/modes';
import { synthWithSecurityChecks } from '../helpers/nag';

const README = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const README_SECURITY_SECTION = README.slice(README.indexOf('## Security'), README.indexOf('## Troubleshooting'));

/** With and without the app, and with the optional access settings that add the RDP rule, the key pair and the ALB limit. */
const VARIANTS: ReadonlyArray<[string, Partial<Settings>]> = [
  ['DEPLOY_APP=0', { deployApp: false }],
  ['DEPLOY_APP=1', { deployApp: true }],
  [
    'DEPLOY_APP=1 MY_SG_INGRESS_IP EC2_INSTANCE_KEYPAIR_NAME',
    { deployApp: true, mySgIngressCidr: '203.0.113.7/32', ec2InstanceKeyPairName: 'my-key' },
  ],
];

/**
 * cdk-nag's AwsSolutions pack (v3, a validation plugin) and CDK's built-in CloudFormation validation over every stack of
 * every mode: zero unacknowledged errors or warnings, each acknowledgement recorded in the template with its reason and
 * listed in the README's security section.
 */
describe.each(MODE_NAMES.flatMap((mode) => VARIANTS.map(([name, overrides]) => [mode, name, overrides] as const)))(
  'security checks in mode %s with %s',
  (mode, _name, overrides) => {
    test('THEN there is no unacknowledged finding and every acknowledgement is documented', () => {
      const { stacks, findings } = synthWithSecurityChecks(settingsFor(mode, overrides));
      expect(findings).toEqual([]);

      for (const stack of Object.values(stacks).filter((s): s is Stack => s !== undefined)) {
        const resources = Template.fromStack(stack).toJSON().Resources as Record<
          string,
          { Metadata?: Record<string, unknown> }
        >;
        for (const resource of Object.values(resources)) {
          const rules = (resource.Metadata?.cdk_nag as { rules_to_suppress?: Array<{ id: string; reason: string }> })
            ?.rules_to_suppress;
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
