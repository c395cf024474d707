import { SQL_SERVER_VERSION_PATTERN } from '../lib/constructs/sql-server';
import { DEFAULT_SETTINGS, Settings } from '../lib/settings';

/** A bad setting or an impossible combination; its message is the one line the user sees. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** Where raw values come from: environment variables and CDK context (`-c key=value`). */
export interface SettingsSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** CDK context values; a context value wins over the environment variable of the same setting. */
  readonly context?: Readonly<Record<string, unknown>>;
}

/** One setting: its environment variable and its context key. */
interface SettingName {
  readonly env: string;
  readonly context: string;
}

/** Every setting the app reads, in the order of the README's table. */
export const SETTING_NAMES = {
  solutionId: { env: 'SOLUTION_ID', context: 'solutionId' },
  domainJoinEcs: { env: 'DOMAIN_JOIN_ECS', context: 'domainJoinEcs' },
  fargate: { env: 'FARGATE', context: 'fargate' },
  credSpecFromS3: { env: 'CREDSPEC_FROM_S3', context: 'credSpecFromS3' },
  deployApp: { env: 'DEPLOY_APP', context: 'deployApp' },
  ec2InstanceKeyPairName: { env: 'EC2_INSTANCE_KEYPAIR_NAME', context: 'ec2InstanceKeyPairName' },
  mySgIngressIp: { env: 'MY_SG_INGRESS_IP', context: 'mySgIngressIp' },
  natGateways: { env: 'NAT_GATEWAYS', context: 'natGateways' },
  dbInstanceType: { env: 'DB_INSTANCE_TYPE', context: 'dbInstanceType' },
  dbEngineVersion: { env: 'DB_ENGINE_VERSION', context: 'dbEngineVersion' },
  keepBastionRunning: { env: 'KEEP_BASTION_RUNNING', context: 'keepBastionRunning' },
  ecsInstanceType: { env: 'ECS_INSTANCE_TYPE', context: 'ecsInstanceType' },
  ecsMinCapacity: { env: 'ECS_MIN_CAPACITY', context: 'ecsMinCapacity' },
  ecsMaxCapacity: { env: 'ECS_MAX_CAPACITY', context: 'ecsMaxCapacity' },
  appImage: { env: 'APP_IMAGE', context: 'appImage' },
  identityRotationDays: { env: 'IDENTITY_ROTATION_DAYS', context: 'identityRotationDays' },
} as const satisfies Record<string, SettingName>;

/** A raw value and the label that names where it came from, for error messages. */
interface RawValue {
  readonly label: string;
  readonly value: string;
}

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = {
  '1': true,
  true: true,
  yes: true,
  '0': false,
  false: false,
  no: false,
};

const SOLUTION_ID = /^[a-z][a-z0-9-]{0,31}$/;
// EC2 key pair names: up to 255 ASCII characters (EC2 API reference, CreateKeyPair).
const KEY_PAIR_NAME = /^[\x20-\x7e]{1,255}$/;
// An EC2 or RDS instance type without the `db.` prefix: family (with generation digit and attribute letters), a dot, a size.
const INSTANCE_TYPE = /^[a-z]+[0-9][a-z0-9-]*\.[a-z0-9]+$/;
// Graviton families have a `g` among the attribute letters after the generation digit (t4g, m7gd, c6gn).
const GRAVITON_FAMILY = /^[a-z]+[0-9][a-z-]*g[a-z-]*\./;
// A container image reference: optional registry host[:port]/, lowercase path components, optional :tag and @sha256 digest.
const IMAGE_REFERENCE =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/**
 * Reads every setting once, validates it and returns the readonly settings object.
 *
 * @throws SettingsError with one line naming the setting, the value and what is allowed.
 */
