import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ec2TaskCapacityProblem } from '../lib/constructs/gmsa-web-app-capacity';
import {
  CREDENTIALS_FETCHER_VERSION_PATTERN,
  DEFAULT_SETTINGS,
  Settings,
  TICKET_SOURCES,
  TicketSource,
} from '../lib/settings';
import { describeSqlServerWebClasses, INSTANCE_TYPE, isArmInstanceType, isSqlServerWebClass } from './instance-types';
import { ingressCidrProblem, nonPublicRange, parseIpv4Cidr } from './ingress-cidr';
import { sqlServerVersionProblem } from './sql-server-versions';
import { closest, suggestion } from './typos';

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
  /**
   * The context of the files the CDK CLI merges into `context`, highest precedence first (see {@link readContextFiles}).
   * Only to name where a value came from: a value equal to a file's is labelled with that file, any other with `-c`.
   */
  readonly contextFiles?: readonly ContextFile[];
}

/** One file's `context` object, e.g. cdk.json's. */
export interface ContextFile {
  /** The file as a user names it: `cdk.json`, `cdk.context.json`, `~/.cdk.json`. */
  readonly name: string;
  readonly context: Readonly<Record<string, unknown>>;
}

/**
 * The files the CDK CLI reads context from besides `-c`, in its order of precedence after the command line: the
 * project's cdk.json (its `context` key), cdk.context.json (the whole file), then ~/.cdk.json (its `context` key)
 * (aws-cdk CLI `Configuration.loadConfigFiles`). A file that is missing or is not JSON counts as empty.
 */
