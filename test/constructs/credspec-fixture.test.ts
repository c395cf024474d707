import * as fs from 'fs';
import * as path from 'path';
import { buildCredSpecTemplate, fillCredSpecTemplate } from '../../lib/constructs/credspec-document';

/**
 * The fixture the Pester tests share with jest (test/fixtures/credspec): the templates must be exactly what the CDK
 * app writes into the bastion's user data, so that Generate-CredSpec.ps1 is tested on the real input.
 */
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'credspec');
const read = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
const inputs = read('inputs.json') as {
  gmsaName: string;
  dnsName: string;
  netbiosName: string;
  domainlessCredentialArn: string;
  domainSid: string;
  domainGuid: string;
};

describe.each([
  ['domainless', inputs.domainlessCredentialArn],
  ['domain-joined', undefined],
] as const)('CredSpec fixture for %s mode', (mode, domainlessCredentialArn) => {
  const template = buildCredSpecTemplate({
    gmsaName: inputs.gmsaName,
    dnsName: inputs.dnsName,
    netbiosName: inputs.netbiosName,
    domainlessCredentialArn,
  });

  test('THEN the template file is what buildCredSpecTemplate returns for the inputs', () => {
    expect(read(`template-${mode}.json`)).toEqual(JSON.parse(template));
  });

  test('THEN the expected file is the template filled with the mocked SID and GUID, with no placeholder left', () => {
    const expected = read(`expected-${mode}.json`);
    expect(expected).toEqual(JSON.parse(fillCredSpecTemplate(template, inputs.domainSid, inputs.domainGuid)));
    expect(expected.DomainJoinConfig).toMatchObject({ Sid: inputs.domainSid, Guid: inputs.domainGuid });
    expect(JSON.stringify(expected)).not.toMatch(/__DOMAIN_(SID|GUID)__/);
    expect(JSON.stringify(expected).includes('HostAccountConfig')).toBe(mode === 'domainless');
  });
});
