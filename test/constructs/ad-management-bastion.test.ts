import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import {
  AdManagementBastion,
  AdManagementBastionProps,
  BASTION_AMI_PARAMETER,
  BASTION_DONE_MARKER,
  BASTION_RUN_BOUNDS,
  BASTION_SCRIPT_FOLDER,
  bastionRunWorstCaseMinutes,
  SQLSERVER_MODULE_VERSION,
} from '../../lib/constructs/ad-management-bastion';
import { Settings } from '../../lib/settings';
import { buildApp, settingsFor } from '../helpers/modes';

const SCRIPTS = path.join(__dirname, '..', '..', 'scripts');
const script = (name: string) => fs.readFileSync(path.join(SCRIPTS, name), 'utf8');

type Resource = { Type: string; Properties: Record<string, unknown>; CreationPolicy?: unknown };

/** The bastion instance of a database stack: its logical id and its resource. */
function bastionOf(template: Template): { id: string; resource: Resource } {
  const instances = template.findResources('AWS::EC2::Instance') as Record<string, Resource>;
  const ids = Object.keys(instances);
  expect(ids).toHaveLength(1);
  return { id: ids[0], resource: instances[ids[0]] };
}

/** The bastion's user data as text, each intrinsic replaced by `<ref>`. */
function userDataOf(resource: Resource): string {
  const parts = (resource.Properties.UserData as { 'Fn::Base64': { 'Fn::Join': [string, unknown[]] } })['Fn::Base64'][
    'Fn::Join'
  ][1];
  return parts.map((p) => (typeof p === 'string' ? p : '<ref>')).join('');
}

/** The settings file the user data writes. */
function configOf(resource: Resource): Record<string, unknown> {
  const json = userDataOf(resource).split("bastion-setup.json' -Encoding UTF8 -Value @'\n")[1].split("\n'@")[0];
  return JSON.parse(json.replace(/<ref>/g, 'REF'));
}

function databaseTemplate(overrides: Partial<Settings> = {}): Template {
  return Template.fromStack(buildApp(settingsFor('domainless-ec2-ssm', overrides)).stacks.database);
}

/** A bastion in a stack of its own, with fake references, for the construct's own checks. */
function standaloneBastion(props: Partial<AdManagementBastionProps> = {}): AdManagementBastion {
  const stack = new Stack(new App(), 'Test');
  const vpc = new ec2.Vpc(stack, 'Vpc');
  const secret = (id: string) => new secretsmanager.Secret(stack, id);
  return new AdManagementBastion(stack, 'Bastion', {
    vpc,
    directory: { directoryId: 'd-1', dnsName: 'example.com', netbiosName: 'EXAMPLE', dnsIpAddresses: [] },
    adminSecret: secret('Admin'),
    domainJoinSecret: secret('Join'),
    databaseSecret: secret('Db'),
    databaseInstanceIdentifier: 'sql',
    databaseName: 'Chinook',
    gmsaName: 'SampleWebApp',
    gmsaPrincipalsGroup: 'Group',
    credSpecTemplate: '{}',
    credSpecParameter: ssm.StringParameter.fromStringParameterName(stack, 'P', '/x/credspec'),
    credSpecBucket: s3.Bucket.fromBucketName(stack, 'B', 'bucket'),
    credSpecObjectKey: 'credspec.json',
    logGroupName: '/x/bastion',
    ...props,
  });
}

