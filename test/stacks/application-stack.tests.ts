import * as fs from 'fs';
import * as path from 'path';
import { CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Settings } from '../../lib/settings';
import { ApplicationStack } from '../../lib/stacks/application-stack';
import { buildApp, BuiltApp, MODE_NAMES, ModeName, settingsFor, sharedApp } from '../helpers/modes';

type CfnValue = unknown;
/** A template, resource or property object as `Template` hands it out. */
type Json = ReturnType<Template['toJSON']>;

interface Built extends BuiltApp {
  readonly application: ApplicationStack;
  readonly template: Template;
}

/**
 * The whole app with DEPLOY_APP on, and the application stack's template; built once per settings in this file, for
 * tests that only read it (`own` builds a fresh one, for a test that adds constructs).
 */
function build(mode: ModeName, overrides: Partial<Settings> = {}, own = false): Built {
  const settings = settingsFor(mode, { deployApp: true, ...overrides });
  const built = own ? buildApp(settings) : sharedApp(settings);
  const application = built.stacks.application;
  if (application === undefined) throw new Error('expected an application stack');
  return { ...built, application, template: Template.fromStack(application) };
}

/** Every stack's template, by stack name, so values read across stacks can be followed to their source. */
function templatesByName(built: BuiltApp): Record<string, Json> {
  const stacks: Stack[] = [built.stacks.directory, built.stacks.database, built.stacks.cluster];
  if (built.stacks.application) stacks.push(built.stacks.application);
  return Object.fromEntries(stacks.map((s) => [s.stackName, Template.fromStack(s).toJSON()]));
}

/**
 * A CloudFormation value as one readable string: pseudo parameters as `${AWS::...}`, a reference as `${LogicalId}`
 * or `${LogicalId.Attribute}`, a value read from another stack replaced by what that stack exports. Two readings make
 * ARNs obvious: an SSM parameter's Ref is its literal name, and a bucket's Arn is `arn:${AWS::Partition}:s3:::${Bucket}`.
 */