export function readContextFiles(projectDir: string, homeDir: string = os.homedir()): ContextFile[] {
  const read = (file: string): Record<string, unknown> => {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  const contextOf = (config: Record<string, unknown>) =>
    typeof config.context === 'object' && config.context !== null ? (config.context as Record<string, unknown>) : {};
  return [
    { name: 'cdk.json', context: contextOf(read(path.join(projectDir, 'cdk.json'))) },
    { name: 'cdk.context.json', context: read(path.join(projectDir, 'cdk.context.json')) },
    { name: '~/.cdk.json', context: contextOf(read(path.join(homeDir, '.cdk.json'))) },
  ];
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
  bastionAmiId: { env: 'BASTION_AMI_ID', context: 'bastionAmiId' },
  bastionRdpCidr: { env: 'BASTION_RDP_CIDR', context: 'bastionRdpCidr' },
  bastionMaintenance: { env: 'BASTION_MAINTENANCE', context: 'bastionMaintenance' },
  ecsInstanceType: { env: 'ECS_INSTANCE_TYPE', context: 'ecsInstanceType' },
  ecsMinCapacity: { env: 'ECS_MIN_CAPACITY', context: 'ecsMinCapacity' },
  ecsMaxCapacity: { env: 'ECS_MAX_CAPACITY', context: 'ecsMaxCapacity' },
  appImage: { env: 'APP_IMAGE', context: 'appImage' },
  identityRotationDays: { env: 'IDENTITY_ROTATION_DAYS', context: 'identityRotationDays' },
  certificateArn: { env: 'CERTIFICATE_ARN', context: 'certificateArn' },
  credentialsFetcherVersion: { env: 'CREDENTIALS_FETCHER_VERSION', context: 'credentialsFetcherVersion' },
  alarmEmail: { env: 'ALARM_EMAIL', context: 'alarmEmail' },
  ticketSource: { env: 'TICKET_SOURCE', context: 'ticketSource' },
  ecsExec: { env: 'ECS_EXEC', context: 'ecsExec' },
} as const satisfies Record<string, SettingName>;

type SettingKey = keyof typeof SETTING_NAMES;

/**
 * Context keys that belong to CDK, not to this app: feature flags (`@aws-cdk/...`, all of cdk.json's context), keys the
 * CLI and the library set (`aws:cdk:...`, `aws-cdk:...`, `cdk-...`), cached look-ups from cdk.context.json (they contain
 * a colon, e.g. `availability-zones:account=...:region=...`) and two keys the CLI keeps in context.
 */
function isCdkContextKey(key: string): boolean {
  return (
    key.startsWith('@') ||
    key.includes(':') ||
    /^(?:aws-)?cdk/.test(key) ||
    key === 'acknowledged-issue-numbers' ||
    key === 'cli-telemetry'
  );
}

/**
 * Settings that do nothing in some modes; setting one there gets a notice, since the user expected an effect.
 * `because` completes "does nothing ...".
 */
const INERT_SETTINGS: ReadonlyArray<{
  readonly settings: readonly SettingKey[];
  readonly when: (settings: Settings) => boolean;
  readonly because: string;
}> = [
  {
    settings: ['ecsInstanceType', 'ecsMinCapacity', 'ecsMaxCapacity'],
    when: (s) => s.fargate,
    because: 'with FARGATE=1: the tasks run on Fargate and there are no EC2 container instances',
  },
  {
    settings: ['identityRotationDays'],
    when: (s) => s.domainJoinEcs,
    because: 'with DOMAIN_JOIN_ECS=1: there is no domainless identity to rotate',
  },
  {
    settings: ['credentialsFetcherVersion'],
    when: (s) => s.fargate,
    because: 'with FARGATE=1: there are no EC2 container instances to install credentials-fetcher on',
  },
  {
    settings: ['appImage', 'credSpecFromS3', 'certificateArn', 'ecsExec'],
    when: (s) => !s.deployApp,
    because: 'without DEPLOY_APP=1: there is no application stack',
  },
  {
    settings: ['mySgIngressIp'],
    when: (s) => !s.deployApp,
    because:
      "without DEPLOY_APP=1: it shapes only the load balancer's ingress; RDP to the bastion is BASTION_RDP_CIDR " +
      '(docs/bastion.md)',
  },
  {
    settings: ['credentialsFetcherVersion', 'credSpecFromS3'],
    when: (s) => s.ticketSource === 'sidecar',
    because: 'with TICKET_SOURCE=sidecar: no gMSA, no CredSpec and no credentials-fetcher',
  },
];

/** An environment variable this close to a setting's name (case-insensitive edit distance) is taken for a typo. */
const TYPO_DISTANCE = 2;

/**
 * A raw value, the name it was given by (`FARGATE`, `-c fargate`, or the context key `fargate` of a file) and the file
 * it came from, for messages.
 */
interface RawValue {
  readonly label: string;
  readonly value: string;
  /** ` in cdk.json` and the like for a value from a context file; empty for the environment and `-c`. */
  readonly where: string;
}

/** Values longer than this are cut in messages: a message stays one readable line whatever was pasted (an ACM
 * certificate ARN, about 90 characters, is still shown whole). */
const MAX_SHOWN_VALUE = 100;

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = {
  '1': true,
  true: true,
  yes: true,
  '0': false,
  false: false,
  no: false,
};

const SOLUTION_ID_ALLOWED =
  'expected lowercase letters, digits and single hyphens, starting with a letter and ending with a letter or digit, ' +
  'at most 32 characters, not starting with aws, ssm or sthree';

/**
 * SOLUTION_ID is the prefix of names that AWS checks at deploy time; each rule says which name would break, so the
 * parser refuses the id at synth instead. Checked in order; the first broken rule names its reason.
 */
const SOLUTION_ID_RULES: ReadonlyArray<{
  readonly broken: (id: string) => boolean;
  readonly why: (id: string) => string;
}> = [
  {
    // Stack names, the ECR repository `<id>/web-site`, the directory's DNS name `directory.<id>.com`.
    broken: (id) => !/^[a-z][a-z0-9-]*$/.test(id),
    why: () => 'names built from it allow only these characters',
  },
  {
    // The directory's DNS name `directory.<id>.com` must stay within 47 characters for RDS for SQL Server Kerberos,
    // which allows 33; the limit has been 32 since the first release.
    broken: (id) => id.length > 32,
    why: (id) => `it has ${id.length} characters`,
  },
  {
    // RDS DB instance identifiers: no two consecutive hyphens, no trailing hyphen; the ECR repository `<id>/web-site`
    // allows only one separator between letters or digits too.
    // https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
    broken: (id) => id.includes('--') || id.endsWith('-'),
    why: (id) => `the RDS instance identifier "${id}-sql" would contain "--"`,
  },
  {
    // SSM parameter names may not begin with aws or ssm (case-insensitive; `/aws/...` holds AWS's public parameters).
    // The CredSpec parameter is `/<id>/credspec`: refused for its first level too, the safe reading of the rule.
    // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
    broken: (id) => /^(?:aws|ssm)/.test(id),
    why: (id) => `the SSM parameter "/${id}/credspec" may not start with aws or ssm`,
  },
  {
    // CloudFormation derives the CredSpec buckets' names from the stack name `<id>-directory`; S3 reserves the prefixes
    // sthree- and amzn-s3-demo-. https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
    broken: (id) => /^(?:sthree-|amzn-s3-demo-)/.test(`${id}-`),
    why: (id) =>
      `S3 bucket names derived from the stack name "${id}-directory" may not start with sthree- or amzn-s3-demo-`,
  },
];

// EC2 key pair names: up to 255 ASCII characters (EC2 API reference, CreateKeyPair).
const KEY_PAIR_NAME = /^[\x20-\x7e]{1,255}$/;
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
  checkContextKeys(sources);

  const solutionId = parseSolutionId(raw(n.solutionId));
  const domainJoinEcs = parseBoolean(raw(n.domainJoinEcs));
  const fargate = parseBoolean(raw(n.fargate));
  const credSpecFromS3 = parseBoolean(raw(n.credSpecFromS3));
  const deployApp = parseBoolean(raw(n.deployApp));
  const ec2InstanceKeyPairName = parseKeyPairName(raw(n.ec2InstanceKeyPairName));
  const mySgIngressCidr = parseIngressCidr(raw(n.mySgIngressIp));
  const natGateways = parseInteger(raw(n.natGateways), 1, 2) ?? DEFAULT_SETTINGS.natGateways;
  const dbInstanceType = parseDbInstanceClass(raw(n.dbInstanceType)) ?? DEFAULT_SETTINGS.dbInstanceType;
  const dbEngineVersion = parseEngineVersion(raw(n.dbEngineVersion)) ?? DEFAULT_SETTINGS.dbEngineVersion;
  const keepBastionRunning = parseBoolean(raw(n.keepBastionRunning)).value ?? DEFAULT_SETTINGS.keepBastionRunning;
  const bastionAmiId = parseBastionAmiId(raw(n.bastionAmiId));
  const bastionRdpCidr = parseBastionRdpCidr(raw(n.bastionRdpCidr));
  const bastionMaintenance = parseBoolean(raw(n.bastionMaintenance)).value ?? DEFAULT_SETTINGS.bastionMaintenance;
  // Settings that do nothing in the chosen mode get a notice (settingsNotices), never a refusal for that mode.
  const ecsInstanceType =
    parseEc2InstanceType(raw(n.ecsInstanceType), fargate.value === true) ?? DEFAULT_SETTINGS.ecsInstanceType;
  const ecsMinRaw = raw(n.ecsMinCapacity);
  const ecsMaxRaw = raw(n.ecsMaxCapacity);
  const ecsMinCapacity = parseInteger(ecsMinRaw, 0, 10) ?? DEFAULT_SETTINGS.ecsMinCapacity;
  const ecsMaxCapacity = parseInteger(ecsMaxRaw, 1, 10) ?? Math.max(DEFAULT_SETTINGS.ecsMaxCapacity, ecsMinCapacity);
  const appImage = parseImage(raw(n.appImage));
  const identityRotationDays =
    parseInteger(raw(n.identityRotationDays), 1, 365) ?? DEFAULT_SETTINGS.identityRotationDays;
  const certificateArn = parseCertificateArn(raw(n.certificateArn), deploymentRegion(sources.env));
  const credentialsFetcherVersion =
    parseCredentialsFetcherVersion(raw(n.credentialsFetcherVersion)) ?? DEFAULT_SETTINGS.credentialsFetcherVersion;
  const alarmEmail = parseAlarmEmail(raw(n.alarmEmail));
  const ticketSourceRaw = raw(n.ticketSource);
  const ticketSource = parseTicketSource(ticketSourceRaw) ?? DEFAULT_SETTINGS.ticketSource;
  const ecsExec = parseBoolean(raw(n.ecsExec)).value ?? DEFAULT_SETTINGS.ecsExec;

  if (fargate.raw && fargate.value && domainJoinEcs.raw && domainJoinEcs.value) {
    throw new SettingsError(
      `Invalid combination ${shown(fargate.raw)} with ${shown(domainJoinEcs.raw)}: ` +
        'Fargate supports only domainless gMSA; turn one of them off.',
    );
  }
  if (fargate.raw && fargate.value && credSpecFromS3.raw && credSpecFromS3.value === false) {
    throw new SettingsError(
      `Invalid combination ${shown(fargate.raw)} with ${shown(credSpecFromS3.raw)}: ` +
        'Fargate reads the CredSpec only from S3; leave CREDSPEC_FROM_S3 unset or set it to 1.',
    );
  }
  refuseSidecarWithDomainJoin(ticketSourceRaw, ticketSource, domainJoinEcs);
  // On Fargate the capacities do nothing (a notice says so), so they need not agree either.
  if (!fargate.value && ecsMinCapacity > ecsMaxCapacity) {
    const culprit = ecsMaxRaw ?? ecsMinRaw;
    const label = culprit ? `${culprit.label}${culprit.where}` : n.ecsMinCapacity.env;
    throw new SettingsError(
      `Invalid setting ${label}: ECS_MIN_CAPACITY (${ecsMinCapacity}) must not exceed ECS_MAX_CAPACITY (${ecsMaxCapacity}).`,
    );
  }

  refuseHostsTooSmallForTheApp(fargate.value === true, ecsInstanceType, ecsMaxCapacity);

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
    bastionAmiId,
    bastionRdpCidr,
    bastionMaintenance,
    ecsInstanceType,
    ecsMinCapacity,
    ecsMaxCapacity,
    appImage,
    identityRotationDays,
    certificateArn,
    credentialsFetcherVersion,
    alarmEmail,
    ticketSource,
    ecsExec,
  });
}