describe('AD management bastion: the image', () => {
  const template = databaseTemplate();
  const { resource } = bastionOf(template);

  test('THEN EC2 resolves the Windows Server 2022 parameter at launch: the template holds constant text, no deploy-time SSM parameter', () => {
    expect(resource.Properties.ImageId).toBe(`resolve:ssm:${BASTION_AMI_PARAMETER}`);
    const parameters = (template.toJSON().Parameters ?? {}) as Record<string, { Type: string; Default?: string }>;
    const ssmImages = Object.values(parameters).filter((p) => p.Type.includes('AWS::EC2::Image::Id'));
    expect(ssmImages).toEqual([]);
    expect(JSON.stringify(parameters)).not.toContain('ami-windows-latest');
  });

  test('GIVEN BASTION_AMI_ID THEN the template holds exactly that AMI id', () => {
    const pinned = bastionOf(databaseTemplate({ bastionAmiId: 'ami-0123456789abcdef0' }));
    expect(pinned.resource.Properties.ImageId).toBe('ami-0123456789abcdef0');
  });

  test('fails on an AMI id EC2 does not issue', () => {
    expect(() => standaloneBastion({ amiId: 'ami-XYZ' })).toThrow(
      `The bastion's AMI id "ami-XYZ" is invalid: expected ami- and 8 or 17 hexadecimal digits.`,
    );
  });
});