function render(value: CfnValue, templates: Record<string, Json>, own: Json): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  const v = value as Json;
  if ('Ref' in v) {
    if (String(v.Ref).startsWith('AWS::')) return `\${${v.Ref}}`;
    const resource = own.Resources?.[v.Ref];
    if (resource?.Type === 'AWS::SSM::Parameter' && typeof resource.Properties.Name === 'string')
      return resource.Properties.Name;
    return `\${${v.Ref}}`;
  }
  if ('Fn::GetAtt' in v) {
    const [id, attribute] = v['Fn::GetAtt'];
    if (own.Resources?.[id]?.Type === 'AWS::S3::Bucket' && attribute === 'Arn')
      return `arn:\${AWS::Partition}:s3:::\${${id}}`;
    return `\${${id}.${attribute}}`;
  }
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'];
    return (parts as CfnValue[]).map((p) => render(p, templates, own)).join(separator);
  }
  if ('Fn::Sub' in v && typeof v['Fn::Sub'] === 'string') return v['Fn::Sub'];
  if ('Fn::GetStackOutput' in v) {
    const { StackName, OutputName } = v['Fn::GetStackOutput'];
    const producer = templates[StackName];
    if (producer === undefined) throw new Error(`no template for stack ${StackName}`);
    return render(producer.Outputs[OutputName].Value, templates, producer);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** A renderer bound to one built app, reading values of the application stack. */
function renderer(built: Built): (value: CfnValue) => string {
  const templates = templatesByName(built);
  const own = templates[built.application.stackName];
  return (value) => render(value, templates, own);
}

function logicalId(stack: Stack, element: unknown): string {
  return stack.getLogicalId(element as CfnElement);
}

/** The only resource of a type in a template. */
function only(template: Template, type: string): Json {
  const resources = Object.values(template.findResources(type));
  expect(resources).toHaveLength(1);
  return resources[0];
}

/** The container definitions of the only task definition, by name. */
function containersOf(template: Template): Record<string, Json> {
  const definitions: Json[] = only(template, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions;
  return Object.fromEntries(definitions.map((d) => [d.Name as string, d]));
}

/** The web app's container. */
function containerOf(template: Template): Json {
  const web = containersOf(template).web;
  expect(web).toBeDefined();
  return web;
}

/** The statements of a role's policies, each as `{actions, resources}` with resources rendered. */
function statementsOf(built: Built, roleId: string): Array<{ sid?: string; actions: string[]; resources: string[] }> {
  const rendered = renderer(built);
  const policies = built.template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  return Object.values(policies)
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .map((s: Json) => {
      expect(s.Effect).toBe('Allow');
      const actions = ([] as string[]).concat(s.Action).sort();
      const resources = ([] as CfnValue[]).concat(s.Resource).map(rendered).sort();
      return s.Sid === undefined ? { actions, resources } : { sid: s.Sid, actions, resources };
    });
}

const CREDSPEC_KEY = 'credspecs/SampleWebApp.json';
const PARAMETER_NAME = '/amazon-ecs-gmsa-linux/credspec';
const ECS_EXEC_ACTIONS = [
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
];

/** What each mode must render: the `credentialSpecs` entry and the CredSpec statements of the execution role. */
function expectedCredSpec(
  built: Built,
  mode: ModeName,
): { entry: string; statements: Array<{ sid: string; actions: string[]; resources: string[] }> } {
  const settings = settingsFor(mode);
  const directory = built.stacks.directory;
  // The Kerberos sidecar: no CredSpec, and the TASK role (not the execution role) reads the identity.
  if (settings.ticketSource === 'sidecar') return { entry: '', statements: [] };
  const bucket = `arn:\${AWS::Partition}:s3:::\${${logicalId(directory, directory.credSpecBucket.node.defaultChild)}}`;
  const parameterArn = `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${PARAMETER_NAME}`;
  const prefix = settings.domainJoinEcs ? 'credentialspec:' : 'credentialspecdomainless:';
  const location = settings.credSpecFromS3 ? `${bucket}/${CREDSPEC_KEY}` : parameterArn;
  const statements = settings.credSpecFromS3
    ? [
        { sid: 'LocateCredSpecBucket', actions: ['s3:ListBucket'], resources: [bucket] },
        { sid: 'ReadCredSpecObject', actions: ['s3:GetObject'], resources: [`${bucket}/${CREDSPEC_KEY}`] },
      ]
    : [{ sid: 'ReadCredSpecParameter', actions: ['ssm:GetParameters'], resources: [parameterArn] }];
  if (!settings.domainJoinEcs) {
    const secret = `\${${logicalId(directory, directory.identitySecret.node.defaultChild)}}`;
    statements.push({ sid: 'ReadDomainlessIdentity', actions: ['secretsmanager:GetSecretValue'], resources: [secret] });
  }
  return { entry: `${prefix}${location}`, statements };
}

describe.each(MODE_NAMES)('application stack in mode %s', (mode) => {
  const built = build(mode);
  const { application, template } = built;
  const settings = settingsFor(mode);
  const rendered = renderer(built);

  test('THEN the snapshot matches', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  const sidecar = settings.ticketSource === 'sidecar';
  test(`THEN the task has ${sidecar ? 'the web app and the Kerberos sidecar' : 'only the web app'}`, () => {
    expect(Object.keys(containersOf(template)).sort()).toEqual(sidecar ? ['kerberos-sidecar', 'web'] : ['web']);
  });

  test('THEN the container has exactly the credentialSpecs entry of the mode, naming what the bastion writes', () => {
    const container = containerOf(template);
    if (sidecar) {
      for (const c of Object.values(containersOf(template))) expect(c.CredentialSpecs).toBeUndefined();
      return;
    }
    expect(container.CredentialSpecs).toHaveLength(1);
    expect(rendered(container.CredentialSpecs[0])).toBe(expectedCredSpec(built, mode).entry);
    // The bastion writes this very object and parameter (the directory stack's storage).
    expect(built.stacks.directory.credSpecObjectKey).toBe(CREDSPEC_KEY);
    // The parameter is no resource (the bastion owns it): its name is the link.
    expect(built.stacks.directory.credSpecParameter.parameterName).toBe(PARAMETER_NAME);
  });

  test('THEN the execution role can pull the image, write the log group and read the CredSpec (and the identity in domainless mode), nothing else', () => {
    const logGroup = logicalId(application, application.task.logGroup.node.defaultChild);
    const statements = statementsOf(built, logicalId(application, application.task.executionRole.node.defaultChild));
    const expected = [
      {
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: [
          'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}',
        ],
      },
      // The only "*": ecr:GetAuthorizationToken has no resource-level permissions.
      { actions: ['ecr:GetAuthorizationToken'], resources: ['*'] },
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`\${${logGroup}.Arn}`] },
      ...expectedCredSpec(built, mode).statements,
    ];
    expect(statements).toEqual(expect.arrayContaining(expected));
    expect(statements).toHaveLength(expected.length);
    const role = template.toJSON().Resources[logicalId(application, application.task.executionRole.node.defaultChild)];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test('THEN the task role holds nothing while ECS Exec is off (with the sidecar: the read of its secret only)', () => {
    const statements = statementsOf(built, logicalId(application, application.task.taskRole.node.defaultChild));
    const directory = built.stacks.directory;
    const secret = `\${${logicalId(directory, directory.identitySecret.node.defaultChild)}}`;
    const expected = sidecar
      ? [{ sid: 'ReadSidecarIdentity', actions: ['secretsmanager:GetSecretValue'], resources: [secret] }]
      : [];
    expect(statements).toEqual(expect.arrayContaining(expected));
    expect(statements).toHaveLength(expected.length);
    const role = template.toJSON().Resources[logicalId(application, application.task.taskRole.node.defaultChild)];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(Object.keys(containerOf(template).MountPoints ?? []).length).toBe(sidecar ? 2 : 1);
  });

  test('THEN the connection string names SQL Server by its AD host name and verifies the certificate against the RDS endpoint', () => {
    const host = built.stacks.database.kerberosHostName;
    expect(host).toBe(`${built.stacks.database.dbInstanceIdentifier}.directory.amazon-ecs-gmsa-linux.com`);
    const environment = containerOf(template).Environment as Array<{ Name: string; Value: CfnValue }>;
    // CDK adds AWS_REGION itself to containers of awsvpc EC2 task definitions.
    expect(environment.map((e) => e.Name).filter((name) => name !== 'AWS_REGION')).toEqual([
      'ConnectionStrings__Chinook',
      'KRB5CCNAME',
    ]);
    expect(environment).toContainEqual(
      sidecar
        ? { Name: 'KRB5CCNAME', Value: 'FILE:/var/kerberos/krb5cc' }
        : { Name: 'KRB5CCNAME', Value: '/var/credentials-fetcher/krbdir/krb5cc' },
    );
    const connectionString = renderer(built)(environment.find((e) => e.Name === 'ConnectionStrings__Chinook')!.Value);
    const endpoint = `\${${logicalId(built.stacks.database, built.stacks.database.sqlServer.instance.node.defaultChild)}.Endpoint.Address}`;
    expect(connectionString).toBe(
      `Server=${host};Database=Chinook;Integrated Security=true;` +
        `Encrypt=Mandatory;TrustServerCertificate=false;HostNameInCertificate=${endpoint}`,
    );
    expect(JSON.stringify(environment)).not.toMatch(/Password/i);
  });

  test('THEN the container listens on 8080, checks /healthz with bash alone, and logs to a log group destroyed with the stack', () => {
    const container = containerOf(template);
    expect(container.PortMappings).toEqual([{ ContainerPort: 8080, Protocol: 'tcp' }]);
    expect(container.HealthCheck).toEqual({
      Command: [
        'CMD',
        'bash',
        '-c',
        "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '",
      ],
      Interval: 30,
      Timeout: 5,
      Retries: 3,
      StartPeriod: 30,
    });
    expect(container.LinuxParameters.InitProcessEnabled).toBe(true);
    const logGroup = logicalId(application, application.task.logGroup.node.defaultChild);
    expect(container.LogConfiguration).toEqual({
      LogDriver: 'awslogs',
      Options: {
        'awslogs-group': { Ref: logGroup },
        'awslogs-stream-prefix': 'web',
        'awslogs-region': { Ref: 'AWS::Region' },
      },
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
  });

  test('THEN the image is built from web-app/ for linux/amd64 by the CDK toolkit', () => {
    expect(rendered(containerOf(template).Image)).toMatch(
      /^\$\{AWS::AccountId\}\.dkr\.ecr\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}\/cdk-hnb659fds-container-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}:[0-9a-f]{64}$/,
    );
    const assembly = built.app.synth();
    const manifest = assembly.artifacts.find(
      (a): a is cxapi.AssetManifestArtifact =>
        a instanceof cxapi.AssetManifestArtifact && a.id === `${application.stackName}.assets`,
    );
    const images = Object.values(manifest?.contents.dockerImages ?? {});
    // With the sidecar, its image (kerberos-sidecar/) too.
    expect(images).toHaveLength(sidecar ? 2 : 1);
    for (const image of images) expect(image.source.platform).toBe('linux/amd64');
    const staged = path.join(assembly.directory, images[0].source.directory as string);
    expect(fs.existsSync(path.join(staged, 'Dockerfile'))).toBe(true);
    // Build outputs and the tests stay out of the build context.
    expect(fs.existsSync(path.join(staged, 'tests'))).toBe(false);
  });

  test('THEN the ECR repository <SOLUTION_ID>/web-site is emptied and deleted on destroy, and its URI is an output', () => {
    template.hasResource('AWS::ECR::Repository', {
      Properties: {
        RepositoryName: 'amazon-ecs-gmsa-linux/web-site',
        EmptyOnDelete: true,
        ImageScanningConfiguration: { ScanOnPush: true },
      },
      DeletionPolicy: 'Delete',
    });
    template.hasOutput('ECRRepositoryURI', {});
  });

  test('THEN the service keeps 2 tasks in the private subnets, rolls back a failing deployment and refuses ECS Exec', () => {
    const service = only(template, 'AWS::ECS::Service').Properties;
    expect(service.DesiredCount).toBe(2);
    expect(service.DeploymentConfiguration).toEqual({
      DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      MaximumPercent: 200,
      MinimumHealthyPercent: 100,
    });
    expect(service.EnableExecuteCommand).toBe(false);
    expect(service.LoadBalancers).toEqual([
      {
        ContainerName: 'web',
        ContainerPort: 8080,
        TargetGroupArn: { Ref: logicalId(application, application.webApp.targetGroup.node.defaultChild) },
      },
    ]);
    const network = service.NetworkConfiguration.AwsvpcConfiguration;
    expect(network.AssignPublicIp).toBe('DISABLED');
    const privateSubnets = built.stacks.directory.vpc.privateSubnets.map(
      (s) => `\${${logicalId(built.stacks.directory, s.node.defaultChild)}}`,
    );
    expect(network.Subnets.map(rendered).sort()).toEqual(privateSubnets.sort());
    expect(privateSubnets).toHaveLength(2);
  });

  test('THEN the load balancer is internet-facing in the public subnets and checks /healthz on the tasks by IP', () => {
    const loadBalancer = only(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer').Properties;
    expect(loadBalancer.Scheme).toBe('internet-facing');
    const publicSubnets = built.stacks.directory.vpc.publicSubnets.map(
      (s) => `\${${logicalId(built.stacks.directory, s.node.defaultChild)}}`,
    );
    expect(loadBalancer.Subnets.map(rendered).sort()).toEqual(publicSubnets.sort());
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080,
      Protocol: 'HTTP',
      TargetType: 'ip',
      HealthCheckPath: '/healthz',
      Matcher: { HttpCode: '200' },
    });
  });

  // EC2 (defaults: 2 t3.medium hosts, 3 network interfaces each, one the host's): 4 awsvpc tasks fit, so at most 2
  // tasks, which a rolling deployment doubles to 4. Fargate has no such bound.
  const maxTasks = settings.fargate ? 6 : 2;
  test(`THEN CPU target tracking scales the service between 2 and ${maxTasks} tasks`, () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 2,
      MaxCapacity: maxTasks,
      ScalableDimension: 'ecs:service:DesiredCount',
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        TargetValue: 60,
      }),
    });
  });

  test('THEN the load balancer reaches the tasks on 8080 only, and the tasks reach SQL Server on 1433 by a rule of THIS stack', () => {
    const tasks = logicalId(application, application.webApp.taskSecurityGroup.node.defaultChild);
    const alb = logicalId(application, application.webApp.loadBalancerSecurityGroup.node.defaultChild);
    const database = logicalId(built.stacks.database, built.stacks.database.databaseSecurityGroup.node.defaultChild);
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => ({
      group: rendered(r.Properties.GroupId),
      source: rendered(r.Properties.SourceSecurityGroupId),
      ports: `${r.Properties.IpProtocol}/${r.Properties.FromPort}-${r.Properties.ToPort}`,
    }));
    expect(ingress).toEqual(
      expect.arrayContaining([
        { group: `\${${tasks}.GroupId}`, source: `\${${alb}.GroupId}`, ports: 'tcp/8080-8080' },
        { group: `\${${database}.GroupId}`, source: `\${${tasks}.GroupId}`, ports: 'tcp/1433-1433' },
      ]),
    );
    expect(ingress).toHaveLength(2);
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')).map((r) => ({
      group: rendered(r.Properties.GroupId),
      destination: rendered(r.Properties.DestinationSecurityGroupId),
      ports: `${r.Properties.IpProtocol}/${r.Properties.FromPort}-${r.Properties.ToPort}`,
    }));
    expect(egress).toEqual([
      { group: `\${${alb}.GroupId}`, destination: `\${${tasks}.GroupId}`, ports: 'tcp/8080-8080' },
    ]);
    // The task security group has no inline ingress, and the database stack knows nothing of the application stack.
    expect(template.toJSON().Resources[tasks].Properties.SecurityGroupIngress).toBeUndefined();
    expect(JSON.stringify(Template.fromStack(built.stacks.database).toJSON())).not.toContain('TaskSecurityGroup');
    expect(built.stacks.database.dependencies).not.toContain(application);
  });

  test('THEN ServiceURL is the http:// URL of the load balancer', () => {
    const alb = logicalId(application, application.webApp.loadBalancer.node.defaultChild);
    const output = template.toJSON().Outputs.ServiceURL;
    expect(rendered(output.Value)).toBe(`http://\${${alb}.DNSName}`);
  });

  if (settings.fargate) {
    test('THEN the task runs on Fargate LATEST (1.4.0 or later) with the Linux x86_64 runtime platform', () => {
      template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        RequiresCompatibilities: ['FARGATE'],
        NetworkMode: 'awsvpc',
        Cpu: '512',
        Memory: '1024',
        RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
      });
      const service = only(template, 'AWS::ECS::Service').Properties;
      expect(service.PlatformVersion).toBe('LATEST');
      expect(service.CapacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE', Weight: 1 }]);
      expect(service.LaunchType).toBeUndefined();
    });
  } else {
    test('THEN the task runs in awsvpc mode on the cluster capacity provider, spread across AZs', () => {
      const taskDefinition = only(template, 'AWS::ECS::TaskDefinition').Properties;
      expect(taskDefinition.RequiresCompatibilities).toEqual(['EC2']);
      expect(taskDefinition.NetworkMode).toBe('awsvpc');
      expect(taskDefinition.RuntimePlatform).toBeUndefined();
      const service = only(template, 'AWS::ECS::Service').Properties;
      const capacityProvider = built.stacks.cluster.capacityProvider;
      if (capacityProvider === undefined) throw new Error('expected a capacity provider');
      const capacityProviderId = logicalId(built.stacks.cluster, capacityProvider.node.findChild('CapacityProvider'));
      expect(
        service.CapacityProviderStrategy.map((s: { CapacityProvider: CfnValue }) => rendered(s.CapacityProvider)),
      ).toEqual([`\${${capacityProviderId}}`]);
      expect(service.PlatformVersion).toBeUndefined();
      expect(service.PlacementStrategies[0]).toEqual({ Type: 'spread', Field: 'attribute:ecs.availability-zone' });
    });
  }
});

