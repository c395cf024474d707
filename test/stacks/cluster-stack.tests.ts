import * as fs from 'fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import {
  HOST_SCRIPT_PATH,
  HOST_SCRIPT_SOURCE,
  LEAVE_DOMAIN_SCRIPT_SOURCE,
  PLAIN_HOST_USER_DATA,
  TICKET_READ_SCRIPT_PATH,
  USER_DATA_LIMIT_BYTES,
  withoutCommentLines,
} from '../../lib/constructs/credentials-fetcher-hosts';
import { buildApp, MODE_NAMES, ModeName, MODES, settingsFor, sharedApp } from '../helpers/modes';
import { CLOUDWATCH_AGENT_INSTALLER_PATH } from '../../lib/constructs/container-host-logs';

/** EC2 modes with credentials-fetcher hosts; the sidecar's plain hosts have a describe block of their own. */
const EC2_MODES = MODE_NAMES.filter((mode) => !MODES[mode].fargate && MODES[mode].ticketSource !== 'sidecar');
const SIDECAR_EC2_MODES = MODE_NAMES.filter((mode) => !MODES[mode].fargate && MODES[mode].ticketSource === 'sidecar');
const FARGATE_MODES = MODE_NAMES.filter((mode) => MODES[mode].fargate);

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** The launch template's user data as text, every CloudFormation token shown as `<TOKEN>`. */
function userDataText(template: Template): string {
  const launchTemplates = Object.values(template.findResources('AWS::EC2::LaunchTemplate'));
  expect(launchTemplates).toHaveLength(1);
  const userData = launchTemplates[0].Properties.LaunchTemplateData.UserData;
  const parts: unknown[] = userData['Fn::Base64']['Fn::Join'][1];
  return parts.map((part) => (typeof part === 'string' ? part : '<TOKEN>')).join('');
}