/**
 * The notices synth prints once: settings whose absence changes what is reachable and, given the sources, environment
 * variables that look like a misspelt setting, settings that do nothing in the chosen mode and what the ingress CIDR
 * was taken to mean.
 */
export function settingsNotices(settings: Settings, sources?: SettingsSources): string[] {
  const notices: string[] = sources
    ? [...typoNotices(sources.env), ...inertNotices(settings, sources), ...ingressNotices(settings, sources)]
    : [];
  if (settings.ec2InstanceKeyPairName === undefined) {
    notices.push(
      'Notice: EC2_INSTANCE_KEYPAIR_NAME is not set: the Windows bastion has no key pair; reach it through Systems Manager Session Manager.',
    );
  }
  if (settings.mySgIngressCidr === undefined && settings.deployApp) {
    notices.push(
      'Notice: MY_SG_INGRESS_IP is not set: the application load balancer is open to the internet on port 80.',
    );
  }
  if (settings.bastionMaintenance) {
    notices.push(
      'Notice: BASTION_MAINTENANCE is on: the bastion may read the AD admin, seamless-join, identity and SQL Server ' +
        'secrets; deploy again without it when the maintenance is done (docs/bastion.md).',
    );
  }
  return notices;
}

/**
 * Refuses a context key (from `-c` or a context file) that is neither a setting's nor CDK's, naming the setting it
 * resembles if one is close enough to be meant.
 */