/** Every IPv4 and IPv6 source CIDR admitted by any security group of the template (inline or separate rules). */
function ingressCidrs(template: Template): string[] {
  const inline = Object.values(template.findResources('AWS::EC2::SecurityGroup')).flatMap(
    (g) => g.Properties.SecurityGroupIngress ?? [],
  );
  const separate = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties);
  return [...inline, ...separate]
    .flatMap((rule: { CidrIp?: string; CidrIpv6?: string }) => [rule.CidrIp, rule.CidrIpv6])
    .filter((c): c is string => c !== undefined);
}

describe('application stack load balancer ingress', () => {
  test('GIVEN MY_SG_INGRESS_IP unset THEN the load balancer admits the internet on port 80 only', () => {
    const { template } = build('domainless-ec2-ssm');
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('load balancer'),
      SecurityGroupIngress: [
        { CidrIp: '0.0.0.0/0', FromPort: 80, ToPort: 80, IpProtocol: 'tcp', Description: Match.anyValue() },
      ],
    });
    expect(ingressCidrs(template)).toEqual(['0.0.0.0/0']);
  });

  test.each(MODE_NAMES)(
    'GIVEN MY_SG_INGRESS_IP in mode %s THEN the load balancer admits only that address, and nothing is open to the internet',
    (mode) => {
      const { template } = build(mode, { mySgIngressCidr: '203.0.113.7/32' });
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('load balancer'),
        SecurityGroupIngress: [
          { CidrIp: '203.0.113.7/32', FromPort: 80, ToPort: 80, IpProtocol: 'tcp', Description: Match.anyValue() },
        ],
      });
      expect(ingressCidrs(template)).toEqual(['203.0.113.7/32']);
    },
  );
});