/** A statement of a synthesized policy document. */
interface PolicyStatementJson {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** A policy statement reduced to what it allows, with resources described. */
interface Allowed {
  readonly actions: string[];
  readonly resources: string[];
  readonly condition?: unknown;
}

/** Describes a resource: `*`, `this:<logical id>[.<attribute>]`, `import:<output name>`, or the ASG ARN. */
function describeResource(resource: unknown): string {
  if (resource === '*') return '*';
  const value = resource as {
    Ref?: string;
    'Fn::GetAtt'?: string[];
    'Fn::GetStackOutput'?: { OutputName: string };
    'Fn::Join'?: [string, unknown[]];
  };
  if (value.Ref) return `this:${value.Ref}`;
  if (value['Fn::GetAtt']) return `this:${value['Fn::GetAtt'].join('.')}`;
  if (value['Fn::GetStackOutput']) return `import:${value['Fn::GetStackOutput'].OutputName}`;
  if (value['Fn::Join']) {
    return value['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : describeResource(p))).join('');
  }
  return JSON.stringify(resource);
}

/**
 * Every statement of every inline policy and customer managed policy of the stack attached to the instance role, and
 * the AWS managed policies of the role.
 */
function instanceRolePermissions(template: Template): { managed: string[]; allowed: Allowed[] } {
  const profiles = Object.values(template.findResources('AWS::IAM::InstanceProfile'));
  expect(profiles).toHaveLength(1);
  const roleId: string = profiles[0].Properties.Roles[0].Ref;
  const role = template.findResources('AWS::IAM::Role')[roleId];
  const arns: unknown[] = role.Properties.ManagedPolicyArns ?? [];
  // AWS managed policies by name; the stack's own managed policies (a Ref) count with the inline ones below.
  const own = template.findResources('AWS::IAM::ManagedPolicy') as Resources;
  const managed = arns
    .filter((arn) => !(typeof arn === 'object' && (arn as { Ref?: string }).Ref! in own))
    .map((arn) => describeResource(arn).replace(/^arn:this:AWS::Partition:iam::aws:policy\//, ''));
  const policies = [
    ...Object.values(template.findResources('AWS::IAM::Policy') as Resources).filter((policy) =>
      (policy.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    ),
    ...arns.flatMap((arn) => {
      const ref = (arn as { Ref?: string }).Ref;
      return ref !== undefined && ref in own ? [own[ref]] : [];
    }),
  ];
  const allowed = policies.flatMap((policy) =>
    (policy.Properties.PolicyDocument as { Statement: PolicyStatementJson[] }).Statement.map((statement) => {
      expect(statement.Effect).toBe('Allow');
      const actions: string[] = [statement.Action].flat();
      const resources: string[] = [statement.Resource].flat().map(describeResource);
      return statement.Condition ? { actions, resources, condition: statement.Condition } : { actions, resources };
    }),
  );
  return { managed, allowed };
}

describe.each(MODE_NAMES)('cluster stack in mode %s', (mode: ModeName) => {
  const settings = settingsFor(mode);
  const { stacks } = sharedApp(settings);
  const template = Template.fromStack(stacks.cluster);

  test('THEN the Container Insights log group exists before the cluster, with a retention, and goes with the stack', () => {
    const groups = template.findResources('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: '/aws/ecs/containerinsights/amazon-ecs-gmsa-linux/performance' },
    });
    const [[groupId, group]] = Object.entries(groups);
    expect(group.Properties.RetentionInDays).toBe(7);
    expect(group.DeletionPolicy).toBe('Delete');
    const [cluster] = Object.values(template.findResources('AWS::ECS::Cluster'));
    expect(cluster.DependsOn).toContain(groupId);
  });

  test('THEN the cluster is named after the solution id and has Container Insights', () => {
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterName: 'amazon-ecs-gmsa-linux',
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
    template.hasOutput('ClusterName', { Value: { Ref: Match.stringLikeRegexp('^Cluster') } });
  });

  test(`THEN the capacity providers are Fargate, Fargate Spot${settings.fargate ? '' : ' and the Auto Scaling group'}`, () => {
    const providers = settings.fargate
      ? ['FARGATE', 'FARGATE_SPOT']
      : ['FARGATE', 'FARGATE_SPOT', { Ref: Match.stringLikeRegexp('CapacityProvider') }];
    template.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', {
      CapacityProviders: providers,
    });
    template.resourceCountIs('AWS::ECS::CapacityProvider', settings.fargate ? 0 : 1);
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', settings.fargate ? 0 : 1);
  });

  test(`THEN the cloud assembly deploys it ${settings.domainJoinEcs ? 'after' : 'alongside'} the database stack`, () => {
    // What `cdk deploy --concurrency` reads: the manifest's dependencies of the cluster stack's artifact.
    const assembly = stacks.cluster.node.root as App;
    const artifact = assembly.synth().getStackArtifact(stacks.cluster.artifactId);
    const dependsOn = artifact.dependencies.map((d) => d.id);
    // EC2 hosts use the directory stack's VPC and groups; a Fargate-only cluster references no other stack.
    if (!settings.fargate) expect(dependsOn).toContain(stacks.directory.artifactId);
    if (settings.domainJoinEcs) {
      expect(dependsOn).toContain(stacks.database.artifactId);
    } else {
      expect(dependsOn).not.toContain(stacks.database.artifactId);
    }
  });

  test('THEN it matches the snapshot', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });
});

describe.each(FARGATE_MODES)('cluster stack in Fargate mode %s', (mode) => {
  const { stacks } = sharedApp(settingsFor(mode));
  const template = Template.fromStack(stacks.cluster);

  test('THEN there are no container instances, no instance role and no SQL Server rule', () => {
    expect(stacks.cluster.capacityProvider).toBeUndefined();
    expect(stacks.cluster.instanceSecurityGroup).toBeUndefined();
    template.resourceCountIs('AWS::EC2::LaunchTemplate', 0);
    template.resourceCountIs('AWS::IAM::Role', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    expect(Object.keys(template.findOutputs('*'))).toEqual(['ClusterName']);
  });
});

describe.each(EC2_MODES)('cluster stack with EC2 container instances in mode %s', (mode) => {
  const settings = settingsFor(mode);
  const domainJoined = settings.domainJoinEcs;
  const { stacks } = sharedApp(settings);
  const template = Template.fromStack(stacks.cluster);
  const userData = userDataText(template);
  const asgId = Object.keys(template.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
  const clusterId = Object.keys(template.findResources('AWS::ECS::Cluster'))[0];
  const instanceSgId = Object.keys(template.findResources('AWS::EC2::SecurityGroup'))[0];

  test('THEN the launch template uses the ECS-optimized Amazon Linux 2023 AMI, IMDSv2 only and an encrypted volume', () => {
    const parameters = template.findParameters('*', {
      Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
      Default: '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id',
    });
    const [amiParameter] = Object.keys(parameters);
    expect(amiParameter).toBeDefined();
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        ImageId: { Ref: amiParameter },
        InstanceType: 't3.medium',
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 30, VolumeType: 'gp3' } }],
      }),
    });
  });

  test('THEN the Auto Scaling group spans the private subnets, 1..2 instances, not protected from scale-in', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '1',
      MaxSize: '2',
      NewInstancesProtectedFromScaleIn: false,
      VPCZoneIdentifier: [
        { 'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('privateSubnet1') }) },
        { 'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('privateSubnet2') }) },
      ],
    });
    template.hasOutput('ECSAutoScalingGroupName', { Value: { Ref: asgId } });
  });

  test('THEN the capacity provider has managed scaling and draining, without managed termination protection', () => {
    template.hasResourceProperties('AWS::ECS::CapacityProvider', {
      AutoScalingGroupProvider: {
        AutoScalingGroupArn: { Ref: asgId },
        ManagedScaling: Match.objectLike({ Status: 'ENABLED' }),
        ManagedTerminationProtection: 'DISABLED',
        ManagedDraining: 'ENABLED',
      },
    });
    // Managed draining replaces CDK's drain-hook Lambda function.
    template.resourceCountIs('AWS::Lambda::Function', 0);
  });

  test('GIVEN other instance settings THEN the launch template and the group follow them', () => {
    const custom = buildApp(settingsFor(mode, { ecsInstanceType: 'm5.large', ecsMinCapacity: 2, ecsMaxCapacity: 5 }));
    const customTemplate = Template.fromStack(custom.stacks.cluster);
    customTemplate.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ InstanceType: 'm5.large' }),
    });
    customTemplate.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '2', MaxSize: '5' });
  });

  test('THEN user data registers with the cluster, then writes the host script (comment lines left out) and runs it last', () => {
    const script = withoutCommentLines(fs.readFileSync(HOST_SCRIPT_SOURCE, 'utf8')).trimEnd();
    const lines = userData.split('\n');
    expect(lines[0]).toBe('#!/bin/bash');
    expect(userData).toContain('echo ECS_CLUSTER=<TOKEN> >> /etc/ecs/ecs.config');
    expect(userData).toContain(`cat > ${HOST_SCRIPT_PATH} <<'GMSA_HOST_SCRIPT_END'\n${script}\nGMSA_HOST_SCRIPT_END\n`);
    expect(userData.indexOf('ECS_CLUSTER=')).toBeLessThan(userData.indexOf('GMSA_HOST_SCRIPT_END'));
    const expectedRun = domainJoined
      ? `${HOST_SCRIPT_PATH} '--mode' 'domain-joined' '--credentials-fetcher-version' '2.0.1' ` +
        `'--domain' 'directory.amazon-ecs-gmsa-linux.com' '--domain-controllers' '<TOKEN>' ` +
        `'--join-secret' '<TOKEN>' '--group' 'SampleWebAppGmsaPrincipals'`
      : `${HOST_SCRIPT_PATH} '--mode' 'domainless' '--credentials-fetcher-version' '2.0.1'`;
    expect(lines[lines.length - 1]).toBe(
      `${expectedRun} '--cloudwatch-config' '/amazon-ecs-gmsa-linux/cloudwatch-agent/ecs-hosts' '--ticket-reader-gid' '1654'`,
    );
    // The service script the host script installs for the non-root app (grant-ticket-read.sh), written before it.
    expect(userData.indexOf(`cat > ${TICKET_READ_SCRIPT_PATH} <<`)).toBeGreaterThan(userData.indexOf('ECS_CLUSTER='));
    expect(userData.indexOf(`cat > ${TICKET_READ_SCRIPT_PATH} <<`)).toBeLessThan(
      userData.indexOf(`cat > ${HOST_SCRIPT_PATH} <<`),
    );
  });

  test('THEN user data writes the CloudWatch agent installer before the host script that runs it', () => {
    const installer = userData.indexOf(`cat > ${CLOUDWATCH_AGENT_INSTALLER_PATH} <<`);
    expect(installer).toBeGreaterThan(userData.indexOf('ECS_CLUSTER='));
    expect(installer).toBeLessThan(userData.indexOf(`cat > ${HOST_SCRIPT_PATH} <<`));
  });

  if (domainJoined) {
    test("THEN the host script's domain controllers are the directory's DNS addresses, joined with commas", () => {
      const run = Object.values(template.findResources('AWS::EC2::LaunchTemplate'))[0].Properties.LaunchTemplateData
        .UserData['Fn::Base64']['Fn::Join'][1] as unknown[];
      const index = run.findIndex((part) => typeof part === 'string' && part.endsWith("'--domain-controllers' '"));
      expect(run[index + 1]).toEqual({ 'Fn::Join': [',', expect.anything()] });
      expect(JSON.stringify(run[index + 1])).toContain('DnsIpAddresses');
    });
  }

  // The stubbed runs in test/scripts/setup-credentials-fetcher-host.test.ts show what these lines do to ecs.config, the
  // drop-ins and dnf; here: the user data of every EC2 mode carries them.
  test('THEN the host script sets the gMSA flag and blocks IMDS for awsvpc tasks in ecs.config', () => {
    expect(userData).toContain('set_ecs_config ECS_GMSA_SUPPORTED true\n');
    expect(userData).toContain('set_ecs_config ECS_AWSVPC_BLOCK_IMDS true\n');
    expect(userData).toMatch(/\nconfigure_ecs_agent\n/);
  });

  test('THEN the host script installs the pinned credentials-fetcher with the agent disabled, and orders the agent after it', () => {
    expect(userData).toContain('local packages=("credentials-fetcher-${VERSION}" krb5-workstation cyrus-sasl-gssapi)');
    expect(userData).toContain(
      'packages+=(realmd oddjob oddjob-mkhomedir sssd adcli samba-common-tools openldap-clients)',
    );
    expect(userData).toContain('with_ecs_agent_disabled install_packages "${packages[@]}"');
    expect(userData).toContain('timeout "${DNF_TIMEOUT}" dnf install -y "$@"');
    expect(userData).toContain("printf '[Unit]\\nWants=%s\\nAfter=%s\\nConditionPathExists=%s\\n\\n'");
    expect(userData).toContain('systemctl enable --now credentials-fetcher');
  });

  test('THEN the launch template requires IMDSv2 and sets the hop limit to 1', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
      }),
    });
  });

  test(`THEN a terminating host ${domainJoined ? 'leaves' : 'has no need to leave'} the domain`, () => {
    template.resourceCountIs('AWS::AutoScaling::LifecycleHook', domainJoined ? 1 : 0);
    template.resourceCountIs('AWS::Events::Rule', domainJoined ? 1 : 0);
    template.resourceCountIs('AWS::SSM::Document', domainJoined ? 1 : 0);
    if (!domainJoined) return;
    template.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
      AutoScalingGroupName: { Ref: asgId },
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      DefaultResult: 'CONTINUE',
    });
    // The runbook carries the leave-domain script verbatim and runs it with the directory's arguments.
    const [runbook] = Object.values(template.findResources('AWS::SSM::Document'));
    const commands: unknown[] = runbook.Properties.Content.mainSteps[0].inputs.Parameters.commands;
    const text = commands
      .map((line) => {
        if (typeof line === 'string') return line;
        const parts: unknown[] = (line as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
        return parts.map((p) => (typeof p === 'string' ? p : '<TOKEN>')).join('');
      })
      .join('\n');
    const leaveScript = fs.readFileSync(LEAVE_DOMAIN_SCRIPT_SOURCE, 'utf8').trimEnd();
    expect(text).toContain(`cat > "\${script}" <<'GMSA_HOST_SCRIPT_END'\n${leaveScript}\nGMSA_HOST_SCRIPT_END\n`);
    expect(text).toContain(
      `bash "\${script}" '--domain' 'directory.amazon-ecs-gmsa-linux.com' '--join-secret' '<TOKEN>' ` +
        "'--group' 'SampleWebAppGmsaPrincipals' && status=0 || status=$?",
    );
    // The script is not in user data: that has no room left under EC2's 16 KB limit.
    expect(userData).not.toContain('adcli delete-computer');
  });

  test('THEN user data stays below the 16 KB EC2 limit', () => {
    // Tokens become ARNs or names of at most a few hundred characters.
    expect(Buffer.byteLength(userData, 'utf8') + 1024).toBeLessThan(USER_DATA_LIMIT_BYTES);
  });

  test('THEN the instance role has exactly the permissions of the mode', () => {
    const { managed, allowed } = instanceRolePermissions(template);
    // Not AmazonSSMManagedInstanceCore: the stack's SessionManagerInstancePolicy (statements below) replaces it.
    expect(managed).toEqual(domainJoined ? ['AmazonSSMDirectoryServiceAccess'] : []);
    const secretAccess: Allowed = domainJoined
      ? {
          actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          resources: [expect.stringMatching(/^import:PublishOutputRefDomainJoinSecret/)],
        }
      : {
          actions: ['secretsmanager:GetSecretValue'],
          resources: [expect.stringMatching(/^import:PublishOutputRefDomainlessIdentitySecret/)],
        };
    expect(allowed).toEqual(
      expect.arrayContaining([
        secretAccess,
        // What cluster.addAsgCapacityProvider gives the ECS agent, scoped to this cluster where ECS allows it.
        {
          actions: ['ecs:DeregisterContainerInstance', 'ecs:RegisterContainerInstance', 'ecs:Submit*'],
          resources: [`this:${clusterId}.Arn`],
        },
        {
          actions: ['ecs:Poll', 'ecs:StartTelemetrySession'],
          resources: ['*'],
          condition: { ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [clusterId, 'Arn'] } } },
        },
        {
          actions: [
            'ecr:GetAuthorizationToken',
            'ecs:DiscoverPollEndpoint',
            'logs:CreateLogStream',
            'logs:PutLogEvents',
          ],
          resources: ['*'],
        },
        {
          actions: ['autoscaling:SetInstanceHealth'],
          resources: [
            `arn:this:AWS::Partition:autoscaling:this:AWS::Region:this:AWS::AccountId:autoScalingGroup:*:autoScalingGroupName/this:${asgId}`,
          ],
        },
        // The CloudWatch agent: its three log groups (their Arn ends in :*, the streams) and its configuration.
        {
          actions: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
          resources: [
            expect.stringMatching(/^this:ContainerHostLogsBootstrapLogGroup\w+\.Arn$/),
            expect.stringMatching(/^this:ContainerHostLogsCredentialsFetcherLogGroup\w+\.Arn$/),
            expect.stringMatching(/^this:ContainerHostLogsEcsAgentLogGroup\w+\.Arn$/),
          ],
        },
        {
          actions: ['ssm:GetParameter'],
          resources: [expect.stringMatching(/:parameterthis:ContainerHostLogsAgentConfig\w+$/)],
        },
        // Session Manager and Run Command (lib/constructs/session-manager-instance-policy.ts).
        {
          actions: [
            'ssm:UpdateInstanceInformation',
            'ssmmessages:CreateControlChannel',
            'ssmmessages:CreateDataChannel',
            'ssmmessages:OpenControlChannel',
            'ssmmessages:OpenDataChannel',
          ],
          resources: ['*'],
        },
        {
          actions: [
            'ec2messages:AcknowledgeMessage',
            'ec2messages:DeleteMessage',
            'ec2messages:FailMessage',
            'ec2messages:GetEndpoint',
            'ec2messages:GetMessages',
            'ec2messages:SendReply',
          ],
          resources: ['*'],
        },
      ]),
    );
    if (domainJoined) {
      // The State Manager association of the SSM domain join: its own document only.
      expect(allowed).toEqual(
        expect.arrayContaining([
          {
            actions: [
              'ssm:DescribeAssociation',
              'ssm:ListAssociations',
              'ssm:ListInstanceAssociations',
              'ssm:UpdateInstanceAssociationStatus',
            ],
            resources: ['*'],
          },
          {
            actions: ['ssm:DescribeDocument', 'ssm:GetDocument'],
            resources: ['arn:this:AWS::Partition:ssm:this:AWS::Region::document/AWS-JoinDirectoryServiceDomain'],
          },
        ]),
      );
    }
    expect(allowed).toHaveLength(domainJoined ? 11 : 9);
  });

  test('THEN the instance role reads no SSM parameter or document on "*" (issue 26)', () => {
    const { allowed } = instanceRolePermissions(template);
    const reads = allowed.filter((statement) =>
      statement.actions.some((action) => /^ssm:(GetParameter|GetDocument|Get\*|\*)/.test(action)),
    );
    expect(reads.length).toBeGreaterThan(0);
    for (const statement of reads) expect(statement.resources).not.toContain('*');
  });

  test('THEN the instance role cannot read the secret of the other mode', () => {
    const text = JSON.stringify(instanceRolePermissions(template));
    expect(text).not.toContain(domainJoined ? 'DomainlessIdentitySecret' : 'DomainJoinSecret');
  });

  test(`THEN the instances ${domainJoined ? 'carry' : 'do not carry'} the domain-join tag`, () => {
    const tags = template.findResources('AWS::AutoScaling::AutoScalingGroup')[asgId].Properties.Tags ?? [];
    const joinTag = { Key: 'gmsa-linux-ecs:domain-join', Value: 'amazon-ecs-gmsa-linux', PropagateAtLaunch: true };
    if (domainJoined) {
      expect(tags).toContainEqual(joinTag);
    } else {
      expect(tags.map((t: { Key: string }) => t.Key)).not.toContain('gmsa-linux-ecs:domain-join');
    }
  });

  test(`THEN the group-membership automation is ${domainJoined ? 'invoked' : 'absent'}`, () => {
    // The script holds the step for both modes; only the domain-joined invocation turns it on.
    const lastLine = userData.split('\n').pop() ?? '';
    if (domainJoined) {
      expect(lastLine).toContain("'--group' 'SampleWebAppGmsaPrincipals'");
    } else {
      expect(lastLine).not.toMatch(/--group|--join-secret|--domain/);
    }
  });

  test("THEN the instances reach SQL Server through the directory stack's SQL clients group: no rule here, no database reference", () => {
    expect(stacks.cluster.instanceSecurityGroup).toBeDefined();
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        SecurityGroupIds: [
          { 'Fn::GetAtt': [instanceSgId, 'GroupId'] },
          {
            'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('SqlClientsSecurityGroup') }),
          },
        ],
      }),
    });
    expect(JSON.stringify(template.toJSON())).not.toMatch(/DatabaseSecurityGroup|-database/);
  });

  test('THEN the instances accept no inbound traffic and may reach out', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: '-1' }],
    });
    const sg = template.findResources('AWS::EC2::SecurityGroup')[instanceSgId];
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
  });
});