describe('AD management bastion: instance metadata', () => {
  test('THEN IMDSv2 is required and the response hop limit is 1, whatever the account default', () => {
    const { resource } = bastionOf(databaseTemplate());
    expect(resource.Properties.MetadataOptions).toEqual({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
  });
});

describe('AD management bastion: one run per configuration', () => {
  const baseline = bastionOf(databaseTemplate());

  // Every setting, with a changed value and what that change does to the bastion. `replaced`: a new logical id, so
  // `cdk diff` shows the old instance removed and a new one added, which runs once and signals. `unchanged`: the
  // instance resource is identical, so CloudFormation leaves it alone. A new setting must be classified here (the
  // type requires it).
  const CHANGES: Record<
    keyof Settings,
    { readonly change: Partial<Settings>; readonly outcome: 'replaced' | 'unchanged' }
  > = {
    solutionId: { change: { solutionId: 'other-sample' }, outcome: 'replaced' },
    domainJoinEcs: { change: { domainJoinEcs: true }, outcome: 'replaced' },
    fargate: { change: { fargate: true, credSpecFromS3: true }, outcome: 'unchanged' },
    credSpecFromS3: { change: { credSpecFromS3: true }, outcome: 'unchanged' },
    deployApp: { change: { deployApp: true }, outcome: 'unchanged' },
    ec2InstanceKeyPairName: { change: { ec2InstanceKeyPairName: 'my-key' }, outcome: 'replaced' },
    mySgIngressCidr: { change: { mySgIngressCidr: '203.0.113.7/32' }, outcome: 'replaced' },
    natGateways: { change: { natGateways: 2 }, outcome: 'unchanged' },
    dbInstanceType: { change: { dbInstanceType: 'm5.large' }, outcome: 'unchanged' },
    dbEngineVersion: { change: { dbEngineVersion: '16.00.4236.2.v1' }, outcome: 'unchanged' },
    keepBastionRunning: { change: { keepBastionRunning: true }, outcome: 'replaced' },
    bastionAmiId: { change: { bastionAmiId: 'ami-0123456789abcdef0' }, outcome: 'replaced' },
    ecsInstanceType: { change: { ecsInstanceType: 't3.large' }, outcome: 'unchanged' },
    ecsMinCapacity: { change: { ecsMinCapacity: 2, ecsMaxCapacity: 2 }, outcome: 'unchanged' },
    ecsMaxCapacity: { change: { ecsMaxCapacity: 4 }, outcome: 'unchanged' },
    appImage: { change: { appImage: 'public.ecr.aws/example/web:1.0', deployApp: true }, outcome: 'unchanged' },
    identityRotationDays: { change: { identityRotationDays: 7 }, outcome: 'unchanged' },
    certificateArn: {
      change: {
        certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0c3f6a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f',
        deployApp: true,
      },
      outcome: 'unchanged',
    },
    credentialsFetcherVersion: { change: { credentialsFetcherVersion: '2.0.3' }, outcome: 'unchanged' },
    alarmEmail: { change: { alarmEmail: 'ops@example.com' }, outcome: 'unchanged' },
    ecsExec: { change: { ecsExec: true, deployApp: true }, outcome: 'unchanged' },
  };

  test.each(Object.entries(CHANGES).map(([name, { change, outcome }]) => [name, outcome, change] as const))(
    'GIVEN a change of %s THEN the bastion is %s',
    (_, outcome, change) => {
      // WHEN
      const changed = bastionOf(databaseTemplate(change));

      // THEN
      if (outcome === 'replaced') {
        expect(changed.id).not.toBe(baseline.id);
      } else {
        expect(changed.id).toBe(baseline.id);
        expect(changed.resource).toEqual(baseline.resource);
      }
    },
  );

  test('GIVEN MY_SG_INGRESS_IP changes from one address to another THEN only the security group changes, not the instance', () => {
    const first = databaseTemplate({ mySgIngressCidr: '203.0.113.7/32' });
    const second = databaseTemplate({ mySgIngressCidr: '198.51.100.9/32' });
    expect(bastionOf(second)).toEqual(bastionOf(first));
    expect(JSON.stringify(second.findResources('AWS::EC2::SecurityGroup'))).toContain('198.51.100.9/32');
  });

  test('THEN the logical id ends with the digest the settings file carries, and the run signals that id', () => {
    const config = configOf(baseline.resource);
    expect(baseline.id).toBe(`AdManagementInstance${String(config.ConfigurationDigest).slice(0, 8).toUpperCase()}`);
    expect(config.LogicalResourceId).toBe(baseline.id);
  });

  test('THEN a later boot of the same configuration stops at the done-marker before downloading anything', () => {
    const text = userDataOf(baseline.resource);
    const digest = String(configOf(baseline.resource).ConfigurationDigest);
    const guard = text.indexOf(
      `if ((Test-Path '${BASTION_DONE_MARKER}') -and ((Get-Content -Raw '${BASTION_DONE_MARKER}' | ConvertFrom-Json).ConfigurationDigest -eq '${digest}')) {`,
    );
    expect(guard).toBeGreaterThan(0);
    expect(guard).toBeLessThan(text.indexOf('Read-S3Object'));
    expect(text.slice(guard, text.indexOf('\n', guard))).toContain('exit 0 }');
    // The script writes and reads the same file, beside itself in the script folder.
    expect(BASTION_DONE_MARKER).toBe(`${BASTION_SCRIPT_FOLDER}\\bastion-setup.done.json`);
    expect(script('Invoke-BastionSetup.ps1')).toContain(
      "$script:DoneMarker = Join-Path $PSScriptRoot 'bastion-setup.done.json'",
    );
  });
});

describe('AD management bastion: every step bounded within the signal timeout', () => {
  const { resource } = bastionOf(databaseTemplate());
  const config = configOf(resource);
  const b = BASTION_RUN_BOUNDS;

  test('THEN the bounds, summed, stay below the signal timeout CloudFormation waits for', () => {
    // GIVEN the worst case of each step, from the same constants the construct writes into the settings file
    const steps = [
      (2 * b.metadataTimeoutSeconds) / 60,
      b.moduleInstallMinutes,
      b.directoryWaitMinutes + b.probeAllowanceMinutes,
      b.adConfigurationMinutes,
      b.databaseWaitMinutes + b.probeAllowanceMinutes,
      b.databaseConfigurationMinutes + b.sqlConnectTimeoutSeconds / 60,
    ];
    const sum = steps.reduce((a, x) => a + x, 0);

    // WHEN
    const timeout = Duration.parse(
      (resource.CreationPolicy as { ResourceSignal: { Timeout: string } }).ResourceSignal.Timeout,
    );

    // THEN
    expect(sum + b.marginMinutes).toBe(bastionRunWorstCaseMinutes());
    expect(timeout.toMinutes()).toBeGreaterThanOrEqual(sum + b.marginMinutes);
    expect(timeout.toMinutes()).toBe(Math.ceil(bastionRunWorstCaseMinutes()));
    // CloudFormation allows at most 12 hours.
    expect(timeout.toMinutes()).toBeLessThanOrEqual(12 * 60);
    // Inside the database budget: the login retries' pauses alone would fit, so the budget, not the count, is the bound
    // only when SQL Server is slow.
    expect(b.loginRetryAttempts * b.loginRetryDelaySeconds).toBeLessThanOrEqual(b.databaseConfigurationMinutes * 60);
    expect(b.downloadTimeoutSeconds).toBeLessThan(b.databaseConfigurationMinutes * 60);
  });

  test('THEN the settings file carries every bound, as the script reads it', () => {
    expect(config).toEqual(
      expect.objectContaining({
        MetadataTimeoutSeconds: b.metadataTimeoutSeconds,
        ModuleInstallMinutes: b.moduleInstallMinutes,
        DirectoryWaitMinutes: b.directoryWaitMinutes,
        DatabaseWaitMinutes: b.databaseWaitMinutes,
        DatabaseConfigurationMinutes: b.databaseConfigurationMinutes,
        SqlConnectTimeoutSeconds: b.sqlConnectTimeoutSeconds,
        QueryTimeoutSeconds: b.queryTimeoutSeconds,
        DownloadTimeoutSeconds: b.downloadTimeoutSeconds,
        LoginRetryAttempts: b.loginRetryAttempts,
        LoginRetryDelaySeconds: b.loginRetryDelaySeconds,
        SqlServerModuleVersion: SQLSERVER_MODULE_VERSION,
      }),
    );
    const setup = script('Invoke-BastionSetup.ps1');
    const boundKeys = /\$BoundKeys = @\(([^)]*)\)/
      .exec(setup)![1]
      .match(/'(\w+)'/g)!
      .map((k) => k.slice(1, -1));
    expect(boundKeys.sort()).toEqual(
      Object.keys(config)
        .filter((k) => /Minutes|Seconds|Attempts/.test(k))
        .sort(),
    );
  });

  test("THEN Configure-Database.ps1's own defaults, for runs by hand, are the same bounds", () => {
    const configureDb = script('Configure-Database.ps1');
    const defaults: Record<string, number> = {
      TimeBudgetMinutes: b.databaseConfigurationMinutes,
      QueryTimeoutSeconds: b.queryTimeoutSeconds,
      ConnectTimeoutSeconds: b.sqlConnectTimeoutSeconds,
      DownloadTimeoutSeconds: b.downloadTimeoutSeconds,
      LoginRetryAttempts: b.loginRetryAttempts,
      LoginRetryDelaySeconds: b.loginRetryDelaySeconds,
    };
    for (const [name, value] of Object.entries(defaults)) {
      expect(configureDb).toMatch(new RegExp(`\\[int\\] \\$${name} = ${value}[,\\n]`));
    }
  });

  test('THEN the SqlServer module is installed and imported at the pinned version, which has -Encrypt (22 or later)', () => {
    const setup = script('Invoke-BastionSetup.ps1');
    expect(setup).toContain('Install-Module -Name SqlServer -RequiredVersion $version');
    expect(setup).toContain('Import-Module SqlServer -RequiredVersion $version');
    expect(Number(SQLSERVER_MODULE_VERSION.split('.')[0])).toBeGreaterThanOrEqual(22);
    expect(script('Configure-Database.ps1')).toContain('Import-Module SqlServer -MinimumVersion 22.0');
    expect(script('Configure-Database.ps1')).toContain("Encrypt           = 'Mandatory'");
  });

  test('fails on a signal timeout shorter than the worst case of the run', () => {
    expect(() => standaloneBastion({ signalTimeout: Duration.minutes(120) })).toThrow(
      `The bastion's signal timeout of 120 minutes is shorter than its run's worst case of ${Math.ceil(bastionRunWorstCaseMinutes())} minutes (BASTION_RUN_BOUNDS)`,
    );
    expect(() =>
      standaloneBastion({ signalTimeout: Duration.minutes(120), directoryWaitMinutes: 5, databaseWaitMinutes: 30 }),
    ).not.toThrow();
  });
});