describe('application stack settings', () => {
  test.each(MODE_NAMES)('GIVEN DEPLOY_APP off in mode %s THEN there is no application stack', (mode) => {
    const { app, stacks } = buildApp(settingsFor(mode));
    expect(stacks.application).toBeUndefined();
    expect(app.node.tryFindChild('amazon-ecs-gmsa-linux-application')).toBeUndefined();
    expect(app.synth().stacks.map((s) => s.stackName)).not.toContain('amazon-ecs-gmsa-linux-application');
  });

  test('GIVEN DEPLOY_APP THEN the application stack deploys after the database stack (the bastion writes the CredSpec)', () => {
    const built = build('domainless-ec2-ssm');
    expect(built.application.dependencies).toContain(built.stacks.database);
    expect(built.application.stackName).toBe('amazon-ecs-gmsa-linux-application');
  });

  test("GIVEN APP_IMAGE in this account's ECR THEN the task uses it and the execution role may pull from that repository only", () => {
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/amazon-ecs-gmsa-linux/web-site:1.0';
    const built = build('domainless-ec2-ssm', { appImage: image });
    const rendered = renderer(built);
    expect(rendered(containerOf(built.template).Image)).toBe(
      '123456789012.dkr.ecr.eu-west-1.${AWS::URLSuffix}/amazon-ecs-gmsa-linux/web-site:1.0',
    );
    const statements = statementsOf(
      built,
      logicalId(built.application, built.application.task.executionRole.node.defaultChild),
    );
    expect(statements).toEqual(
      expect.arrayContaining([
        {
          actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          resources: ['arn:${AWS::Partition}:ecr:eu-west-1:123456789012:repository/amazon-ecs-gmsa-linux/web-site'],
        },
        { actions: ['ecr:GetAuthorizationToken'], resources: ['*'] },
      ]),
    );
    expect(JSON.stringify(statements)).not.toContain('container-assets');
    // No image is built.
    expect(built.app.synth().getStackArtifact(built.application.artifactId).assets).toEqual([]);
  });

  test('GIVEN APP_IMAGE in a public registry THEN the task pulls it by name and the execution role gets no ECR permission', () => {
    const image = 'public.ecr.aws/docker/library/nginx:1.27';
    const built = build('domainless-fargate-s3', { appImage: image });
    expect(containerOf(built.template).Image).toBe(image);
    const statements = statementsOf(
      built,
      logicalId(built.application, built.application.task.executionRole.node.defaultChild),
    );
    expect(JSON.stringify(statements)).not.toContain('ecr:');
  });

  test('fails without a capacity provider on EC2', () => {
    // Its own app: the failing constructor leaves a half-built stack in the app.
    const built = build('domainless-ec2-ssm', {}, true);
    const { directory, database, cluster } = built.stacks;
    expect(
      () =>
        new ApplicationStack(built.app, 'NoCapacity', {
          solutionId: 'x',
          vpc: directory.vpc,
          directory: directory.directory,
          cluster: cluster.cluster,
          mode: { ticketSource: 'credentials-fetcher', fargate: false, domainJoinEcs: false, credSpecFromS3: false },
          credSpecParameter: directory.credSpecParameter,
          credSpecBucket: directory.credSpecBucket,
          credSpecObjectKey: directory.credSpecObjectKey,
          identitySecret: directory.identitySecret,
          databaseSecurityGroup: database.databaseSecurityGroup,
          kerberosHostName: database.kerberosHostName,
          sqlServerEndpoint: database.endpointAddress,
        }),
    ).toThrow(/Missing capacityProvider/);
  });

  test.each([
    // [instance type, max hosts, desired, max tasks]: (interfaces - 1) x hosts slots; a deployment doubles the count.
    ['t3.medium', 1, 1, 1],
    ['t3.medium', 3, 2, 3],
    ['m5.xlarge', 2, 2, 3],
    ['m5.4xlarge', 2, 2, 6],
  ])(
    'GIVEN %s hosts, at most %d THEN the service runs %d tasks and scales to %d',
    (ecsInstanceType, ecsMaxCapacity, desired, maxTasks) => {
      const built = build('domainless-ec2-ssm', { ecsInstanceType, ecsMaxCapacity, ecsMinCapacity: 1 });
      expect(only(built.template, 'AWS::ECS::Service').Properties.DesiredCount).toBe(desired);
      built.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        MinCapacity: desired,
        MaxCapacity: maxTasks,
      });
    },
  );
});