// --- TICKET_SOURCE=sidecar: plain ECS-optimized hosts ---------------------------------------------------------------
describe.each(SIDECAR_EC2_MODES)('cluster stack with plain EC2 container instances in mode %s', (mode) => {
  const { stacks } = sharedApp(settingsFor(mode));
  const template = Template.fromStack(stacks.cluster);
  const userData = userDataText(template);
  const clusterId = Object.keys(template.findResources('AWS::ECS::Cluster'))[0];

  test('THEN the hosts are the ECS-optimized Amazon Linux 2023 AMI with IMDSv2 only, hop limit 1', () => {
    const [amiParameter] = Object.keys(
      template.findParameters('*', {
        Default: '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id',
      }),
    );
    expect(amiParameter).toBeDefined();
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        ImageId: { Ref: amiParameter },
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
      }),
    });
  });

  test('THEN user data only registers with the cluster and keeps awsvpc tasks away from IMDS: no credentials-fetcher, no gMSA flag', () => {
    expect(userData.split('\n')).toEqual([
      '#!/bin/bash',
      'echo ECS_CLUSTER=<TOKEN> >> /etc/ecs/ecs.config',
      ...PLAIN_HOST_USER_DATA,
    ]);
    expect(userData).not.toMatch(/credentials-fetcher|ECS_GMSA_SUPPORTED|dnf/);
  });

  test('THEN the instance role reads no secret and has only what the ECS agent and Session Manager need', () => {
    const { managed, allowed } = instanceRolePermissions(template);
    expect(managed).toEqual([]);
    expect(JSON.stringify(allowed)).not.toMatch(/secretsmanager|autoscaling:SetInstanceHealth|ssm:GetParameter/);
    expect(allowed).toEqual(
      expect.arrayContaining([
        {
          actions: ['ecs:DeregisterContainerInstance', 'ecs:RegisterContainerInstance', 'ecs:Submit*'],
          resources: [`this:${clusterId}.Arn`],
        },
        // SessionManagerInstancePolicy: the agent's channels only (no parameter, no document).
        expect.objectContaining({ actions: expect.arrayContaining(['ssm:UpdateInstanceInformation']) }),
        expect.objectContaining({ actions: expect.arrayContaining(['ec2messages:GetMessages']) }),
      ]),
    );
    // The ECS agent's three statements and the Session Manager policy's two.
    expect(allowed).toHaveLength(5);
  });

  test('THEN no host log groups, no lifecycle hook and no domain-join tag: nothing on the host concerns AD', () => {
    expect(stacks.cluster.hostLogs).toBeUndefined();
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    template.resourceCountIs('AWS::AutoScaling::LifecycleHook', 0);
    expect(JSON.stringify(template.toJSON())).not.toContain('gmsa-linux-ecs:domain-join');
  });

  test('THEN the hosts still join the SQL clients group and allow no inbound traffic', () => {
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    expect(JSON.stringify(template.toJSON())).toMatch(/SqlClientsSecurityGroup/);
  });
});
// --- end TICKET_SOURCE=sidecar ---------------------------------------------------------------------------------------
