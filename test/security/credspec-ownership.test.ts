import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, MODE_NAMES, settingsFor } from '../helpers/modes';

/**
 * The CredSpec is written by the bastion and by nothing else: no template may own it (a CloudFormation-owned value is
 * written back on any update of its resource), hold a placeholder for it, or read it at deploy time (before the
 * bastion has written it).
 */
describe.each(MODE_NAMES)('CredSpec ownership in mode %s', (mode) => {
  const { stacks } = buildApp(settingsFor(mode, { deployApp: true }));
  const templates = Object.values(stacks)
    .filter((s): s is Stack => s !== undefined)
    .map((stack) => ({ name: stack.stackName, json: Template.fromStack(stack).toJSON() }));

  test('THEN no template has an SSM parameter resource, or any S3 object resource, for the CredSpec', () => {
    const owned = templates.flatMap(({ name, json }) =>
      Object.entries(json.Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>)
        .filter(([, r]) => r.Type === 'AWS::SSM::Parameter' || /credspec/i.test(JSON.stringify(r.Properties?.Name)))
        .filter(([, r]) => !r.Type.startsWith('Custom::'))
        .map(([id, r]) => `${name}/${id} (${r.Type})`),
    );
    expect(owned).toEqual([]);
  });

  test('THEN no template holds a CredSpec placeholder value or reads the parameter at deploy time', () => {
    for (const { name, json } of templates) {
      const text = JSON.stringify(json);
      expect({ name, placeholder: /placeholder/i.test(text) }).toEqual({ name, placeholder: false });
      expect({ name, resolve: /resolve:ssm[^"]*credspec/i.test(text) }).toEqual({ name, resolve: false });
      const parameters = Object.values((json.Parameters ?? {}) as Record<string, { Type: string; Default?: string }>);
      expect(parameters.filter((p) => /credspec/i.test(String(p.Default)))).toEqual([]);
    }
  });

  test('THEN the only occurrence of the SID and GUID placeholders is the template in the bastion user data', () => {
    for (const { name, json } of templates) {
      const resources = Object.entries(json.Resources as Record<string, { Type: string }>).filter(([, r]) =>
        JSON.stringify(r).includes('__DOMAIN_SID__'),
      );
      expect({ name, types: resources.map(([, r]) => r.Type) }).toEqual({
        name,
        types: name.endsWith('-database') ? ['AWS::EC2::Instance'] : [],
      });
    }
  });
});