function checkContextKeys(sources: SettingsSources): void {
  const context = sources.context ?? {};
  const known: string[] = Object.values(SETTING_NAMES).map((name) => name.context);
  for (const [key, value] of Object.entries(context)) {
    if (known.includes(key) || isCdkContextKey(key)) continue;
    const raw = rawContextValue(sources, key, value);
    const meant = suggestion(key, known);
    const prefix = raw.where ? '' : '-c ';
    throw new SettingsError(
      `Unknown setting ${shown({ ...raw, label: `${prefix}${cut(key)}` })}: ` +
        (meant ? `did you mean ${prefix}${meant}? ` : '') +
        `This app's context keys are ${known.join(', ')}.`,
    );
  }
}

/**
 * Notices of environment variables that are not settings but within {@link TYPO_DISTANCE} of one (`FARGTE`,
 * `fargate`): such a setting would otherwise be ignored without a word. `npm run verify` prints them too.
 */
export function typoNotices(env: SettingsSources['env']): string[] {
  const names: string[] = Object.values(SETTING_NAMES).map((name) => name.env);
  const variables = Object.keys(env);
  // On Windows, Node reads environment variables case-insensitively: `fargate` there IS FARGATE, and is read.
  const readAsSetting = (variable: string) => {
    const upper = variable.toUpperCase();
    return names.includes(upper) && !variables.includes(upper) && env[upper] !== undefined;
  };
  return variables
    .filter((variable) => !names.includes(variable) && env[variable]?.trim() && !readAsSetting(variable))
    .map((variable) => ({ variable, nearest: closest(variable, names) }))
    .filter(({ nearest }) => nearest.distance <= TYPO_DISTANCE)
    .map(
      ({ variable, nearest }) =>
        `Notice: environment variable ${variable} is not a setting and is ignored: did you mean ${nearest.name}?`,
    );
}

