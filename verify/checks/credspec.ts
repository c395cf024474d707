import { isDeepStrictEqual } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import {
  CREDSPEC_GUID_PLACEHOLDER,
  CREDSPEC_SID_PLACEHOLDER,
  DOMAIN_SID_PATTERN,
  GUID_PATTERN,
} from '../../lib/constructs/credspec-document';
import { GMSA_NAME } from '../../lib/directory-names';
import { outputOf } from '../deployment';
import { Check, CheckContext, CheckFailure, CheckOutcome, fail, pass, skip } from '../types';

/**
 * The value CloudFormation gave the SSM parameter before the bastion wrote the CredSpec, in deployments made before
 * the parameter left CloudFormation (contract 3); spelled here so this file needs nothing from the constructs.
 */
const OLD_PARAMETER_PLACEHOLDER = 'placeholder: the bastion writes the CredSpec';

/** One stored copy of the CredSpec: where, and its text (undefined when it does not exist). */
interface CredSpecCopy {
  readonly where: string;
  readonly text?: string;
}

/**
 * The bastion writes the CredSpec to the SSM parameter and the S3 object from one string (Generate-CredSpec.ps1).
 * Fargate reads it only from S3, so there only the object is required; EC2 task definitions may name either, so both
 * must exist. Every copy that exists is checked and all must be identical.
 */
export const credSpecCheck: Check = {
  id: 'credspec',
  title: 'CredSpec',
  description:
    'the CredSpec in S3 (Fargate) or in SSM and S3 (EC2) exists, is JSON without placeholders, names the gMSA and ' +
    'the domain, and the copies are identical',
  async run(ctx: CheckContext): Promise<CheckOutcome> {
    if (ctx.settings.ticketSource === 'sidecar') {
      return skip('TICKET_SOURCE=sidecar: the task definition reads no CredSpec (see "Kerberos sidecar")');
    }
    const domain = outputOf(ctx, 'directory', 'DirectoryName');
    const logGroup = ctx.deployment.stacks.find((s) => s.role === 'database')?.outputs.ADManagementLogGroupName;
    const rerun =
      'the bastion writes it: read its log (aws logs tail ' +
      `${logGroup ?? '<ADManagementLogGroupName>'}) and redeploy the database stack to run it again.`;

    const parameter = await readParameter(ctx, outputOf(ctx, 'directory', 'CredSpecParameterName'));
    const object = await readObject(
      ctx,
      outputOf(ctx, 'directory', 'CredSpecBucketName'),
      outputOf(ctx, 'directory', 'CredSpecObjectKey'),
    );
    const required = ctx.settings.fargate ? [object] : [parameter, object];
    const missing = required.filter((copy) => copy.text === undefined);
    if (missing.length > 0) return fail(`no CredSpec at ${missing.map((c) => c.where).join(' and ')}`, rerun);

    const present = [parameter, object].filter((copy) => copy.text !== undefined);
    const parsed: unknown[] = [];
    for (const copy of present) {
      const problem = problemOf(copy.text as string, domain, !ctx.settings.domainJoinEcs);
      if (problem) return fail(`${copy.where}: ${problem}`, rerun);
      parsed.push(JSON.parse(copy.text as string));
    }
    if (parsed.length === 2 && !isDeepStrictEqual(parsed[0], parsed[1])) {
      return fail(`${parameter.where} and ${object.where} differ`, rerun);
    }
    return pass(`${present.map((c) => c.where).join(' = ')}: gMSA ${GMSA_NAME}, domain ${domain}`);
  },
};

/** What is wrong with one copy, or undefined. Never quotes the content beyond field values. */
export function problemOf(text: string, domain: string, domainless: boolean): string | undefined {
  for (const placeholder of [OLD_PARAMETER_PLACEHOLDER, CREDSPEC_SID_PLACEHOLDER, CREDSPEC_GUID_PLACEHOLDER]) {
    if (text.includes(placeholder)) return `still holds the placeholder "${placeholder}"`;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'is not valid JSON';
  }
  const spec = value as {
    DomainJoinConfig?: { MachineAccountName?: unknown; DnsName?: unknown; Sid?: unknown; Guid?: unknown };
    ActiveDirectoryConfig?: {
      GroupManagedServiceAccounts?: { Name?: unknown }[];
      HostAccountConfig?: { PluginInput?: unknown };
    };
  };
  const join = spec?.DomainJoinConfig;
  if (typeof join !== 'object' || join === null) return 'has no DomainJoinConfig';
  if (join.MachineAccountName !== GMSA_NAME) {
    return `names the gMSA ${JSON.stringify(join.MachineAccountName)}, expected "${GMSA_NAME}"`;
  }
  if (typeof join.DnsName !== 'string' || join.DnsName.toLowerCase() !== domain.toLowerCase()) {
    return `names the domain ${JSON.stringify(join.DnsName)}, expected "${domain}"`;
  }
  if (typeof join.Sid !== 'string' || !DOMAIN_SID_PATTERN.test(join.Sid)) return 'has no domain SID';
  if (typeof join.Guid !== 'string' || !GUID_PATTERN.test(join.Guid)) return 'has no domain GUID';
  const accounts = spec.ActiveDirectoryConfig?.GroupManagedServiceAccounts ?? [];
  if (!Array.isArray(accounts) || !accounts.some((account) => account?.Name === GMSA_NAME)) {
    return `has no GroupManagedServiceAccounts entry for ${GMSA_NAME}`;
  }
  if (domainless) {
    // On Linux PluginInput is a JSON object with the key CredentialArn (credentials-fetcher parses it case-sensitively).
    const input = spec.ActiveDirectoryConfig?.HostAccountConfig?.PluginInput as { CredentialArn?: unknown } | undefined;
    if (typeof input !== 'object' || input === null || typeof input.CredentialArn !== 'string') {
      return 'has no HostAccountConfig.PluginInput.CredentialArn object (domainless mode needs it)';
    }
  }
  return undefined;
}

async function readParameter(ctx: CheckContext, name: string): Promise<CredSpecCopy> {
  const where = `SSM parameter ${name}`;
  try {
    const result = await ctx.clients.ssm.send(new GetParameterCommand({ Name: name }), { abortSignal: ctx.signal });
    return { where, text: result.Parameter?.Value };
  } catch (error) {
    if (error instanceof Error && error.name === 'ParameterNotFound') return { where };
    throw readFailure(where, error);
  }
}

async function readObject(ctx: CheckContext, bucket: string, key: string): Promise<CredSpecCopy> {
  const where = `s3://${bucket}/${key}`;
  try {
    const result = await ctx.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
      abortSignal: ctx.signal,
    });
    return { where, text: await result.Body?.transformToString() };
  } catch (error) {
    if (error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound')) return { where };
    throw readFailure(where, error);
  }
}

function readFailure(where: string, error: unknown): CheckFailure {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return new CheckFailure(`reading ${where} failed (${name}: ${message})`, 'check that your credentials may read it.');
}
