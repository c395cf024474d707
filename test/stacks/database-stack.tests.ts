import * as fs from 'fs';
import * as path from 'path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { BASTION_SCRIPTS, CHINOOK_SCRIPT_SHA256, CHINOOK_SCRIPT_URL } from '../../lib/constructs/ad-management-bastion';
import {
  CHINOOK_DATABASE_NAME,
  SQL_SERVER_CA_CERTIFICATE,
  SQL_SERVER_PARAMETERS,
  SqlServer,
} from '../../lib/constructs/sql-server';
import { RDS_SQL_SERVER_MAJOR_VERSIONS } from '../../bin/sql-server-versions';
import { DOMAIN_JOIN_USERNAME, GMSA_NAME, GMSA_PRINCIPALS_GROUP } from '../../lib/directory-names';
import { buildApp, MODE_NAMES, ModeName, settingsFor, sharedApp } from '../helpers/modes';
import { parsePowerShell } from '../scripts/powershell-parser';

const SCRIPTS = path.join(__dirname, '..', '..', 'scripts');
const script = (name: string) => fs.readFileSync(path.join(SCRIPTS, name), 'utf8');

type CfnValue = string | number | boolean | null | CfnValue[] | { [key: string]: CfnValue };

/** The bastion's user data as text, each intrinsic replaced by `<ref>`; and how many intrinsics there are. */
function userDataOf(template: Template): { text: string; intrinsics: number } {
  const instance = Object.values(template.findResources('AWS::EC2::Instance'))[0];
  const parts = instance.Properties.UserData['Fn::Base64']['Fn::Join'][1] as CfnValue[];
  const literal = parts.filter((p): p is string => typeof p === 'string');
  return {
    text: parts.map((p) => (typeof p === 'string' ? p : '<ref>')).join(''),
    intrinsics: parts.length - literal.length,
  };
}

/** Every IAM statement of the bastion's role. */
/** Every statement the bastion's role holds: its inline policy and the run's managed policy (its secret reads). */
function bastionStatements(template: Template): Array<{ Action: string | string[]; Resource: CfnValue; Sid?: string }> {
  const attached = { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('AdManagementBastionRole') }] } };
  const policies = {
    ...template.findResources('AWS::IAM::Policy', attached),
    ...template.findResources('AWS::IAM::ManagedPolicy', attached),
  };
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function databaseTemplate(mode: ModeName, overrides = {}): Template {
  const { stacks } = sharedApp(settingsFor(mode, overrides));
  return Template.fromStack(stacks.database);
}

describe.each(MODE_NAMES)('database stack in mode %s', (mode) => {
  const template = databaseTemplate(mode);

  test('THEN it matches the snapshot', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  test('THEN the bastion user data stays under the 16 KB EC2 limit, with every reference counted at 256 characters', () => {
    const { text, intrinsics } = userDataOf(template);
    expect(Buffer.byteLength(text.replace(/<ref>/g, ''), 'utf8') + intrinsics * 256).toBeLessThan(16 * 1024);
  });

  test('THEN SQL Server joins the directory with its own role', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      Domain: { 'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('ManagedDirectory') }) },
      DomainIAMRoleName: { Ref: Match.stringLikeRegexp('SqlServerDomainRole') },
    });
  });

  test('THEN the CredSpec template in the user data has HostAccountConfig only in domainless mode', () => {
    const { text } = userDataOf(template);
    if (mode.startsWith('domainless')) {
      expect(text).toContain(
        '"HostAccountConfig":{"PortableCcgVersion":"1","PluginGUID":"{859E1386-BDB4-49E8-85C7-3070B13920E1}","PluginInput":{"CredentialArn":"<ref>"}}',
      );
    } else {
      expect(text).not.toContain('HostAccountConfig');
    }
    expect(text).toContain('"Sid":"__DOMAIN_SID__"');
  });

  test('THEN the domainless (or sidecar) identity rotates, not in domain-joined mode, after the bastion has signalled', () => {
    const schedules = template.findResources('AWS::SecretsManager::RotationSchedule', {
      Properties: {
        RotationLambdaARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('DomainlessIdentityRotation'), 'Arn'] },
      },
    });
    if (mode.startsWith('domain-joined')) {
      expect(schedules).toEqual({});
      return;
    }
    const [schedule] = Object.values(schedules);
    expect(schedule.Properties.RotationRules).toEqual({ ScheduleExpression: 'rate(30 days)' });
    // The same function rotates the Kerberos sidecar's user in sidecar mode, and may reset only that user.
    const sidecar = mode.startsWith('sidecar');
    expect(JSON.stringify(schedule.Properties.SecretId)).toMatch(
      sidecar ? /SidecarIdentitySecret/ : /DomainlessIdentitySecret/,
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ IDENTITY_USERNAME: sidecar ? 'ecs-sidecar-user' : 'ecs-gmsa-identity' }),
      },
    });
    expect(schedule.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^AdManagementInstance/)]));
  });
});