function inertNotices(settings: Settings, sources: SettingsSources): string[] {
  return INERT_SETTINGS.filter((rule) => rule.when(settings)).flatMap((rule) =>
    rule.settings.flatMap((key) => {
      const raw = readRaw(sources, SETTING_NAMES[key]);
      return raw ? [`Notice: ${shown(raw)} does nothing ${rule.because}.`] : [];
    }),
  );
}

/** What each ingress CIDR was taken to mean: host bits cleared, and an address the internet does not route. */
function ingressNotices(settings: Settings, sources: SettingsSources): string[] {
  return [
    ...ingressNoticesOf(readRaw(sources, SETTING_NAMES.mySgIngressIp), settings.mySgIngressCidr),
    ...ingressNoticesOf(readRaw(sources, SETTING_NAMES.bastionRdpCidr), settings.bastionRdpCidr),
  ];
}

function ingressNoticesOf(raw: RawValue | undefined, cidr: string | undefined): string[] {
  if (raw === undefined || cidr === undefined) return [];
  const notices: string[] = [];
  const given = parseIpv4Cidr(raw.value);
  if (given?.prefix !== undefined && `${given.address}/${given.prefix}` !== cidr) {
    notices.push(
      `Notice: ${shown(raw)} has host bits set: using the network ${cidr}; for that one address use ${given.address}/32.`,
    );
  }
  const range = nonPublicRange(cidr);
  if (range !== undefined) {
    notices.push(
      `Notice: ${shown(raw)} is ${range}, not an address the internet sees: it admits only traffic that reaches the ` +
        'VPC from that network (e.g. over a VPN); from the internet use your public address (https://checkip.amazonaws.com).',
    );
  }
  return notices;
}

