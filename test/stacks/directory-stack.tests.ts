import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp, MODE_NAMES, settingsFor, sharedApp } from '../helpers/modes';

describe('directory stack', () => {
  const { stacks } = sharedApp(settingsFor('domainless-ec2-ssm'));
  const template = Template.fromStack(stacks.directory);

  test('GIVEN the default settings THEN the stack is named after the solution id', () => {
    expect(stacks.directory.stackName).toBe('amazon-ecs-gmsa-linux-directory');
  });

  test('THEN the VPC has two public and two private subnets and one NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 4);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourcePropertiesCountIs('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true }, 2);
    template.resourcePropertiesCountIs('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false }, 2);
  });

  test('GIVEN NAT_GATEWAYS=2 THEN two NAT gateways', () => {
    const two = buildApp(settingsFor('domainless-ec2-ssm', { natGateways: 2 }));
    Template.fromStack(two.stacks.directory).resourceCountIs('AWS::EC2::NatGateway', 2);
  });

  test('THEN a flow log sends rejected traffic to a log group with retention that is destroyed with the stack', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'REJECT',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: Match.stringLikeRegexp('FlowLogGroup') },
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
  });

  test('THEN the directory is a Standard Managed AD named after the solution, its password from the admin secret', () => {
    template.hasResourceProperties('AWS::DirectoryService::MicrosoftAD', {
      Name: 'directory.amazon-ecs-gmsa-linux.com',
      ShortName: 'DIRECTORY',
      Edition: 'Standard',
      Password: {
        'Fn::Join': [
          '',
          Match.arrayWith([
            Match.stringLikeRegexp('resolve:secretsmanager:'),
            { Ref: Match.stringLikeRegexp('AdminPassword') },
          ]),
        ],
      },
      VpcSettings: { SubnetIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('privateSubnet1') }]) },
    });
  });

  test('THEN the admin secret has the documented name and no quote characters', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'amazon-ecs-gmsa-linux/active-directory-administrator-password',
      GenerateSecretString: {
        ExcludeCharacters: Match.stringLikeRegexp('"'),
        PasswordLength: 32,
        RequireEachIncludedType: true,
      },
    });
    const admin = Object.values(template.findResources('AWS::SecretsManager::Secret')).find(
      (r) => r.Properties.Name === 'amazon-ecs-gmsa-linux/active-directory-administrator-password',
    );
    expect(admin?.Properties.GenerateSecretString.ExcludeCharacters).toContain("'");
    expect(admin?.Properties.GenerateSecretString.SecretStringTemplate).toBeUndefined();
  });

  test('THEN the DHCP options name the directory and use its DNS servers, and the VPC uses them', () => {
    const directoryId = Object.keys(template.findResources('AWS::DirectoryService::MicrosoftAD'))[0];
    template.hasResourceProperties('AWS::EC2::DHCPOptions', {
      DomainName: 'directory.amazon-ecs-gmsa-linux.com',
      DomainNameServers: { 'Fn::GetAtt': [directoryId, 'DnsIpAddresses'] },
    });
    const dhcpId = Object.keys(template.findResources('AWS::EC2::DHCPOptions'))[0];
    const vpcId = Object.keys(template.findResources('AWS::EC2::VPC'))[0];
    template.hasResourceProperties('AWS::EC2::VPCDHCPOptionsAssociation', {
      DhcpOptionsId: { Ref: dhcpId },
      VpcId: { Ref: vpcId },
    });
  });

  test('THEN the domainless identity secret holds username, domainName and a generated password', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'amazon-ecs-gmsa-linux/credentials-fetcher-identity',
      GenerateSecretString: {
        SecretStringTemplate: JSON.stringify({
          username: 'ecs-gmsa-identity',
          domainName: 'directory.amazon-ecs-gmsa-linux.com',
        }),
        GenerateStringKey: 'password',
        ExcludeCharacters: Match.stringLikeRegexp('"'),
      },
    });
  });

  test('THEN every secret is deleted with the stack', () => {
    for (const secret of Object.values(template.findResources('AWS::SecretsManager::Secret'))) {
      expect(secret.DeletionPolicy).toBe('Delete');
    }
  });

  test('THEN the seamless domain join secret has the name and keys SSM requires', () => {
    const directoryId = Object.keys(template.findResources('AWS::DirectoryService::MicrosoftAD'))[0];
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: { 'Fn::Join': ['', ['aws/directory-services/', { Ref: directoryId }, '/seamless-domain-join']] },
      GenerateSecretString: {
        SecretStringTemplate: JSON.stringify({ awsSeamlessDomainUsername: 'ecs-domain-join' }),
        GenerateStringKey: 'awsSeamlessDomainPassword',
      },
    });
  });

  test('THEN the domain join association joins instances tagged for this solution', () => {
    const directoryId = Object.keys(template.findResources('AWS::DirectoryService::MicrosoftAD'))[0];
    template.hasResourceProperties('AWS::SSM::Association', {
      Name: 'AWS-JoinDirectoryServiceDomain',
      Parameters: {
        directoryId: [{ Ref: directoryId }],
        directoryName: ['directory.amazon-ecs-gmsa-linux.com'],
        dnsIpAddresses: { 'Fn::GetAtt': [directoryId, 'DnsIpAddresses'] },
      },
      Targets: [{ Key: 'tag:gmsa-linux-ecs:domain-join', Values: ['amazon-ecs-gmsa-linux'] }],
    });
    expect(stacks.directory.domainJoinTag).toEqual({
      key: 'gmsa-linux-ecs:domain-join',
      value: 'amazon-ecs-gmsa-linux',
    });
  });

  test('THEN the CredSpec parameter is named under the solution id but is no resource of the stack (the bastion owns it)', () => {
    expect(stacks.directory.credSpecParameter.parameterName).toBe('/amazon-ecs-gmsa-linux/credspec');
    template.resourceCountIs('AWS::SSM::Parameter', 0);
    template.hasOutput('CredSpecParameterName', { Value: '/amazon-ecs-gmsa-linux/credspec' });
  });

  test('THEN the CredSpec bucket is encrypted, private, TLS-only, logged and emptied on destroy', () => {
    const buckets = template.findResources('AWS::S3::Bucket', {
      Properties: { LoggingConfiguration: Match.anyValue() },
    });
    const [bucketId, bucket] = Object.entries(buckets)[0];
    expect(Object.keys(buckets)).toHaveLength(1);
    expect(bucket.DeletionPolicy).toBe('Delete');
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('Custom::S3AutoDeleteObjects', { BucketName: { Ref: bucketId } });
    expect(stacks.directory.credSpecObjectKey).toBe('credspecs/SampleWebApp.json');
  });

  test('THEN the outputs name what a user looks up', () => {
    for (const output of [
      'DirectoryId',
      'DirectoryName',
      'AdminSecretName',
      'IdentitySecretName',
      'CredSpecBucketName',
      'CredSpecObjectKey',
      'CredSpecParameterName',
    ]) {
      template.hasOutput(output, {});
    }
  });

  test('GIVEN SOLUTION_ID=demo THEN names follow it', () => {
    const demo = buildApp(settingsFor('domainless-ec2-ssm', { solutionId: 'demo' }));
    const t = Template.fromStack(demo.stacks.directory);
    expect(demo.stacks.directory.stackName).toBe('demo-directory');
    t.hasResourceProperties('AWS::DirectoryService::MicrosoftAD', { Name: 'directory.demo.com' });
    t.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'demo/credentials-fetcher-identity' });
    t.hasOutput('CredSpecParameterName', { Value: '/demo/credspec' });
  });
});

describe.each(MODE_NAMES)('directory stack snapshot in mode %s', (mode) => {
  test('THEN it matches the snapshot', () => {
    const { stacks } = sharedApp(settingsFor(mode));
    expect(Template.fromStack(stacks.directory).toJSON()).toMatchSnapshot();
  });
});
