/**
 * The CredSpec, written at synth time from what the app already knows (gMSA name, domain names, the domainless
 * identity's secret ARN). Only the two values that exist nowhere but in AD — the domain's SID and GUID — stay as
 * placeholders; `scripts/Generate-CredSpec.ps1` replaces them with `Get-ADDomain`'s `DomainSID` and `ObjectGUID`.
 *
 * Format: MicrosoftDocs/Virtualization-Documentation `windows-server-container-tools/ServiceAccounts/CredentialSpec.psm1`;
 * domainless `HostAccountConfig`: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linux-gmsa.html
 */

/** Replaced by the domain SID (`S-1-5-21-...`). Generate-CredSpec.ps1 spells it the same way. */
export const CREDSPEC_SID_PLACEHOLDER = '__DOMAIN_SID__';

/** Replaced by the domain GUID. Generate-CredSpec.ps1 spells it the same way. */
export const CREDSPEC_GUID_PLACEHOLDER = '__DOMAIN_GUID__';

/** The plugin ECS uses to fetch the domainless identity from Secrets Manager (CCG plugin). */
export const ECS_CCG_PLUGIN_GUID = '{859E1386-BDB4-49E8-85C7-3070B13920E1}';

/** What the CredSpec is built from. */
export interface CredSpecTemplateOptions {
  /** sAMAccountName of the gMSA, without the trailing `$`. */
  readonly gmsaName: string;
  /** The domain's DNS name (also the forest name: AWS Managed AD is a single-domain forest). */
  readonly dnsName: string;
  /** The domain's NetBIOS name. */
  readonly netbiosName: string;
  /**
   * Domainless mode: ARN of the secret `{username, password, domainName}` credentials-fetcher signs in with.
   * @default - domain-joined mode: no `HostAccountConfig`
   */
  readonly domainlessCredentialArn?: string;
}

/**
 * The CredSpec as minified JSON with the SID and GUID placeholders. Key order is the one `New-CredentialSpec` writes.
 * On Linux `PluginInput` must be an object with the key `CredentialArn` exactly: credentials-fetcher parses it
 * case-sensitively (aws/credentials-fetcher `api/src/gmsa_service.cpp`); the escaped-string form is for Windows.
 */
export function buildCredSpecTemplate(options: CredSpecTemplateOptions): string {
  const activeDirectoryConfig: Record<string, unknown> = {
    GroupManagedServiceAccounts: [
      { Name: options.gmsaName, Scope: options.dnsName },
      { Name: options.gmsaName, Scope: options.netbiosName },
    ],
  };
  if (options.domainlessCredentialArn !== undefined) {
    activeDirectoryConfig.HostAccountConfig = {
      PortableCcgVersion: '1',
      PluginGUID: ECS_CCG_PLUGIN_GUID,
      PluginInput: { CredentialArn: options.domainlessCredentialArn },
    };
  }
  return JSON.stringify({
    CmsPlugins: ['ActiveDirectory'],
    DomainJoinConfig: {
      Sid: CREDSPEC_SID_PLACEHOLDER,
      MachineAccountName: options.gmsaName,
      Guid: CREDSPEC_GUID_PLACEHOLDER,
      DnsTreeName: options.dnsName,
      DnsName: options.dnsName,
      NetBiosName: options.netbiosName,
    },
    ActiveDirectoryConfig: activeDirectoryConfig,
  });
}

/** A domain SID as Get-ADDomain's `DomainSID` prints it (also what `npm run verify` expects in a stored CredSpec). */
export const DOMAIN_SID_PATTERN = /^S-1-5-21-\d+-\d+-\d+$/;
/** A GUID as Get-ADDomain's `ObjectGUID.ToString()` prints it, either case. */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The substitution Generate-CredSpec.ps1 performs, in TypeScript so that jest can test the rule: a literal replace
 * of each placeholder (every occurrence), after checking that the values look like a domain SID and a GUID, so that
 * nothing in them needs escaping inside a JSON string.
 */
export function fillCredSpecTemplate(template: string, domainSid: string, domainGuid: string): string {
  if (!DOMAIN_SID_PATTERN.test(domainSid)) {
    throw new Error(`"${domainSid}" is not a domain SID (S-1-5-21-x-y-z).`);
  }
  if (!GUID_PATTERN.test(domainGuid)) {
    throw new Error(`"${domainGuid}" is not a GUID.`);
  }
  return template.split(CREDSPEC_SID_PLACEHOLDER).join(domainSid).split(CREDSPEC_GUID_PLACEHOLDER).join(domainGuid);
}