describe('database stack (domainless, EC2, SSM)', () => {
  const { stacks } = sharedApp(settingsFor('domainless-ec2-ssm'));
  const template = Template.fromStack(stacks.database);
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, CfnValue>; DependsOn?: string[] }
  >;
  const idOf = (type: string, pattern: RegExp) =>
    Object.keys(resources).find((id) => resources[id].Type === type && pattern.test(id))!;
  const databaseSg = idOf('AWS::EC2::SecurityGroup', /^DatabaseSecurityGroup/);
  const bastionSg = idOf('AWS::EC2::SecurityGroup', /AdManagementBastionSecurityGroup/);
  const rotationSg = idOf('AWS::EC2::SecurityGroup', /RotationSingleUserSecurityGroup/);
  const instanceId = idOf('AWS::EC2::Instance', /^AdManagementInstance/);

  test('THEN SQL Server is Web edition 2022, license included, t3.small, encrypted, private, with a known identifier', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'sqlserver-web',
      EngineVersion: '16.00',
      LicenseModel: 'license-included',
      DBInstanceClass: 'db.t3.small',
      DBInstanceIdentifier: 'amazon-ecs-gmsa-linux-sql',
      StorageEncrypted: true,
      PubliclyAccessible: false,
      MasterUsername: 'sqladmin',
      VPCSecurityGroups: [{ 'Fn::GetAtt': [databaseSg, 'GroupId'] }],
    });
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
      SubnetIds: Match.arrayWith([
        { 'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('privateSubnet1') }) },
      ]),
    });
  });

  test('THEN SQL Server is destroyed with the stack, without final snapshot or retained backups', () => {
    template.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: Match.objectLike({ DeleteAutomatedBackups: true, DeletionProtection: false }),
    });
  });

  test('GIVEN DB_INSTANCE_TYPE=m5.large THEN SQL Server uses db.m5.large', () => {
    databaseTemplate('domainless-ec2-ssm', { dbInstanceType: 'm5.large' }).hasResourceProperties(
      'AWS::RDS::DBInstance',
      {
        DBInstanceClass: 'db.m5.large',
      },
    );
  });

  test('THEN the domain role is assumed by RDS and its Directory Service integration and has AmazonRDSDirectoryServiceAccess', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: ['directoryservice.rds.amazonaws.com', 'rds.amazonaws.com'] },
          }),
        ],
      },
      ManagedPolicyArns: [
        {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AmazonRDSDirectoryServiceAccess'],
          ],
        },
      ],
    });
  });

  test('THEN the stack exposes the identifier and the Kerberos host name <instance-id>.<directory name>', () => {
    expect(stacks.database.dbInstanceIdentifier).toBe('amazon-ecs-gmsa-linux-sql');
    expect(stacks.database.kerberosHostName).toBe('amazon-ecs-gmsa-linux-sql.directory.amazon-ecs-gmsa-linux.com');
    template.hasOutput('KerberosHostName', { Value: 'amazon-ecs-gmsa-linux-sql.directory.amazon-ecs-gmsa-linux.com' });
    template.hasOutput('DBInstanceIdentifier', { Value: 'amazon-ecs-gmsa-linux-sql' });
    template.hasOutput('DBInstanceEndpointAddress', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('SqlServerInstance'), 'Endpoint.Address'] },
    });
    template.hasOutput('DBCredentialsSecretArn', {
      Value: { Ref: Match.stringLikeRegexp('SqlServerMasterSecretAttachment') },
    });
  });

  test('THEN the database stack admits on SQL Server exactly the bastion, the SQL clients group on 1433 and the rotation function; the tasks add their own rule', () => {
    const ingress = Object.values(resources).filter((r) => r.Type === 'AWS::EC2::SecurityGroupIngress');
    expect(ingress.map((r) => r.Properties)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          GroupId: { 'Fn::GetAtt': [databaseSg, 'GroupId'] },
          SourceSecurityGroupId: { 'Fn::GetAtt': [bastionSg, 'GroupId'] },
          IpProtocol: 'tcp',
          FromPort: 1433,
          ToPort: 1433,
        }),
        expect.objectContaining({
          GroupId: { 'Fn::GetAtt': [databaseSg, 'GroupId'] },
          SourceSecurityGroupId: { 'Fn::GetAtt': [rotationSg, 'GroupId'] },
        }),
        // The container instances join this group of the directory stack: the cluster never references this stack.
        expect.objectContaining({
          GroupId: { 'Fn::GetAtt': [databaseSg, 'GroupId'] },
          SourceSecurityGroupId: {
            'Fn::GetStackOutput': expect.objectContaining({
              OutputName: expect.stringMatching(/SqlClientsSecurityGroup/),
            }),
          },
          IpProtocol: 'tcp',
          FromPort: 1433,
          ToPort: 1433,
        }),
      ]),
    );
    expect(ingress).toHaveLength(3);
    expect(resources[databaseSg].Properties.SecurityGroupIngress).toBeUndefined();
  });

  test('THEN the master secret rotates single-user every 30 days, only after the bastion has signalled', () => {
    template.hasResource('AWS::SecretsManager::RotationSchedule', {
      DependsOn: Match.arrayWith([instanceId]),
      Properties: Match.objectLike({ RotationRules: { ScheduleExpression: 'rate(30 days)' } }),
    });
    // The single-user rotation is AWS's serverless application for SQL Server (ids in a region map).
    template.resourceCountIs('AWS::Serverless::Application', 1);
    expect(JSON.stringify(template.toJSON().Mappings)).toContain('SecretsManagerRDSSQLServerRotationSingleUser');
  });

  test('THEN the bastion is Windows Server 2022 resolved by EC2 at launch, IMDSv2 only with hop limit 1, with an encrypted root volume', () => {
    // test/constructs/ad-management-bastion.test.ts: no deploy-time SSM parameter, and each setting's effect.
    template.hasResourceProperties('AWS::EC2::Instance', {
      ImageId: 'resolve:ssm:/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base',
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: Match.objectLike({ Encrypted: true }) }],
      SubnetId: { 'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('privateSubnet') }) },
    });
    expect(resources[instanceId].Properties.KeyName).toBeUndefined();
  });

  test('THEN CloudFormation waits for the bastion signal longer than the run can take', () => {
    // The sum of BASTION_RUN_BOUNDS (test/constructs/ad-management-bastion.test.ts adds them up): the run reports its
    // own failure first.
    template.hasResource('AWS::EC2::Instance', {
      CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT2H42M' } },
    });
    expect(stacks.database.bastion.configured.logicalId).toBeDefined();
  });

  test('GIVEN no BASTION_RDP_CIDR THEN the bastion has no inbound rule at all', () => {
    expect(resources[bastionSg].Properties.SecurityGroupIngress).toBeUndefined();
    const intoBastion = Object.values(resources).filter(
      (r) => r.Type === 'AWS::EC2::SecurityGroupIngress' && JSON.stringify(r.Properties.GroupId).includes(bastionSg),
    );
    expect(intoBastion).toEqual([]);
  });

  test('GIVEN BASTION_RDP_CIDR and a key pair THEN RDP 3389 from that address only, a public subnet and the key pair', () => {
    // WHEN
    const open = databaseTemplate('domainless-ec2-ssm', {
      bastionRdpCidr: '203.0.113.7/32',
      ec2InstanceKeyPairName: 'my-key',
    });

    // THEN
    open.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('RDP'),
      SecurityGroupIngress: [
        {
          CidrIp: '203.0.113.7/32',
          IpProtocol: 'tcp',
          FromPort: 3389,
          ToPort: 3389,
          Description: 'RDP from the deployer',
        },
      ],
    });
    open.hasResourceProperties('AWS::EC2::Instance', {
      KeyName: 'my-key',
      SubnetId: { 'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('publicSubnet') }) },
    });
    const { text, intrinsics } = userDataOf(open);
    expect(Buffer.byteLength(text.replace(/<ref>/g, ''), 'utf8') + intrinsics * 256).toBeLessThan(16 * 1024);
  });

  test('THEN every IAM statement of the bastion names its resources, except the documented Describe actions', () => {
    for (const statement of bastionStatements(template)) {
      const resourcesOf = ([] as CfnValue[]).concat(statement.Resource);
      if (statement.Sid === 'DescribeEcsContainerInstances') {
        expect(statement.Action).toEqual(['autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeInstances']);
        continue;
      }
      expect(resourcesOf).not.toContain('*');
    }
  });

  /** The secrets the bastion's role may read (output or logical id names). */
  const bastionSecretReads = (t: Template) => {
    const read = bastionStatements(t).find((s) =>
      ([] as string[]).concat(s.Action).includes('secretsmanager:GetSecretValue'),
    )!;
    return (read.Resource as Array<Record<string, { OutputName?: string } | string>>).map((r) =>
      'Ref' in r ? String(r.Ref) : String((r['Fn::GetStackOutput'] as { OutputName: string }).OutputName),
    );
  };

  test('THEN the bastion reads exactly the admin, identity and SQL Server secrets (not the domain-join one)', () => {
    const names = bastionSecretReads(template);
    expect(names).toHaveLength(3);
    for (const pattern of [/DomainlessIdentitySecret/, /AdminPassword/, /^SqlServerMasterSecret/]) {
      expect(names.filter((n) => pattern.test(n))).toHaveLength(1);
    }
  });

  test('GIVEN domain-joined mode THEN the bastion reads exactly the admin, domain-join and SQL Server secrets', () => {
    const names = bastionSecretReads(databaseTemplate('domain-joined-ec2-ssm'));
    expect(names).toHaveLength(3);
    for (const pattern of [/DomainJoinSecret/, /AdminPassword/, /^SqlServerMasterSecret/]) {
      expect(names.filter((n) => pattern.test(n))).toHaveLength(1);
    }
  });

  test('GIVEN domain-joined mode THEN the bastion does not read the domainless identity secret', () => {
    const joined = bastionStatements(databaseTemplate('domain-joined-ec2-ssm'));
    expect(JSON.stringify(joined)).not.toContain('DomainlessIdentitySecret');
  });

  test('THEN the bastion writes exactly the CredSpec parameter and the CredSpec object, and signals its own stack', () => {
    const statements = bastionStatements(template);
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Sid: 'WriteCredSpecParameter',
          Action: ['ssm:GetParameter', 'ssm:PutParameter'],
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':ssm:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':parameter/amazon-ecs-gmsa-linux/credspec',
              ],
            ],
          },
        }),
        expect.objectContaining({
          Sid: 'WriteCredSpecObject',
          Action: ['s3:GetObject', 's3:PutObject'],
          Resource: {
            'Fn::Join': [
              '',
              [
                {
                  'Fn::GetStackOutput': expect.objectContaining({
                    OutputName: expect.stringMatching(/CredSpecStorageBucket.*Arn/),
                  }),
                },
                '/credspecs/SampleWebApp.json',
              ],
            ],
          },
        }),
        expect.objectContaining({
          Sid: 'SignalCreation',
          Action: 'cloudformation:SignalResource',
          Resource: { Ref: 'AWS::StackId' },
        }),
        expect.objectContaining({
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/AdManagementBastionLogGroup/), 'Arn'] },
        }),
      ]),
    );
    const writes = statements.filter((s) => ([] as string[]).concat(s.Action).some((a) => /Put|Write|Signal/.test(a)));
    expect(writes.map((s) => s.Sid ?? s.Action)).toEqual([
      'WriteCredSpecParameter',
      'WriteCredSpecObject',
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      'SignalCreation',
    ]);
  });

  test('THEN the bastion reads its scripts object by object, and has the Session Manager policy, not the SSM core one', () => {
    const scripts = bastionStatements(template).find((s) => s.Sid === 'ReadScripts')!;
    expect(scripts.Action).toBe('s3:GetObject');
    expect(scripts.Resource).toHaveLength(BASTION_SCRIPTS.length);
    const policies = template.findResources('AWS::IAM::ManagedPolicy');
    const [policyId] = Object.keys(policies).filter((id) => id.includes('SessionManagerInstancePolicy'));
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] },
      ManagedPolicyArns: [{ Ref: policyId }],
    });
    // issue 26: no SSM parameter or document of the account on "*"; the bastion has no association either.
    const statements: Array<{ Action: string[]; Resource: unknown }> =
      policies[policyId].Properties.PolicyDocument.Statement;
    expect(
      statements
        .map((s) => s.Action)
        .flat()
        .filter((a) => a.startsWith('ssm:')),
    ).toEqual(['ssm:UpdateInstanceInformation']);
  });

  test('THEN the bastion log group has a retention and is destroyed with the stack', () => {
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: '/amazon-ecs-gmsa-linux/active-directory-management-instance', RetentionInDays: 30 },
      DeletionPolicy: 'Delete',
    });
  });

  test('THEN the user data downloads every script into C:\\SampleConfig, writes the CredSpec template and the settings, and runs the setup', () => {
    const { text } = userDataOf(template);
    for (const name of BASTION_SCRIPTS) {
      expect(text).toMatch(
        new RegExp(
          `Read-S3Object -BucketName '<ref>' -Key '[0-9a-f]{64}\\.ps1' -File 'C:\\\\SampleConfig\\\\${name.replace('.', '\\.')}'`,
        ),
      );
      expect(fs.existsSync(path.join(SCRIPTS, name))).toBe(true);
    }
    expect(text).toContain(
      "Set-Content -Path 'C:\\SampleConfig\\credspec-template.json' -Encoding UTF8 -Value @'\n{\"CmsPlugins\"",
    );
    expect(text).toContain(`"LogicalResourceId": "${instanceId}"`);
    expect(text).toContain(`"GmsaName": "${GMSA_NAME}"`);
    expect(text).toContain(`"GmsaPrincipalsGroup": "${GMSA_PRINCIPALS_GROUP}"`);
    expect(text).toContain(`"ChinookScriptUrl": "${CHINOOK_SCRIPT_URL}"`);
    expect(text).toContain(
      "& 'C:\\SampleConfig\\Invoke-BastionSetup.ps1' -ConfigPath 'C:\\SampleConfig\\bastion-setup.json'",
    );
    expect(text).toContain(
      `Send-CFNResourceSignal -StackName 'amazon-ecs-gmsa-linux-database' -LogicalResourceId '${instanceId}' -UniqueId 'user-data' -Status FAILURE`,
    );
    // The instance is not tagged for the domain-join association: it joins itself after signalling.
    expect(JSON.stringify(resources[instanceId].Properties.Tags)).not.toContain('domain-join');
  });

  test('THEN every setting Invoke-BastionSetup.ps1 reads is in the settings file the user data writes', () => {
    // GIVEN
    const { text } = userDataOf(template);
    const json = text.split("bastion-setup.json' -Encoding UTF8 -Value @'\n")[1].split("\n'@")[0];

    // WHEN
    const written = Object.keys(JSON.parse(json)).sort();
    const read = [
      // PowerShell names are case-insensitive: $config and $script:Config are the same settings object.
      ...new Set([...script('Invoke-BastionSetup.ps1').matchAll(/\$(?:script:)?config\.(\w+)/gi)].map((m) => m[1])),
    ].sort();

    // THEN
    expect(read).toEqual(written);
  });

  test('THEN the bastion instance references nothing of the DB instance, directly or through what it depends on', () => {
    // GIVEN every logical id the instance reaches through Ref, Fn::GetAtt, Fn::Sub and DependsOn, transitively
    const refsOf = (value: unknown): string[] => {
      if (Array.isArray(value)) return value.flatMap(refsOf);
      if (value === null || typeof value !== 'object') return [];
      const entries = Object.entries(value as Record<string, unknown>);
      return entries.flatMap(([key, inner]) => {
        if (key === 'Ref' && typeof inner === 'string') return [inner];
        if (key === 'Fn::GetAtt') return [String((inner as unknown[])[0])];
        if (key === 'Fn::Sub')
          return [...String(([] as unknown[]).concat(inner)[0]).matchAll(/\$\{([^.}]+)/g)].map((m) => m[1]);
        return refsOf(inner);
      });
    };
    const reached = new Set<string>();
    const queue = [instanceId];
    while (queue.length > 0) {
      const id = queue.pop()!;
      const resource = resources[id];
      if (resource === undefined || reached.has(id)) continue;
      reached.add(id);
      queue.push(...refsOf(resource.Properties), ...(resource.DependsOn ?? []));
    }

    // THEN none of them is the DB instance or anything created from it
    const dbInstance = idOf('AWS::RDS::DBInstance', /^SqlServerInstance/);
    const attachment = idOf('AWS::SecretsManager::SecretTargetAttachment', /^SqlServerMasterSecretAttachment/);
    expect(dbInstance).toBeDefined();
    expect(attachment).toBeDefined();
    const fromDatabase = [...reached].filter((id) =>
      ['AWS::RDS::DBInstance', 'AWS::RDS::DBSubnetGroup', 'AWS::SecretsManager::SecretTargetAttachment'].includes(
        resources[id].Type,
      ),
    );
    expect(fromDatabase).toEqual([]);
    // The check follows references: the bastion does reach its role's policy, which reads the master secret itself.
    expect(reached.has(idOf('AWS::SecretsManager::Secret', /^SqlServerMasterSecret/))).toBe(true);
  });

  test('THEN the bastion finds SQL Server by its identifier: DescribeDBInstances on the ARN built from the same string', () => {
    const describe = bastionStatements(template).find((s) => s.Sid === 'DescribeDatabaseInstance')!;
    expect(describe.Action).toBe('rds:DescribeDBInstances');
    expect(describe.Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':rds:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':db:amazon-ecs-gmsa-linux-sql',
        ],
      ],
    });
    expect(resources[idOf('AWS::RDS::DBInstance', /^SqlServerInstance/)].Properties.DBInstanceIdentifier).toBe(
      'amazon-ecs-gmsa-linux-sql',
    );
  });

  test('THEN the bastion may list the CredSpec bucket (a missing object answers 404, not 403)', () => {
    const list = bastionStatements(template).find((s) => s.Sid === 'ListCredSpecBucket')!;
    expect(list.Action).toBe('s3:ListBucket');
    expect(JSON.stringify(list.Resource)).toMatch(/CredSpecStorageBucket.*Arn/);
    expect(JSON.stringify(list.Resource)).not.toContain('/');
  });

  test('THEN the bastion stops rather than terminates when it shuts itself down', () => {
    expect(resources[instanceId].Properties.InstanceInitiatedShutdownBehavior).toBe('stop');
  });

  test('THEN the settings file holds exactly the keys of the bastion contract, with the run-time lookups and bounded waits', () => {
    // GIVEN
    const { text } = userDataOf(template);
    const config = JSON.parse(text.split("bastion-setup.json' -Encoding UTF8 -Value @'\n")[1].split("\n'@")[0]);

    // THEN
    expect(Object.keys(config).sort()).toEqual(
      [
        'Region',
        'StackName',
        'LogicalResourceId',
        'LogGroupName',
        'DomainName',
        'NetBiosName',
        'AdminSecretId',
        'IdentitySecretId',
        'SidecarIdentitySecretId',
        'DomainJoinSecretId',
        'DatabaseSecretId',
        'DatabaseInstanceIdentifier',
        'DatabaseName',
        'GmsaName',
        'GmsaPrincipalsGroup',
        'CredSpecTemplatePath',
        'CredSpecParameterName',
        'CredSpecBucketName',
        'CredSpecObjectKey',
        'ChinookScriptUrl',
        'ChinookScriptSha256',
        'KeepRunning',
        'SqlServerModuleVersion',
        'ConfigurationDigest',
        // BASTION_RUN_BOUNDS (test/constructs/ad-management-bastion.test.ts sums them against the signal timeout).
        'DirectoryWaitMinutes',
        'DatabaseWaitMinutes',
        'MetadataTimeoutSeconds',
        'ModuleInstallMinutes',
        'DatabaseConfigurationMinutes',
        'SqlConnectTimeoutSeconds',
        'QueryTimeoutSeconds',
        'DownloadTimeoutSeconds',
        'LoginRetryAttempts',
        'LoginRetryDelaySeconds',
        'RevokeAttempts',
        'RevokeRetryDelaySeconds',
        // The run's keys: the role detaches the run policy from itself (docs/bastion.md, "The run's keys").
        'RoleName',
        'RunPolicyArn',
      ].sort(),
    );
    expect(config).toMatchObject({
      DatabaseInstanceIdentifier: 'amazon-ecs-gmsa-linux-sql',
      DatabaseName: 'Chinook',
      ChinookScriptUrl: CHINOOK_SCRIPT_URL,
      ChinookScriptSha256: CHINOOK_SCRIPT_SHA256,
      KeepRunning: false,
      DirectoryWaitMinutes: 30,
      DatabaseWaitMinutes: 60,
      CredSpecParameterName: '/amazon-ecs-gmsa-linux/credspec',
      CredSpecObjectKey: 'credspecs/SampleWebApp.json',
    });
    // The master secret itself (a Ref of the secret, rendered as <ref>), not an address of the instance.
    expect(config.DatabaseSecretId).toBe('<ref>');
    expect(text).not.toContain('DatabaseAddress');
  });

  test('GIVEN KEEP_BASTION_RUNNING THEN the settings file tells the run to restart instead of stopping', () => {
    const kept = databaseTemplate('domainless-ec2-ssm', { keepBastionRunning: true });
    expect(userDataOf(kept).text).toContain('"KeepRunning": true');
  });

  test('THEN the Chinook script is pinned to a commit and its SHA-256, and creates the database the app reads', () => {
    expect(CHINOOK_SCRIPT_URL).toBe(
      'https://raw.githubusercontent.com/lerocha/chinook-database/7f67772503d71ba90f19283c38e93923addb43fa/ChinookDatabase/DataSources/Chinook_SqlServer.sql',
    );
    expect(CHINOOK_SCRIPT_SHA256).toMatch(/^[0-9a-f]{64}$/);
    expect(CHINOOK_DATABASE_NAME).toBe('Chinook');
    const app = buildApp(settingsFor('domainless-ec2-ssm', { deployApp: true })).stacks.application!;
    expect(JSON.stringify(Template.fromStack(app).toJSON())).toContain(`;Database=${CHINOOK_DATABASE_NAME};`);
  });

  test('THEN a delete-only custom resource removes the CredSpec parameter and object, after the bastion is gone', () => {
    // GIVEN
    const cleanups = Object.entries(resources).filter(([, r]) => /^Custom::CredSpec\w+Cleanup$/.test(r.Type));
    const calls = Object.fromEntries(
      cleanups.map(([id, r]) => {
        expect(r.Properties.Create).toBeUndefined();
        expect(r.Properties.Update).toBeUndefined();
        const rendered = JSON.stringify(r.Properties.Delete).replace(/\{"Fn::GetStackOutput":[^}]*\}\}/g, '"<ref>"');
        return [r.Type, { id, rendered }];
      }),
    );

    // THEN exactly one call each, delete-only, with fixed physical ids
    expect(Object.keys(calls).sort()).toEqual(['Custom::CredSpecObjectCleanup', 'Custom::CredSpecParameterCleanup']);
    const parameter = calls['Custom::CredSpecParameterCleanup'].rendered;
    expect(parameter).toContain('\\"action\\":\\"DeleteParameter\\"');
    expect(parameter).toContain('/amazon-ecs-gmsa-linux/credspec');
    expect(parameter).toContain('ParameterNotFound');
    expect(parameter).toContain('credspec-parameter-cleanup');
    const object = calls['Custom::CredSpecObjectCleanup'].rendered;
    expect(object).toContain('\\"action\\":\\"DeleteObject\\"');
    expect(object).toContain('credspecs/SampleWebApp.json');
    expect(object).toContain('credspec-object-cleanup');
    // The bastion depends on both, so on delete CloudFormation removes it first and nothing writes them again.
    for (const { id } of Object.values(calls)) expect(resources[instanceId].DependsOn).toContain(id);

    // AND the provider may delete exactly those two and nothing else
    const policies = Object.values(resources).filter(
      (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.PolicyName).includes('CredSpecCleanup'),
    );
    const statements = policies.flatMap(
      (p) => (p.Properties.PolicyDocument as { Statement: Array<{ Action: string; Resource: CfnValue }> }).Statement,
    );
    expect(statements.map((st) => st.Action).sort()).toEqual(['s3:DeleteObject', 'ssm:DeleteParameter']);
    expect(JSON.stringify(statements)).toContain(':parameter/amazon-ecs-gmsa-linux/credspec');
    expect(JSON.stringify(statements)).toContain('/credspecs/SampleWebApp.json');
  });

  test('GIVEN DB_ENGINE_VERSION pins a full version THEN SQL Server uses it', () => {
    const pinned = databaseTemplate('domainless-ec2-ssm', { dbEngineVersion: '16.00.4236.2.v1' });
    pinned.hasResourceProperties('AWS::RDS::DBInstance', { EngineVersion: '16.00.4236.2.v1' });
  });

  test('THEN the major-version default carries the acknowledged CloudFormation finding E9006 with its reason', () => {
    // test/security/cdk-nag.test.ts shows that the acknowledgement silences the finding in every mode.
    const acknowledged = (instance: rds.DatabaseInstance) =>
      Object.assign(
        {},
        ...instance.node.metadata
          .filter((m) => m.type === 'aws:cdk:acknowledged-rules')
          .map((m) => m.data as Record<string, string>),
      ) as Record<string, string>;
    expect(acknowledged(stacks.database.sqlServer.instance)['CloudFormation-Validate::E9006']).toMatch(
      /^RDS accepts a major version and picks a current minor/,
    );
    const pinned = buildApp(settingsFor('domainless-ec2-ssm', { dbEngineVersion: '16.00.4236.2.v1' }));
    expect(Object.keys(acknowledged(pinned.stacks.database.sqlServer.instance))).not.toContain(
      'CloudFormation-Validate::E9006',
    );
  });

  test('fails on an engine version RDS does not name', () => {
    const stack = new Stack(new App(), 'Test');
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const securityGroup = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    const props = {
      vpc,
      securityGroup,
      directoryId: 'd-1',
      directoryDnsName: 'example.com',
      instanceType: 't3.small',
      instanceIdentifier: 'sql',
    };
    expect(() => new SqlServer(stack, 'Word', { ...props, engineVersion: 'latest' })).toThrow(
      'SQL Server engine version "latest" is invalid: use a major version such as 16.00 or a full RDS version such as 16.00.4236.2.v1.',
    );
    expect(() => new SqlServer(stack, 'Short', { ...props, engineVersion: '16' })).toThrow(/is invalid/);
    expect(() => new SqlServer(stack, 'Ok', { ...props, engineVersion: '15.00.4043.16.v1' })).not.toThrow();
  });

  // Every version bin/sql-server-versions.ts accepts, as a major version and as one full version of it.
  test.each(Object.keys(RDS_SQL_SERVER_MAJOR_VERSIONS).flatMap((major) => [major, `${major}.9999.1.v1`]))(
    'GIVEN engine version %s THEN the instance uses its own parameter group of the matching family with rds.force_ssl=1 and the pinned CA',
    (engineVersion) => {
      // GIVEN
      const stack = new Stack(new App(), 'Test');
      const vpc = new ec2.Vpc(stack, 'Vpc');
      const securityGroup = new ec2.SecurityGroup(stack, 'Sg', { vpc });
      // WHEN
      const sql = new SqlServer(stack, 'Sql', {
        vpc,
        securityGroup,
        directoryId: 'd-1',
        directoryDnsName: 'example.com',
        instanceType: 't3.small',
        instanceIdentifier: 'sql',
        engineVersion,
      });
      // THEN
      const template = Template.fromStack(stack);
      const groups = template.findResources('AWS::RDS::DBParameterGroup');
      expect(Object.values(groups).map((g) => g.Properties.Family)).toEqual([
        `sqlserver-web-${engineVersion.slice(0, 2)}.0`,
      ]);
      expect(Object.values(groups)[0].Properties.Parameters).toEqual({ 'rds.force_ssl': '1' });
      template.hasResourceProperties('AWS::RDS::DBInstance', {
        DBParameterGroupName: { Ref: stack.getLogicalId(sql.parameterGroup.node.defaultChild as CfnElement) },
        CACertificateIdentifier: 'rds-ca-rsa2048-g1',
      });
      expect(SQL_SERVER_CA_CERTIFICATE.toString()).toBe('rds-ca-rsa2048-g1');
      expect(SQL_SERVER_PARAMETERS).toEqual({ 'rds.force_ssl': '1' });
    },
  );

  test('fails on a DB instance identifier RDS rejects', () => {
    const stack = new Stack(new App(), 'Test');
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const securityGroup = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    const props = { vpc, securityGroup, directoryId: 'd-1', directoryDnsName: 'example.com', instanceType: 't3.small' };
    expect(() => new SqlServer(stack, 'Double', { ...props, instanceIdentifier: 'a--sql' })).toThrow(
      /DB instance identifier "a--sql" is invalid/,
    );
    expect(() => new SqlServer(stack, 'Upper', { ...props, instanceIdentifier: 'Sql' })).toThrow(/is invalid/);
    expect(() => new SqlServer(stack, 'Long', { ...props, instanceIdentifier: `a${'b'.repeat(63)}` })).toThrow(
      /is invalid/,
    );
  });
});