function readRaw(sources: SettingsSources, name: SettingName): RawValue | undefined {
  const fromContext = sources.context?.[name.context];
  if (fromContext !== undefined && fromContext !== null) {
    const raw = rawContextValue(sources, name.context, fromContext);
    if (raw.value !== '') return raw;
  }
  const fromEnv = sources.env[name.env]?.trim();
  return fromEnv ? { label: name.env, value: fromEnv, where: '' } : undefined;
}

/**
 * A context value with where it came from: the first context file (in the CLI's precedence) that holds the key, if it
 * holds this very value; otherwise the command line, which overrides every file.
 */
function rawContextValue(sources: SettingsSources, key: string, value: unknown): RawValue {
  const text = (typeof value === 'string' ? value : (JSON.stringify(value) ?? '')).trim();
  const file = sources.contextFiles?.find((candidate) => Object.prototype.hasOwnProperty.call(candidate.context, key));
  if (file !== undefined && JSON.stringify(file.context[key]) === JSON.stringify(value)) {
    return { label: key, value: text, where: ` in ${file.name}` };
  }
  return { label: `-c ${key}`, value: text, where: '' };
}

/** `NAME="value"`, `-c key="value"` or `key="value" in cdk.json`, with a long value cut. */
function shown(raw: RawValue): string {
  return `${raw.label}=${quote(raw.value)}${raw.where}`;
}

/** The value in double quotes; a value over {@link MAX_SHOWN_VALUE} characters is cut and its length given. */
function quote(value: string): string {
  if (value.length <= MAX_SHOWN_VALUE) return JSON.stringify(value);
  return `${JSON.stringify(`${value.slice(0, MAX_SHOWN_VALUE)}…`)} (${value.length} characters)`;
}

/** A name (a context key) cut like a value. */
function cut(name: string): string {
  return name.length <= MAX_SHOWN_VALUE ? name : `${name.slice(0, MAX_SHOWN_VALUE)}… (${name.length} characters)`;
}

function invalid(raw: RawValue, allowed: string): SettingsError {
  return new SettingsError(`Invalid setting ${shown(raw)}: ${allowed}`);
}

interface ParsedBoolean {
  readonly value?: boolean;
  /** Undefined when the setting is unset. */
  readonly raw?: RawValue;
}

function parseBoolean(raw: RawValue | undefined): ParsedBoolean {
  if (raw === undefined) return {};
  const value = BOOLEAN_WORDS[raw.value.toLowerCase()];
  if (value === undefined) {
    throw invalid(raw, 'expected 0, 1, true, false, yes or no (any case), or empty for unset.');
  }
  return { value, raw };
}

function parseSolutionId(raw: RawValue | undefined): string {
  if (raw === undefined) return DEFAULT_SETTINGS.solutionId;
  const broken = SOLUTION_ID_RULES.find((rule) => rule.broken(raw.value));
  if (broken) throw invalid(raw, `${SOLUTION_ID_ALLOWED} (${broken.why(raw.value)}).`);
  return raw.value;
}

function parseKeyPairName(raw: RawValue | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!KEY_PAIR_NAME.test(raw.value)) {
    throw invalid(raw, 'expected the name of an EC2 key pair: 1 to 255 printable ASCII characters.');
  }
  return raw.value;
}

// --- BASTION_AMI_ID (docs/bastion.md: moving the bastion to a newer AMI on purpose) ---------------------------------
/** An EC2 AMI id: `ami-` and 8 or 17 hexadecimal digits (EC2 API reference, Image.ImageId). */
const AMI_ID = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** The Windows Server 2022 AMI the bastion launches from; unset, EC2 picks the latest one at launch and keeps it. */
function parseBastionAmiId(raw: RawValue | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!AMI_ID.test(raw.value)) {
    throw invalid(raw, 'expected a Windows Server 2022 AMI id of this region: ami- and 8 or 17 hexadecimal digits.');
  }
  return raw.value;
}
// --- end BASTION_AMI_ID ----------------------------------------------------------------------------------------------