export function parseSettings(sources: SettingsSources): Settings {
  const raw = (name: SettingName): RawValue | undefined => readRaw(sources, name);
  const n = SETTING_NAMES;

  const solutionId = parseSolutionId(raw(n.solutionId));
  const domainJoinEcs = parseBoolean(raw(n.domainJoinEcs));
  const fargate = parseBoolean(raw(n.fargate));
  const credSpecFromS3 = parseBoolean(raw(n.credSpecFromS3));
  const deployApp = parseBoolean(raw(n.deployApp));
  const ec2InstanceKeyPairName = parseKeyPairName(raw(n.ec2InstanceKeyPairName));
  const mySgIngressCidr = parseIngressCidr(raw(n.mySgIngressIp));
  const natGateways = parseInteger(raw(n.natGateways), 1, 2) ?? DEFAULT_SETTINGS.natGateways;
  const dbInstanceType = parseInstanceType(raw(n.dbInstanceType), false) ?? DEFAULT_SETTINGS.dbInstanceType;
  const dbEngineVersion = parseEngineVersion(raw(n.dbEngineVersion)) ?? DEFAULT_SETTINGS.dbEngineVersion;
  const keepBastionRunning = parseBoolean(raw(n.keepBastionRunning)).value ?? DEFAULT_SETTINGS.keepBastionRunning;
  const ecsInstanceType = parseInstanceType(raw(n.ecsInstanceType), true) ?? DEFAULT_SETTINGS.ecsInstanceType;
  const ecsMinRaw = raw(n.ecsMinCapacity);
  const ecsMaxRaw = raw(n.ecsMaxCapacity);
  const ecsMinCapacity = parseInteger(ecsMinRaw, 0, 10) ?? DEFAULT_SETTINGS.ecsMinCapacity;
  const ecsMaxCapacity = parseInteger(ecsMaxRaw, 1, 10) ?? Math.max(DEFAULT_SETTINGS.ecsMaxCapacity, ecsMinCapacity);
  const appImage = parseImage(raw(n.appImage));
  const identityRotationDays =
    parseInteger(raw(n.identityRotationDays), 1, 365) ?? DEFAULT_SETTINGS.identityRotationDays;

  if (fargate.value && domainJoinEcs.value) {
    throw new SettingsError(
      `Invalid combination ${fargate.label}=${quote(fargate.text)} with ${domainJoinEcs.label}=${quote(domainJoinEcs.text)}: ` +
        'Fargate supports only domainless gMSA; turn one of them off.',
    );
  }
  if (fargate.value && credSpecFromS3.value === false) {
    throw new SettingsError(
      `Invalid combination ${fargate.label}=${quote(fargate.text)} with ${credSpecFromS3.label}=${quote(credSpecFromS3.text)}: ` +
        'Fargate reads the CredSpec only from S3; leave CREDSPEC_FROM_S3 unset or set it to 1.',
    );
  }
  if (ecsMinCapacity > ecsMaxCapacity) {
    const label = ecsMaxRaw?.label ?? ecsMinRaw?.label ?? n.ecsMinCapacity.env;
    throw new SettingsError(
      `Invalid setting ${label}: ECS_MIN_CAPACITY (${ecsMinCapacity}) must not exceed ECS_MAX_CAPACITY (${ecsMaxCapacity}).`,
    );
  }

  return Object.freeze({
    solutionId,
    domainJoinEcs: domainJoinEcs.value ?? DEFAULT_SETTINGS.domainJoinEcs,
    fargate: fargate.value ?? DEFAULT_SETTINGS.fargate,
    // Fargate reads CredSpecs only from S3, so S3 is the default there.
    credSpecFromS3: credSpecFromS3.value ?? (fargate.value === true || DEFAULT_SETTINGS.credSpecFromS3),
    deployApp: deployApp.value ?? DEFAULT_SETTINGS.deployApp,
    ec2InstanceKeyPairName,
    mySgIngressCidr,
    natGateways,
    dbInstanceType,
    dbEngineVersion,
    keepBastionRunning,
    ecsInstanceType,
    ecsMinCapacity,
    ecsMaxCapacity,
    appImage,
    identityRotationDays,
  });
}

/** The notices synth prints once, for settings whose absence changes what is reachable. */
export function settingsNotices(settings: Settings): string[] {
  const notices: string[] = [];
  if (settings.ec2InstanceKeyPairName === undefined) {
    notices.push(
      'Notice: EC2_INSTANCE_KEYPAIR_NAME is not set: the Windows bastion has no key pair; reach it through Systems Manager Session Manager.',
    );
  }
  if (settings.mySgIngressCidr === undefined) {
    notices.push(
      'Notice: MY_SG_INGRESS_IP is not set: nothing may RDP to the bastion' +
        (settings.deployApp ? ' and the application load balancer is open to the internet on port 80.' : '.'),
    );
  }
  return notices;
}