describe('bastion scripts', () => {
  test('THEN the setup runs AD, CredSpec, then the database, signals, joins without rebooting and stops unless told to keep running', () => {
    // Contract 2 of the bastion: the run order, by call site. The Pester suites run the script itself.
    const setup = script('Invoke-BastionSetup.ps1');
    const order = ['Configure-AD.ps1', 'Generate-CredSpec.ps1', 'Configure-Database.ps1'].map((step) =>
      setup.lastIndexOf(step),
    );
    order.push(setup.lastIndexOf('-Status SUCCESS'));
    expect(order.every((index) => index > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(setup).toContain('Get-RDSDBInstance');
    expect(setup).toContain('-Status FAILURE');
    expect(setup).toMatch(/Add-Computer\b/);
    expect(setup).not.toMatch(/Add-Computer[^\n]*-Restart/);
    expect(setup).toContain('Stop-Computer -Force');
    expect(setup).toContain('Restart-Computer -Force');
    expect(setup).toMatch(/\$(?:script:)?config\.KeepRunning/i);
    expect(setup).toContain('Write-CWLLogEvent');
    expect(setup).toContain("'X-aws-ec2-metadata-token'");
  });

  test('THEN the rendered user data of every mode parses as PowerShell', () => {
    const sources = MODE_NAMES.map((mode) => ({
      name: mode,
      text: userDataOf(databaseTemplate(mode, { bastionRdpCidr: '203.0.113.7/32' }))
        .text.replace(/^<powershell>|<\/powershell>$/g, '')
        .replace(/<ref>/g, 'REF'),
    }));
    for (const result of parsePowerShell(sources)) {
      expect({ mode: result.name, problems: result.problems }).toEqual({ mode: result.name, problems: [] });
    }
  });

  test('THEN the setup passes each script only parameters it declares, and every mandatory one', () => {
    // GIVEN
    const setup = script('Invoke-BastionSetup.ps1');
    const declared = Object.fromEntries(
      parsePowerShell(
        ['Configure-AD.ps1', 'Configure-Database.ps1', 'Generate-CredSpec.ps1'].map((name) => ({
          name,
          text: script(name),
        })),
      ).map((r) => [r.name, r.parameters]),
    );
    // A call is `& "$PSScriptRoot\<script>"` followed by `-Name value` pairs (lines continued with a backtick) or by
    // `@variable`, a hashtable built before the call (its literal keys and any `$variable.Key =` added later).
    const keysOf = (block: string) => [...block.matchAll(/^\s+(\w+)\s+=/gm)].map((m) => m[1]);
    const passedTo = (name: string): string[] => {
      const start = setup.lastIndexOf(`\\${name}"`);
      if (start < 0) return [];
      const lines: string[] = [];
      for (const line of setup.slice(start).split('\n')) {
        lines.push(line);
        if (!line.trimEnd().endsWith('`')) break;
      }
      const call = lines.join('\n').split('|')[0];
      const splatted = /^\\[^"]+"\s+@(\w+)/.exec(call)?.[1];
      if (splatted !== undefined) {
        const block = new RegExp(`\\$${splatted} = @\\{([\\s\\S]*?)\\n\\s*\\}`).exec(setup)?.[1] ?? '';
        return [
          ...keysOf(block),
          ...[...setup.matchAll(new RegExp(`\\$${splatted}\\.(\\w+) =`, 'g'))].map((m) => m[1]),
        ];
      }
      // Arguments in parentheses (such as `(New-Credential -UserName …)`) are other commands' parameters.
      let outer = call;
      while (/\([^()]*\)/.test(outer)) outer = outer.replace(/\([^()]*\)/g, '');
      return [...outer.matchAll(/\s-(\w+)\b/g)].map((m) => m[1]);
    };
    const passed = Object.fromEntries(Object.keys(declared).map((name) => [name, passedTo(name)]));

    for (const [name, parameters] of Object.entries(declared)) {
      // THEN
      const names = parameters.map((p) => p.name);
      const mandatory = parameters
        .filter((p) => p.attributes.some((a) => /Mandatory = \$true/.test(a)))
        .map((p) => p.name);
      expect(passed[name].length).toBeGreaterThan(2);
      expect(passed[name].filter((p) => !names.includes(p))).toEqual([]);
      expect(mandatory.filter((p) => !passed[name].includes(p))).toEqual([]);
    }
  });

  test('THEN Configure-AD.ps1 works against the directory with -Server and -Credential and uses the shared names', () => {
    const configureAd = script('Configure-AD.ps1');
    expect(configureAd).toContain('$domain = Get-ADDomain -Server $DomainName -Credential $Credential');
    expect(configureAd).toContain('$ad = @{ Server = $domain.PDCEmulator; Credential = $Credential }');
    expect(configureAd).toContain(`[string] $GmsaName = '${GMSA_NAME}'`);
    expect(configureAd).toContain(`[string] $GmsaPrincipalsGroup = '${GMSA_PRINCIPALS_GROUP}'`);
    expect(configureAd).toContain("$JoinComputersGroup = 'AWS Delegated Add Workstations To Domain Users'");
    // WriteProperty on the group's `member` attribute only.
    expect(configureAd).toContain("$MemberAttributeGuid = [Guid]'bf9679c0-0de6-11d0-a285-00aa003049e2'");
    expect(configureAd).toContain('-PrincipalsAllowedToRetrieveManagedPassword $GmsaPrincipalsGroup');
    expect(configureAd).toContain('-Path $usersOu');
  });

  test('THEN the setup passes the domain-join secret user, whose name the directory stack sets', () => {
    expect(script('Invoke-BastionSetup.ps1')).toContain('$joinSecret.awsSeamlessDomainUsername');
    expect(DOMAIN_JOIN_USERNAME).toBe('ecs-domain-join');
  });

  test('THEN Configure-Database.ps1 creates the gMSA and admin logins idempotently and sets the database online', () => {
    const configureDb = script('Configure-Database.ps1');
    expect(configureDb).toContain('"$NetBiosName\\$GmsaName`$", "$NetBiosName\\$AdAdminUserName"');
    // The login statements are in the shared SqlServerLogins.ps1 (also Configure-SidecarUser.ps1's, with db_datareader).
    expect(configureDb).toContain(
      'Grant-WindowsLogin -Principal $principal -DatabaseName $DatabaseName -Role db_owner',
    );
    const logins = script('SqlServerLogins.ps1');
    expect(logins).toContain('sys.server_principals');
    expect(logins).toContain('GRANT VIEW SERVER STATE TO');
    expect(logins).toContain('ALTER ROLE [$Role] ADD MEMBER');
    expect(script('Configure-SidecarUser.ps1')).toContain('-Role db_datareader');
    expect(configureDb).toContain('rdsadmin.dbo.rds_set_database_online');
    // Contract 4: the pinned script is checked against its hash, and the database must exist before the logins.
    expect(configureDb).toMatch(/\$ChinookScriptHash\b/);
    expect(configureDb).toContain("DB_ID(N'");
    for (const name of BASTION_SCRIPTS) expect(script(name)).not.toContain('Chinook_SqlServer_AutoIncrementPKs.sql');
    // Run by hand without the settings file, the script still loads the same pinned file.
    expect(configureDb).toContain(`[string] $ChinookScriptUrl = '${CHINOOK_SCRIPT_URL}'`);
    expect(configureDb).toContain(`[string] $ChinookScriptHash = '${CHINOOK_SCRIPT_SHA256}'`);
  });

  test('THEN Add-ECSContainerInstancesToADGroup.ps1 takes the Auto Scaling group name', () => {
    const add = script('Add-ECSContainerInstancesToADGroup.ps1');
    expect(add).toMatch(/\[Parameter\(Mandatory = \$true\)\]\s+\[string\] \$EcsAsgName/);
    expect(add).toContain(`[string] $GmsaPrincipalsGroup = '${GMSA_PRINCIPALS_GROUP}'`);
  });
});