// --- BASTION_RDP_CIDR, BASTION_MAINTENANCE (docs/bastion.md) -----------------------------------------------------------
/**
 * The one source that may RDP to the bastion, parsed and bounded like MY_SG_INGRESS_IP (bin/ingress-cidr.ts); it puts
 * the bastion in a public subnet. BASTION_MAINTENANCE is a plain boolean (parseBoolean).
 */
function parseBastionRdpCidr(raw: RawValue | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const problem = ingressCidrProblem(raw.value, 'RDP (3389) to the bastion');
  if (problem.refused !== undefined) throw invalid(raw, problem.refused);
  return problem.cidr;
}
// --- end BASTION_RDP_CIDR, BASTION_MAINTENANCE -------------------------------------------------------------------------

/**
 * An IPv4 address becomes a /32; a CIDR keeps its prefix, bounded (bin/ingress-cidr.ts), and loses its host bits
 * (EC2 would store `203.0.113.0/24` for `203.0.113.10/24` anyway; a notice says so).
 */
function parseIngressCidr(raw: RawValue | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const problem = ingressCidrProblem(raw.value, 'port 80');
  if (problem.refused !== undefined) throw invalid(raw, problem.refused);
  return problem.cidr;
}

function parseInteger(raw: RawValue | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw.value) ? Number(raw.value) : NaN;
  if (!(value >= min && value <= max)) throw invalid(raw, `expected a whole number from ${min} to ${max}.`);
  return value;
}

/** The instance type without an optional `db.` prefix, lowercase, checked for its shape. */
function instanceTypeOf(raw: RawValue): string {
  const value = raw.value.toLowerCase().replace(/^db\./, '');
  if (!INSTANCE_TYPE.test(value)) throw invalid(raw, 'expected an instance type such as t3.small or m6i.large.');
  return value;
}

/**
 * An EC2 instance type. A `db.` class is refused in every mode (it is an RDS name, never an EC2 one); the architecture
 * only matters on EC2: with FARGATE the setting does nothing, and a notice says so.
 */
function parseEc2InstanceType(raw: RawValue | undefined, fargate: boolean): string | undefined {
  if (raw === undefined) return undefined;
  if (/^db\./i.test(raw.value)) {
    throw invalid(raw, 'expected an EC2 instance type such as t3.medium, not an RDS DB instance class (db.…).');
  }
  const value = instanceTypeOf(raw);
  if (!fargate && isArmInstanceType(value)) {
    throw invalid(
      raw,
      'expected an x86_64 instance type (credentials-fetcher hosts are x86_64), not an Arm type such as a1, t4g or m7g.',
    );
  }
  return value;
}

function parseDbInstanceClass(raw: RawValue | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const value = instanceTypeOf(raw);
  if (isArmInstanceType(value)) {
    throw invalid(
      raw,
      'expected an x86_64 DB instance class (RDS runs SQL Server on x86_64 only), not an Arm class such as db.m6g or db.t4g.',
    );
  }
  if (!isSqlServerWebClass(value)) {
    throw invalid(raw, `expected a class RDS offers for SQL Server Web edition: ${describeSqlServerWebClasses()}.`);
  }
  return value;
}

function parseEngineVersion(raw: RawValue | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const problem = sqlServerVersionProblem(raw.value);
  if (problem !== undefined) throw invalid(raw, `expected ${problem}`);
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

/**
 * EC2 only: the container instances at ECS_MAX_CAPACITY must hold a rolling deployment of the web app's awsvpc tasks,
 * and the instance type must be one whose network-interface count the app knows (lib/constructs/gmsa-web-app-capacity.ts).
 */
function refuseHostsTooSmallForTheApp(fargate: boolean, instanceType: string, maxHosts: number): void {
  if (fargate) return;
  const problem = ec2TaskCapacityProblem(instanceType, maxHosts);
  if (problem !== undefined) throw new SettingsError(`Invalid combination: ${problem}`);
}

// ---- CERTIFICATE_ARN ----------------------------------------------------------------------------------------------

/**
 * An ACM certificate ARN: partition, region, account, `certificate/<id>`.
 * https://docs.aws.amazon.com/acm/latest/userguide/acm-concepts.html (ARN format)
 */
const CERTIFICATE_ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso(?:-[a-z])?):acm:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):certificate\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * The region `cdk deploy` deploys to, when the environment says: the CLI sets CDK_DEFAULT_REGION from the profile,
 * and AWS_REGION / AWS_DEFAULT_REGION are the SDK's. Absent in tests and on machines without a configured region.
 */