describe.each(['domainless-ec2-ssm', 'domainless-fargate-s3'] as const)(
  'ECS Exec with ECS_EXEC=1 in mode %s',
  (mode) => {
    const built = build(mode, { ecsExec: true });
    const { application, template } = built;
    const cluster = built.stacks.cluster;
    const clusterTemplate = Template.fromStack(cluster);
    const keyId = logicalId(cluster, cluster.ecsExec!.key.node.defaultChild);
    const logGroupId = logicalId(cluster, cluster.ecsExec!.logGroup.node.defaultChild);

    test("THEN the service allows ECS Exec and the container has the SSM agent's writable paths", () => {
      expect(only(template, 'AWS::ECS::Service').Properties.EnableExecuteCommand).toBe(true);
      const paths = (containerOf(template).MountPoints as Json[]).map((m) => m.ContainerPath).sort();
      expect(paths).toEqual(['/tmp', '/var/lib/amazon/ssm', '/var/log/amazon/ssm']);
    });

    test('THEN the cluster logs every session (OVERRIDE) to its own KMS-encrypted log group and encrypts the channel', () => {
      const configuration = only(clusterTemplate, 'AWS::ECS::Cluster').Properties.Configuration
        .ExecuteCommandConfiguration;
      expect(configuration).toEqual({
        KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
        Logging: 'OVERRIDE',
        LogConfiguration: {
          CloudWatchEncryptionEnabled: true,
          CloudWatchLogGroupName: '/aws/ecs/amazon-ecs-gmsa-linux/exec',
        },
      });
      clusterTemplate.hasResource('AWS::Logs::LogGroup', {
        Properties: {
          LogGroupName: '/aws/ecs/amazon-ecs-gmsa-linux/exec',
          KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
          RetentionInDays: 30,
        },
        DeletionPolicy: 'Delete',
      });
      clusterTemplate.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      // The cluster names the group by its name, so it waits for it explicitly.
      expect(only(clusterTemplate, 'AWS::ECS::Cluster').DependsOn).toContain(logGroupId);
      // CloudWatch Logs may use the key for this one log group only.
      const keyPolicy = clusterTemplate.toJSON().Resources[keyId].Properties.KeyPolicy.Statement as Json[];
      const logsStatement = keyPolicy.find((st) => st.Sid === 'CloudWatchLogsForTheSessionLog');
      expect(JSON.stringify(logsStatement?.Condition)).toContain(':log-group:/aws/ecs/amazon-ecs-gmsa-linux/exec');
    });

    test('THEN the task role gets exactly the channel actions ECS documents, the session log writes and the key', () => {
      const statements = statementsOf(built, logicalId(application, application.task.taskRole.node.defaultChild));
      // IAM merges the statements on "*": the channel actions ECS documents and logs:DescribeLogGroups.
      expect(statements).toEqual([
        { actions: ['logs:DescribeLogGroups', ...ECS_EXEC_ACTIONS], resources: ['*'] },
        { actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [`\${${keyId}.Arn}`] },
        {
          actions: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
          resources: [
            'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/ecs/amazon-ecs-gmsa-linux/exec:*',
          ],
        },
      ]);
    });
  },
);

describe('verified TLS to SQL Server in every template', () => {
  test.each(MODE_NAMES)('GIVEN mode %s THEN no template trusts a server certificate blindly', (mode) => {
    const built = build(mode);
    for (const template of Object.values(templatesByName(built))) {
      expect(JSON.stringify(template)).not.toMatch(/TrustServerCertificate\s*=\s*(true|yes)/i);
    }
    expect(JSON.stringify(templatesByName(built))).toContain('TrustServerCertificate=false');
  });
});
