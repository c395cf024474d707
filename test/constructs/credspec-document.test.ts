import * as fs from 'fs';
import * as path from 'path';
import {
  buildCredSpecTemplate,
  CREDSPEC_GUID_PLACEHOLDER,
  CREDSPEC_SID_PLACEHOLDER,
  fillCredSpecTemplate,
} from '../../lib/constructs/credspec-document';

const IDENTITY_ARN =
  'arn:aws:secretsmanager:eu-west-1:111111111111:secret:amazon-ecs-gmsa-linux/credentials-fetcher-identity-AbCdEf';
const DNS = 'directory.amazon-ecs-gmsa-linux.com';
const SID = 'S-1-5-21-1004336348-1177238915-682003330';
const GUID = '5f1c2c0e-4a7b-4f3e-9a51-0b8a2b7c9d10';

const GENERATE_CREDSPEC = fs.readFileSync(path.join(__dirname, '..', '..', 'scripts', 'Generate-CredSpec.ps1'), 'utf8');

describe('CredSpec template', () => {
  test('GIVEN domainless mode THEN the template is exactly the CredSpec with HostAccountConfig and an object PluginInput', () => {
    // WHEN
    const template = buildCredSpecTemplate({
      gmsaName: 'SampleWebApp',
      dnsName: DNS,
      netbiosName: 'DIRECTORY',
      domainlessCredentialArn: IDENTITY_ARN,
    });

    // THEN
    expect(template).toBe(
      '{"CmsPlugins":["ActiveDirectory"],' +
        '"DomainJoinConfig":{"Sid":"__DOMAIN_SID__","MachineAccountName":"SampleWebApp","Guid":"__DOMAIN_GUID__",' +
        '"DnsTreeName":"directory.amazon-ecs-gmsa-linux.com","DnsName":"directory.amazon-ecs-gmsa-linux.com","NetBiosName":"DIRECTORY"},' +
        '"ActiveDirectoryConfig":{"GroupManagedServiceAccounts":[{"Name":"SampleWebApp","Scope":"directory.amazon-ecs-gmsa-linux.com"},' +
        '{"Name":"SampleWebApp","Scope":"DIRECTORY"}],' +
        '"HostAccountConfig":{"PortableCcgVersion":"1","PluginGUID":"{859E1386-BDB4-49E8-85C7-3070B13920E1}",' +
        `"PluginInput":{"CredentialArn":"${IDENTITY_ARN}"}}}}`,
    );
  });

  test('GIVEN domain-joined mode THEN the template is exactly the CredSpec without HostAccountConfig', () => {
    // WHEN
    const template = buildCredSpecTemplate({ gmsaName: 'SampleWebApp', dnsName: DNS, netbiosName: 'DIRECTORY' });

    // THEN
    expect(template).toBe(
      '{"CmsPlugins":["ActiveDirectory"],' +
        '"DomainJoinConfig":{"Sid":"__DOMAIN_SID__","MachineAccountName":"SampleWebApp","Guid":"__DOMAIN_GUID__",' +
        '"DnsTreeName":"directory.amazon-ecs-gmsa-linux.com","DnsName":"directory.amazon-ecs-gmsa-linux.com","NetBiosName":"DIRECTORY"},' +
        '"ActiveDirectoryConfig":{"GroupManagedServiceAccounts":[{"Name":"SampleWebApp","Scope":"directory.amazon-ecs-gmsa-linux.com"},' +
        '{"Name":"SampleWebApp","Scope":"DIRECTORY"}]}}',
    );
  });

  test('GIVEN a SID and a GUID THEN filling replaces both placeholders and leaves minified, valid JSON', () => {
    // GIVEN
    const template = buildCredSpecTemplate({
      gmsaName: 'SampleWebApp',
      dnsName: DNS,
      netbiosName: 'DIRECTORY',
      domainlessCredentialArn: IDENTITY_ARN,
    });

    // WHEN
    const credSpec = fillCredSpecTemplate(template, SID, GUID);

    // THEN
    expect(credSpec).not.toContain(CREDSPEC_SID_PLACEHOLDER);
    expect(credSpec).not.toContain(CREDSPEC_GUID_PLACEHOLDER);
    expect(credSpec).toBe(JSON.stringify(JSON.parse(credSpec)));
    expect(JSON.parse(credSpec).DomainJoinConfig).toMatchObject({ Sid: SID, Guid: GUID });
    expect(JSON.parse(credSpec).ActiveDirectoryConfig.HostAccountConfig.PluginInput).toEqual({
      CredentialArn: IDENTITY_ARN,
    });
  });

  test('fails to fill with a value that is not a domain SID', () => {
    expect(() => fillCredSpecTemplate('{}', 'S-1-5-32-544', GUID)).toThrow(/not a domain SID/);
  });

  test('fails to fill with a value that is not a GUID', () => {
    expect(() => fillCredSpecTemplate('{}', SID, 'not-a-guid"')).toThrow(/not a GUID/);
  });

  test('GIVEN Generate-CredSpec.ps1 THEN it spells the placeholders as the template does and replaces them literally from Get-ADDomain', () => {
    expect(GENERATE_CREDSPEC).toContain(`$SidPlaceholder = '${CREDSPEC_SID_PLACEHOLDER}'`);
    expect(GENERATE_CREDSPEC).toContain(`$GuidPlaceholder = '${CREDSPEC_GUID_PLACEHOLDER}'`);
    expect(GENERATE_CREDSPEC).toContain('$sid = $domain.DomainSID.Value');
    expect(GENERATE_CREDSPEC).toContain('$guid = $domain.ObjectGUID.ToString()');
    // String.Replace is literal, like fillCredSpecTemplate (no regex, every occurrence).
    expect(GENERATE_CREDSPEC).toContain('$template.Replace($SidPlaceholder, $sid).Replace($GuidPlaceholder, $guid)');
    expect(GENERATE_CREDSPEC).not.toContain('New-CredentialSpec -');
  });
});