function readRaw(sources: SettingsSources, name: SettingName): RawValue | undefined {
  const fromContext = sources.context?.[name.context];
  if (fromContext !== undefined && fromContext !== null) {
    const value = (typeof fromContext === 'string' ? fromContext : JSON.stringify(fromContext)).trim();
    if (value !== '') return { label: `-c ${name.context}`, value };
  }
  const fromEnv = sources.env[name.env]?.trim();
  return fromEnv ? { label: name.env, value: fromEnv } : undefined;
}

function quote(value: string): string {
  return JSON.stringify(value);
}

function invalid(raw: RawValue, allowed: string): SettingsError {
  return new SettingsError(`Invalid setting ${raw.label}=${quote(raw.value)}: ${allowed}`);
}

interface ParsedBoolean {
  readonly value?: boolean;
  readonly label: string;
  readonly text: string;
}

function parseBoolean(raw: RawValue | undefined): ParsedBoolean {
  if (raw === undefined) return { label: '', text: '' };
  const value = BOOLEAN_WORDS[raw.value.toLowerCase()];
  if (value === undefined) {
    throw invalid(raw, 'expected 0, 1, true, false, yes or no (any case), or empty for unset.');
  }
  return { value, label: raw.label, text: raw.value };
}

function parseSolutionId(raw: RawValue | undefined): string {
  if (raw === undefined) return DEFAULT_SETTINGS.solutionId;
  if (!SOLUTION_ID.test(raw.value)) {
    throw invalid(
      raw,
      'expected lowercase letters, digits and hyphens, starting with a letter, at most 32 characters.',
    );
  }
  return raw.value;
}

function parseKeyPairName(raw: RawValue | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!KEY_PAIR_NAME.test(raw.value)) {
    throw invalid(raw, 'expected the name of an EC2 key pair: 1 to 255 printable ASCII characters.');
  }
  return raw.value;
}

/** An IPv4 address becomes a /32; a CIDR keeps its prefix, which must be 1..32 (a /0 would open RDP to everyone). */
function parseIngressCidr(raw: RawValue | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const allowed = 'expected your public IPv4 address (e.g. 203.0.113.10) or an IPv4 CIDR with a prefix of /1 to /32.';
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(raw.value);
  if (!match) throw invalid(raw, allowed);
  const octets = match.slice(1, 5).map(Number);
  if (octets.some((o, i) => o > 255 || String(o) !== match[i + 1])) throw invalid(raw, allowed);
  const prefix = match[5] === undefined ? 32 : Number(match[5]);
  if (prefix < 1 || prefix > 32 || (match[5] !== undefined && String(prefix) !== match[5])) throw invalid(raw, allowed);
  return `${octets.join('.')}/${prefix}`;
}

function parseInteger(raw: RawValue | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw.value) ? Number(raw.value) : NaN;
  if (!(value >= min && value <= max)) throw invalid(raw, `expected a whole number from ${min} to ${max}.`);
  return value;
}

function parseInstanceType(raw: RawValue | undefined, x86Only: boolean): string | undefined {
  if (raw === undefined) return undefined;
  const value = raw.value.toLowerCase().replace(/^db\./, '');
  if (!INSTANCE_TYPE.test(value)) throw invalid(raw, 'expected an instance type such as t3.small or m6i.large.');
  if (x86Only && GRAVITON_FAMILY.test(value)) {
    throw invalid(raw, 'expected an x86_64 instance type (credentials-fetcher hosts are x86_64), not a Graviton type.');
  }
  return value;
}

function parseEngineVersion(raw: RawValue | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!SQL_SERVER_VERSION_PATTERN.test(raw.value)) {
    throw invalid(
      raw,
      'expected a SQL Server major version such as 16.00, or a full RDS version such as 16.00.4236.2.v1.',
    );
  }
  return raw.value;
}

function parseImage(raw: RawValue | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.value.length > 512 || !IMAGE_REFERENCE.test(raw.value)) {
    throw invalid(
      raw,
      'expected a container image reference such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/web-site:1.0.',
    );
  }
  return raw.value;
}
