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
import { buildApp, MODE_NAMES, ModeName, settingsFor } from '../helpers/modes';

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

function databaseTemplate(overrides: Partial<Settings> = {}, mode: ModeName = 'domainless-ec2-ssm'): Template {
  return Template.fromStack(buildApp(settingsFor(mode, overrides)).stacks.database);
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
    mySgIngressCidr: { change: { mySgIngressCidr: '203.0.113.7/32' }, outcome: 'unchanged' },
    natGateways: { change: { natGateways: 2 }, outcome: 'unchanged' },
    dbInstanceType: { change: { dbInstanceType: 'm5.large' }, outcome: 'unchanged' },
    dbEngineVersion: { change: { dbEngineVersion: '16.00.4236.2.v1' }, outcome: 'unchanged' },
    keepBastionRunning: { change: { keepBastionRunning: true }, outcome: 'replaced' },
    bastionAmiId: { change: { bastionAmiId: 'ami-0123456789abcdef0' }, outcome: 'replaced' },
    // Set or unset: a public or private subnet, so a new instance (the subnet type is part of the digest).
    bastionRdpCidr: { change: { bastionRdpCidr: '203.0.113.7/32' }, outcome: 'replaced' },
    // A policy of its own beside the instance: the instance and its run do not change.
    bastionMaintenance: { change: { bastionMaintenance: true }, outcome: 'unchanged' },
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
    // The bastion then creates the sidecar's AD user and SQL login (another configuration, another instance).
    ticketSource: { change: { ticketSource: 'sidecar' }, outcome: 'replaced' },
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

  test('GIVEN BASTION_RDP_CIDR changes from one address to another THEN only the security group changes, not the instance', () => {
    const first = databaseTemplate({ bastionRdpCidr: '203.0.113.7/32' });
    const second = databaseTemplate({ bastionRdpCidr: '198.51.100.9/32' });
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
      // Detaching the run's secret access: the pauses between its attempts.
      ((b.revokeAttempts - 1) * b.revokeRetryDelaySeconds) / 60,
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
    // Configure-SidecarUser.ps1 (sidecar mode) has the same SQL bounds; it downloads nothing.
    const configureSidecar = script('Configure-SidecarUser.ps1');
    for (const [name, value] of Object.entries(defaults).filter(([n]) => n !== 'DownloadTimeoutSeconds')) {
      expect(configureSidecar).toMatch(new RegExp(`\\[int\\] \\$${name} = ${value}[,\\n]`));
    }
  });

  test('THEN the SqlServer module is installed and imported at the pinned version, which has -Encrypt (22 or later)', () => {
    const setup = script('Invoke-BastionSetup.ps1');
    expect(setup).toContain('Install-Module -Name SqlServer -RequiredVersion $version');
    expect(setup).toContain('Import-Module SqlServer -RequiredVersion $version');
    expect(Number(SQLSERVER_MODULE_VERSION.split('.')[0])).toBeGreaterThanOrEqual(22);
    expect(script('Configure-Database.ps1')).toContain('Import-Module SqlServer -MinimumVersion 22.0');
    expect(script('Configure-SidecarUser.ps1')).toContain('Import-Module SqlServer -MinimumVersion 22.0');
    // Both scripts send every statement through the shared Invoke-Sql, which requires TLS.
    for (const name of ['Configure-Database.ps1', 'Configure-SidecarUser.ps1']) {
      expect(script(name)).toContain(". (Join-Path $PSScriptRoot 'SqlServerLogins.ps1')");
    }
    expect(script('SqlServerLogins.ps1')).toContain("Encrypt           = 'Mandatory'");
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

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
type IamResource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

/** The bastion role's logical id, and every policy attached to it (inline, customer managed, AWS managed). */
function bastionIam(template: Template) {
  const resources = template.toJSON().Resources as Record<string, IamResource>;
  const roleId = Object.keys(resources).find(
    (id) => resources[id].Type === 'AWS::IAM::Role' && id.startsWith('AdManagementBastionRole'),
  )!;
  const attachedTo = (r: IamResource) => JSON.stringify(r.Properties.Roles ?? []).includes(`"Ref":"${roleId}"`);
  const ofType = (type: string) =>
    Object.entries(resources).filter(([, r]) => r.Type === type && attachedTo(r)) as [string, IamResource][];
  const statementsOf = (r: IamResource) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
  return {
    roleId,
    role: resources[roleId],
    inline: ofType('AWS::IAM::Policy'),
    managed: ofType('AWS::IAM::ManagedPolicy'),
    statementsOf,
    instance: bastionOf(template),
  };
}

const actionsOf = (s: Statement) => ([] as string[]).concat(s.Action);

describe('AD management bastion: its keys for its run only (issue 26 item 2)', () => {
  describe.each(MODE_NAMES)('in mode %s', (mode) => {
    const template = databaseTemplate({}, mode);
    const iam = bastionIam(template);
    const { id: instanceId, resource: instance } = iam.instance;
    const digest8 = instanceId.replace('AdManagementInstance', '');
    const runId = `AdManagementRunSecrets${digest8}`;

    test('THEN no standing policy of the role reads a secret: only the run policy does, and it is the only managed policy of ours', () => {
      expect(iam.managed.map(([id]) => id)).toEqual([runId]);
      for (const [, policy] of iam.inline) {
        for (const statement of iam.statementsOf(policy)) {
          expect(actionsOf(statement).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
        }
      }
      // The role's own attachments: only AWS managed policies (Session Manager), none of which reads a secret by name.
      const roleInline = (iam.role.Properties.Policies ?? []) as unknown[];
      expect(roleInline).toEqual([]);
      expect(JSON.stringify(iam.role.Properties.ManagedPolicyArns ?? [])).not.toContain('Secrets');
    });

    test('THEN the run policy reads exactly the secrets of the run (admin, SQL Server, and the seamless join, domainless identity or sidecar identity of its mode), nothing else', () => {
      const [, run] = iam.managed.find(([id]) => id === runId)!;
      const statements = iam.statementsOf(run);
      expect(statements).toHaveLength(1);
      expect(statements[0].Effect).toBe('Allow');
      expect(actionsOf(statements[0]).sort()).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ]);
      const names = ([] as unknown[]).concat(statements[0].Resource).map((r) => JSON.stringify(r));
      const expected = ['ManagedDirectoryAdminPassword', 'SqlServerMasterSecret'];
      if (mode.startsWith('domain-joined')) expected.push('DomainJoinSecret');
      else expected.push(mode.startsWith('sidecar') ? 'SidecarIdentity' : 'DomainlessIdentitySecret');
      expect(names).toHaveLength(expected.length);
      for (const name of expected) expect(names.filter((n) => n.includes(name))).toHaveLength(1);
      expect(run.Properties.Roles).toEqual([{ Ref: iam.roleId }]);
    });

    test('THEN the role may detach exactly that policy from itself, and no other IAM action', () => {
      const iamStatements = iam.inline
        .flatMap(([, p]) => iam.statementsOf(p))
        .filter((s) => actionsOf(s).some((a) => a.startsWith('iam:') || a === '*'));
      expect(iamStatements).toEqual([
        {
          Sid: 'EndRunSecrets',
          Effect: 'Allow',
          Action: 'iam:DetachRolePolicy',
          Resource: { 'Fn::GetAtt': [iam.roleId, 'Arn'] },
          Condition: { ArnEquals: { 'iam:PolicyARN': { Ref: runId } } },
        },
      ]);
    });

    test('THEN the instance starts only once the run policy is attached, and its settings file names that policy and the role', () => {
      expect((instance as unknown as IamResource).DependsOn).toContain(runId);
      const config = userDataOf(instance);
      // The settings file, refs kept: RunPolicyArn and RoleName are the two references the detach needs.
      const json = config.split("bastion-setup.json' -Encoding UTF8 -Value @'\n")[1].split("\n'@")[0];
      expect(json).toMatch(/"RoleName": "<ref>"/);
      expect(json).toMatch(/"RunPolicyArn": "<ref>"/);
      const parts = (instance.Properties.UserData as { 'Fn::Base64': { 'Fn::Join': [string, unknown[]] } })[
        'Fn::Base64'
      ]['Fn::Join'][1];
      expect(parts).toContainEqual({ Ref: runId });
      expect(parts).toContainEqual({ Ref: iam.roleId });
    });
  });

  test('GIVEN BASTION_MAINTENANCE THEN a maintenance policy with the same reads is attached, the role may not detach it, and the instance is the same', () => {
    const normal = bastionIam(databaseTemplate());
    const maintained = bastionIam(databaseTemplate({ bastionMaintenance: true }));
    const maintenance = maintained.managed.filter(([id]) => id.startsWith('AdManagementBastionMaintenanceSecrets'));
    expect(maintenance).toHaveLength(1);
    const runOf = (x: typeof normal) => x.managed.find(([id]) => id.startsWith('AdManagementRunSecrets'))!;
    expect(maintained.statementsOf(maintenance[0][1])).toEqual(maintained.statementsOf(runOf(maintained)[1]));
    expect(JSON.stringify(maintained.inline)).not.toContain(maintenance[0][0]);
    expect(maintained.instance).toEqual(normal.instance);
    expect(runOf(maintained)[0]).toBe(runOf(normal)[0]);
  });

  test('GIVEN a new configuration THEN the run policy is a new one (its logical id follows the instance digest), so the new instance gets attached reads', () => {
    const before = bastionIam(databaseTemplate());
    const after = bastionIam(databaseTemplate({ keepBastionRunning: true }));
    const runIdOf = (x: typeof before) =>
      x.managed.map(([id]) => id).find((id) => id.startsWith('AdManagementRunSecrets'))!;
    expect(runIdOf(after)).not.toBe(runIdOf(before));
    expect(runIdOf(after)).toBe(after.instance.id.replace('AdManagementInstance', 'AdManagementRunSecrets'));
  });

  test('THEN the run detaches its policy after the database step and before the SUCCESS signal', () => {
    const setup = script('Invoke-BastionSetup.ps1');
    const detach = setup.indexOf('\n    Remove-RunSecretAccess\n');
    expect(detach).toBeGreaterThan(setup.indexOf('Configure-Database.ps1" -SqlServerAddress'));
    expect(detach).toBeLessThan(setup.indexOf('Send-Signal -Status SUCCESS'));
    expect(setup).toContain('Unregister-IAMRolePolicy -RoleName $config.RoleName -PolicyArn $config.RunPolicyArn');
  });
});

describe('AD management bastion: RDP is a separate decision (issue 26 item 3)', () => {
  const subnetOf = (template: Template) => JSON.stringify(bastionOf(template).resource.Properties.SubnetId);
  const bastionIngress = (template: Template) => {
    const groups = template.findResources('AWS::EC2::SecurityGroup') as Record<string, IamResource>;
    const id = Object.keys(groups).find((g) => g.startsWith('AdManagementBastionSecurityGroup'))!;
    const inline = (groups[id].Properties.SecurityGroupIngress ?? []) as unknown[];
    const standalone = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).filter((r) =>
      JSON.stringify(r.Properties.GroupId).includes(id),
    );
    return [...inline, ...standalone];
  };

  test.each(
    MODE_NAMES.flatMap(
      (mode) =>
        [
          [mode, undefined],
          [mode, '203.0.113.7/32'],
        ] as const,
    ),
  )(
    'GIVEN mode %s and MY_SG_INGRESS_IP=%p THEN the bastion is in a private subnet with no inbound rule',
    (mode, cidr) => {
      const template = databaseTemplate({ mySgIngressCidr: cidr, deployApp: true }, mode);
      expect(subnetOf(template)).toMatch(/privateSubnet/);
      expect(subnetOf(template)).not.toMatch(/publicSubnet/);
      expect(bastionIngress(template)).toEqual([]);
    },
  );

  test.each(MODE_NAMES)(
    'GIVEN mode %s and BASTION_RDP_CIDR THEN a public subnet and 3389 from that CIDR only',
    (mode) => {
      const template = databaseTemplate({ bastionRdpCidr: '198.51.100.0/24', mySgIngressCidr: '203.0.113.7/32' }, mode);
      expect(subnetOf(template)).toMatch(/publicSubnet/);
      expect(bastionIngress(template)).toEqual([
        {
          CidrIp: '198.51.100.0/24',
          Description: 'RDP from the deployer',
          FromPort: 3389,
          IpProtocol: 'tcp',
          ToPort: 3389,
        },
      ]);
    },
  );
});