function deploymentRegion(env: SettingsSources['env']): string | undefined {
  return [env.CDK_DEFAULT_REGION, env.AWS_REGION, env.AWS_DEFAULT_REGION].map((r) => r?.trim()).find((r) => r);
}

/**
 * CERTIFICATE_ARN: an ACM certificate for the load balancer's HTTPS listener. A load balancer can use only a
 * certificate of its own region, so when the deployment's region is known the ARN must name it.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html
 */
function parseCertificateArn(raw: RawValue | undefined, region: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const match = CERTIFICATE_ARN.exec(raw.value);
  if (!match) {
    throw invalid(
      raw,
      'expected an ACM certificate ARN such as arn:aws:acm:us-east-1:123456789012:certificate/0c3f6a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f.',
    );
  }
  if (region !== undefined && match[2] !== region) {
    throw invalid(
      raw,
      `the certificate is in ${match[2]} but the deployment goes to ${region}; a load balancer uses a certificate of its own region.`,
    );
  }
  return raw.value;
}

/** The credentials-fetcher version hosts install; the host script fails with one line when the repositories lack it. */
function parseCredentialsFetcherVersion(raw: RawValue | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!CREDENTIALS_FETCHER_VERSION_PATTERN.test(raw.value)) {
    throw invalid(
      raw,
      'expected a credentials-fetcher version from the Amazon Linux 2023 repositories, e.g. 2.0.1 or 2.0.1-1.amzn2023.0.5.',
    );
  }
  return raw.value;
}

// ALARM_EMAIL: the address the alarm topic subscribes. SNS accepts any string as an email endpoint and only a real
// mailbox can confirm the subscription, so a typo would go unnoticed until the first alarm: refuse what cannot be an
// address (one @, a dotted domain, no spaces or list separators, at most 254 characters as SMTP allows).
// https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html
const EMAIL_ADDRESS =
  /^[^\s@"<>,;()[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

function parseAlarmEmail(raw: RawValue | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.value.length > 254 || !EMAIL_ADDRESS.test(raw.value)) {
    throw invalid(raw, 'expected one e-mail address such as ops@example.com (the alarm topic subscribes it).');
  }
  return raw.value;
}

// --- TICKET_SOURCE (docs/sidecar.md) ---------------------------------------------------------------------------------
function parseTicketSource(raw: RawValue | undefined): TicketSource | undefined {
  if (raw === undefined) return undefined;
  const value = TICKET_SOURCES.find((source) => source === raw.value.toLowerCase());
  if (value === undefined) throw invalid(raw, `expected ${TICKET_SOURCES.join(' or ')}.`);
  return value;
}

/** The sidecar runs kinit in the task: a host joined to the directory has nothing to do for it. */
function refuseSidecarWithDomainJoin(
  raw: RawValue | undefined,
  ticketSource: TicketSource,
  domainJoinEcs: ParsedBoolean,
): void {
  if (raw && ticketSource === 'sidecar' && domainJoinEcs.raw && domainJoinEcs.value) {
    throw new SettingsError(
      `Invalid combination ${shown(raw)} with ${shown(domainJoinEcs.raw)}: ` +
        'the Kerberos sidecar gets the ticket inside the task and the hosts do not join the directory; turn one of them off.',
    );
  }
}
// --- end TICKET_SOURCE -----------------------------------------------------------------------------------------------
