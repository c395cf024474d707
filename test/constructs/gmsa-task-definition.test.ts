import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Match } from 'aws-cdk-lib/assertions';
import {
  appUserFor,
  CredSpecLocation,
  DOTNET_APP_UID,
  GmsaMode,
  GmsaTaskDefinition,
  GmsaTaskDefinitionProps,
  WRITABLE_PATHS,
  ECS_EXEC_WRITABLE_PATHS,
  chinookConnectionString,
} from '../../lib/constructs/gmsa-task-definition';
import { GmsaWebAppService, HTTPS_SSL_POLICY } from '../../lib/constructs/gmsa-web-app-service';
import { KEPT_IMAGES, parseEcrImage, WebAppImage } from '../../lib/constructs/web-app-image';

const ENV = { account: '123456789012', region: 'eu-west-1' };

/** A stack with a bucket, a parameter and a secret standing in for the directory stack's. */
function fixture(): { stack: Stack; s3: CredSpecLocation; ssm: CredSpecLocation; domainless: GmsaMode } {
  const stack = new Stack(new App(), 'Test', { env: ENV });
  const bucket = new s3.Bucket(stack, 'Bucket');
  const parameter = new ssm.StringParameter(stack, 'Parameter', { parameterName: '/test/credspec', stringValue: '{}' });
  const secret = new secretsmanager.Secret(stack, 'Identity');
  return {
    stack,
    s3: { kind: 's3', bucket, objectKey: 'credspecs/SampleWebApp.json' },
    ssm: { kind: 'ssm', parameter },
    domainless: { kind: 'domainless', identitySecret: secret },
  };
}

function props(
  overrides: Partial<GmsaTaskDefinitionProps> & Pick<GmsaTaskDefinitionProps, 'gmsa' | 'credSpec'>,
): GmsaTaskDefinitionProps {
  return {
    fargate: false,
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/nginx:1.27'),
    sqlServerHostName: 'sql.directory.example.com',
    sqlServerCertificateHostName: 'sql.abcdefghijkl.us-east-1.rds.amazonaws.com',
    ...overrides,
  };
}

describe('GmsaTaskDefinition', () => {
  test('GIVEN domainless mode and the SSM parameter THEN credentialSpecs names the parameter ARN with the domainless prefix', () => {
    const f = fixture();
    new GmsaTaskDefinition(f.stack, 'Task', props({ gmsa: f.domainless, credSpec: f.ssm }));
    const parameter = f.ssm.kind === 'ssm' ? f.stack.getLogicalId(f.ssm.parameter.node.defaultChild as CfnElement) : '';
    const container = Template.fromStack(f.stack).findResources('AWS::ECS::TaskDefinition');
    const entry = Object.values(container)[0].Properties.ContainerDefinitions[0].CredentialSpecs;
    expect(entry).toEqual([
      {
        'Fn::Join': [
          '',
          [
            'credentialspecdomainless:arn:',
            { Ref: 'AWS::Partition' },
            ':ssm:eu-west-1:123456789012:parameter',
            { Ref: parameter },
          ],
        ],
      },
    ]);
  });

  test('GIVEN domain-joined mode and the S3 object THEN credentialSpecs names the object ARN and the role reads that object only', () => {
    const f = fixture();
    new GmsaTaskDefinition(f.stack, 'Task', props({ gmsa: { kind: 'domain-joined' }, credSpec: f.s3 }));
    const template = Template.fromStack(f.stack);
    const task = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0];
    expect(task.Properties.ContainerDefinitions[0].CredentialSpecs).toEqual([
      {
        'Fn::Join': [
          '',
          ['credentialspec:', { 'Fn::GetAtt': ['Bucket83908E77', 'Arn'] }, '/credspecs/SampleWebApp.json'],
        ],
      },
    ]);
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const credSpecStatements = statements.filter((st: { Sid?: string }) => st.Sid !== undefined);
    expect(credSpecStatements).toEqual([
      {
        Sid: 'ReadCredSpecObject',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket83908E77', 'Arn'] }, '/credspecs/SampleWebApp.json']] },
      },
      {
        Sid: 'LocateCredSpecBucket',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': ['Bucket83908E77', 'Arn'] },
      },
    ]);
    // Domain-joined: the host's own computer account gets the ticket; no secret is read.
    expect(JSON.stringify(statements)).not.toContain('secretsmanager');
    // The agent locates the bucket with HeadBucket (s3:ListBucket), never with GetBucketLocation.
    expect(JSON.stringify(statements)).not.toContain('GetBucketLocation');
  });

  test('GIVEN a customer-managed key on the identity secret THEN the execution role may decrypt with it', () => {
    const f = fixture();
    const key = new kms.Key(f.stack, 'Key');
    const secret = new secretsmanager.Secret(f.stack, 'Encrypted', { encryptionKey: key });
    new GmsaTaskDefinition(
      f.stack,
      'Task',
      props({ gmsa: { kind: 'domainless', identitySecret: secret }, credSpec: f.ssm }),
    );
    const statements = Object.values(Template.fromStack(f.stack).findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const keyId = f.stack.getLogicalId(key.node.defaultChild as CfnElement);
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } }),
      ]),
    );
  });

  test('fails on Fargate in domain-joined mode', () => {
    const f = fixture();
    expect(
      () =>
        new GmsaTaskDefinition(
          f.stack,
          'Task',
          props({ fargate: true, gmsa: { kind: 'domain-joined' }, credSpec: f.s3 }),
        ),
    ).toThrow(/Fargate supports only domainless gMSA/);
  });

  test('fails on Fargate with the CredSpec in SSM', () => {
    const f = fixture();
    expect(
      () => new GmsaTaskDefinition(f.stack, 'Task', props({ fargate: true, gmsa: f.domainless, credSpec: f.ssm })),
    ).toThrow(/Fargate reads the CredSpec only from S3/);
  });
});

// --- TICKET_SOURCE=sidecar ------------------------------------------------------------------------------------------
describe('GmsaTaskDefinition with the Kerberos sidecar', () => {
  const sidecarOf = (f: ReturnType<typeof fixture>): GmsaMode => ({
    kind: 'kerberos-sidecar',
    identitySecret:
      f.domainless.kind === 'domainless' ? f.domainless.identitySecret : new secretsmanager.Secret(f.stack, 'S'),
  });

  test.each([false, true])(
    'GIVEN fargate=%p THEN two containers, the app as UID 1654 waiting for HEALTHY, no CredSpec',
    (fargate) => {
      const f = fixture();
      const task = new GmsaTaskDefinition(f.stack, 'Task', props({ fargate, gmsa: sidecarOf(f), credSpec: undefined }));
      const [definition] = Object.values(Template.fromStack(f.stack).findResources('AWS::ECS::TaskDefinition'));
      const containers = Object.fromEntries(
        (definition.Properties.ContainerDefinitions as Array<Record<string, unknown>>).map((c) => [c.Name, c]),
      );
      expect(Object.keys(containers).sort()).toEqual(['kerberos-sidecar', 'web']);
      expect(containers.web).toMatchObject({
        User: '1654',
        ReadonlyRootFilesystem: true,
        DependsOn: [{ ContainerName: 'kerberos-sidecar', Condition: 'HEALTHY' }],
        ...(fargate ? { Memory: 960 } : {}),
      });
      expect(containers.web.CredentialSpecs).toBeUndefined();
      expect(JSON.stringify(containers.web.Environment)).toContain('FILE:/var/kerberos/krb5cc');
      expect(JSON.stringify(containers.web.Environment)).not.toContain('/var/credentials-fetcher');
      expect(task.credentialSpec).toBeUndefined();
      expect(task.kerberosSidecar).toBeDefined();
      // Non-root: no Control Tower acknowledgement of a root user.
      expect(JSON.stringify(definition.Metadata ?? {})).not.toContain('ECS_TASK_DEFINITION_NONROOT_USER_CHECK');
    },
  );

  test('fails with a CredSpec: the sidecar mode has none', () => {
    const f = fixture();
    expect(() => new GmsaTaskDefinition(f.stack, 'Task', props({ gmsa: sidecarOf(f), credSpec: f.s3 }))).toThrow(
      /Invalid CredSpec with the Kerberos sidecar/,
    );
  });

  test('fails with a root app user: the sidecar writes the cache for a non-root UID', () => {
    const f = fixture();
    expect(
      () =>
        new GmsaTaskDefinition(
          f.stack,
          'Task',
          props({ gmsa: sidecarOf(f), credSpec: undefined, user: { kind: 'root', reason: 'x' } }),
        ),
    ).toThrow(/Invalid app user with the Kerberos sidecar/);
  });

  test('fails on a gMSA without a CredSpec', () => {
    const f = fixture();
    expect(() => new GmsaTaskDefinition(f.stack, 'Task', props({ gmsa: f.domainless, credSpec: undefined }))).toThrow(
      /Missing CredSpec for domainless gMSA/,
    );
  });
});
// --- end TICKET_SOURCE=sidecar --------------------------------------------------------------------------------------

describe('GmsaTaskDefinition: a read-only container, and the user per platform', () => {
  function containerOf(stack: Stack) {
    const [resource] = Object.values(Template.fromStack(stack).findResources('AWS::ECS::TaskDefinition'));
    return { resource, container: resource.Properties.ContainerDefinitions[0] };
  }

  test.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])(
    'GIVEN fargate=%s and ecsExec=%s THEN the root filesystem is read-only and only /tmp (and with ECS Exec its agent paths) are volumes',
    (fargate, ecsExec) => {
      const f = fixture();
      new GmsaTaskDefinition(f.stack, 'Task', props({ fargate, ecsExec, gmsa: f.domainless, credSpec: f.s3 }));
      const { resource, container } = containerOf(f.stack);
      const paths = { ...WRITABLE_PATHS, ...(ecsExec ? ECS_EXEC_WRITABLE_PATHS : {}) };
      expect(container.ReadonlyRootFilesystem).toBe(true);
      expect(container.MountPoints).toEqual(
        Object.entries(paths).map(([name, path]) => ({
          SourceVolume: name,
          ContainerPath: path,
          ReadOnly: false,
        })),
      );
      // No host path: a task-scoped volume that starts empty and goes with the task.
      expect(resource.Properties.Volumes).toEqual(Object.keys(paths).map((name) => ({ Name: name })));
      expect(Object.values(paths)).toContain('/tmp');
      expect(Object.values(paths).some((p) => p.includes('amazon/ssm'))).toBe(ecsExec);
    },
  );

  test('GIVEN Fargate and the default user THEN root, acknowledged with its reason', () => {
    const f = fixture();
    new GmsaTaskDefinition(f.stack, 'Task', props({ fargate: true, gmsa: f.domainless, credSpec: f.s3 }));
    const { resource, container } = containerOf(f.stack);
    expect(container.User).toBeUndefined();
    expect(resource.Metadata.guard).toEqual({
      SuppressedRules: ['ECS_TASK_DEFINITION_NONROOT_USER_CHECK'],
      Reasons: { ECS_TASK_DEFINITION_NONROOT_USER_CHECK: expect.stringContaining('root:root 0600') },
    });
  });

  test('GIVEN EC2 and the default user THEN UID 1654: the hosts grant it the ticket (EC2_HOSTS_GRANT_TICKET_READ)', () => {
    const f = fixture();
    new GmsaTaskDefinition(f.stack, 'Task', props({ fargate: false, gmsa: f.domainless, credSpec: f.s3 }));
    const { resource, container } = containerOf(f.stack);
    expect(container.User).toBe('1654');
    expect(resource.Metadata?.guard).toBeUndefined();
  });

  test('GIVEN EC2 hosts that do not grant the ticket read access THEN root, acknowledged with its reason', () => {
    const f = fixture();
    new GmsaTaskDefinition(
      f.stack,
      'Task',
      props({ gmsa: f.domainless, credSpec: f.s3, user: appUserFor(false, false) }),
    );
    const { resource, container } = containerOf(f.stack);
    expect(container.User).toBeUndefined();
    expect(resource.Metadata.guard.Reasons.ECS_TASK_DEFINITION_NONROOT_USER_CHECK).toContain('root:root 0600');
  });

  test('THEN the connection string verifies the certificate against the given host name, never trusting it blindly', () => {
    const f = fixture();
    new GmsaTaskDefinition(f.stack, 'Task', props({ gmsa: f.domainless, credSpec: f.s3 }));
    const { container } = containerOf(f.stack);
    const value = (container.Environment as Array<{ Name: string; Value: string }>).find(
      (e) => e.Name === 'ConnectionStrings__Chinook',
    )?.Value;
    expect(value).toBe(
      'Server=sql.directory.example.com;Database=Chinook;Integrated Security=true;Encrypt=Mandatory;' +
        'TrustServerCertificate=false;HostNameInCertificate=sql.abcdefghijkl.us-east-1.rds.amazonaws.com',
    );
    expect(value).toBe(
      chinookConnectionString('sql.directory.example.com', 'sql.abcdefghijkl.us-east-1.rds.amazonaws.com'),
    );
  });

  test('GIVEN EC2 hosts that grant the ticket read access THEN the image user 1654 runs and nothing is acknowledged', () => {
    const f = fixture();
    expect(appUserFor(false, true)).toEqual({ kind: 'non-root', uid: DOTNET_APP_UID });
    new GmsaTaskDefinition(
      f.stack,
      'Task',
      props({ gmsa: f.domainless, credSpec: f.s3, user: appUserFor(false, true) }),
    );
    const { resource, container } = containerOf(f.stack);
    expect(container.User).toBe('1654');
    expect(resource.Metadata?.guard).toBeUndefined();
  });

  test('GIVEN Fargate THEN root even if the EC2 hosts grant access, and a non-root user fails', () => {
    const f = fixture();
    expect(appUserFor(true, true).kind).toBe('root');
    expect(
      () =>
        new GmsaTaskDefinition(
          f.stack,
          'Task',
          props({ fargate: true, gmsa: f.domainless, credSpec: f.s3, user: { kind: 'non-root', uid: DOTNET_APP_UID } }),
        ),
    ).toThrow(/Fargate mounts the ticket cache readable by root only/);
  });

  test('fails on a non-root user with UID 0', () => {
    const f = fixture();
    expect(
      () =>
        new GmsaTaskDefinition(
          f.stack,
          'Task',
          props({ gmsa: f.domainless, credSpec: f.s3, user: { kind: 'non-root', uid: 0 } }),
        ),
    ).toThrow(/Invalid app user UID 0/);
  });
});

describe('GmsaWebAppService', () => {
  function service(certificateArn?: string): Template {
    const f = fixture();
    const vpc = new ec2.Vpc(f.stack, 'Vpc', { maxAzs: 2 });
    const cluster = new ecs.Cluster(f.stack, 'Cluster', { vpc });
    const task = new GmsaTaskDefinition(f.stack, 'Task', props({ fargate: true, gmsa: f.domainless, credSpec: f.s3 }));
    new GmsaWebAppService(f.stack, 'Service', { vpc, cluster, capacity: { kind: 'fargate' }, task, certificateArn });
    return Template.fromStack(f.stack);
  }
  const CERTIFICATE = 'arn:aws:acm:eu-west-1:123456789012:certificate/0c3f6a4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f';

  test('fails GIVEN ECS Exec on a cluster that does not log the sessions', () => {
    const f = fixture();
    const vpc = new ec2.Vpc(f.stack, 'Vpc', { maxAzs: 2 });
    const cluster = new ecs.Cluster(f.stack, 'Cluster', { vpc });
    const task = new GmsaTaskDefinition(f.stack, 'Task', props({ fargate: true, gmsa: f.domainless, credSpec: f.s3 }));
    expect(
      () =>
        new GmsaWebAppService(f.stack, 'Service', { vpc, cluster, capacity: { kind: 'fargate' }, task, ecsExec: true }),
    ).toThrow(/Invalid ECS Exec: the cluster has no executeCommandConfiguration/);
  });

  test('GIVEN no ecsExec THEN the service refuses ECS Exec', () => {
    service().hasResourceProperties('AWS::ECS::Service', { EnableExecuteCommand: false });
  });

  test('GIVEN a certificate THEN HTTPS on 443 with the recommended TLS policy forwards, and 80 only redirects', () => {
    const template = service(CERTIFICATE);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: CERTIFICATE }],
      SslPolicy: HTTPS_SSL_POLICY,
      DefaultActions: [Match.objectLike({ Type: 'forward' })],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [
        { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } },
      ],
    });
    for (const port of [80, 443]) {
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        SecurityGroupIngress: Match.arrayWith([Match.objectLike({ FromPort: port, ToPort: port })]),
      });
    }
    expect(HTTPS_SSL_POLICY).toBe('ELBSecurityPolicy-TLS13-1-2-2021-06');
  });

  test('GIVEN no certificate THEN one HTTP listener that forwards, its Control Tower finding acknowledged', () => {
    const template = service();
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResource('AWS::ElasticLoadBalancingV2::Listener', {
      Properties: { Port: 80, Protocol: 'HTTP', DefaultActions: [Match.objectLike({ Type: 'forward' })] },
      Metadata: { guard: { SuppressedRules: ['ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK'], Reasons: Match.anyValue() } },
    });
  });

  test('THEN access logs go to a bucket of the stack that the regional ELB account or the service principal may write', () => {
    const template = service();
    const buckets = template.findResources('AWS::S3::Bucket');
    const [logsId] = Object.keys(buckets).filter((id) => id.startsWith('ServiceAccessLogs'));
    expect(buckets[logsId]).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'access_logs.s3.enabled', Value: 'true' },
        { Key: 'access_logs.s3.bucket', Value: { Ref: logsId } },
      ]),
    });
    const [policy] = Object.values(
      template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: logsId } } }),
    );
    const statements = policy.Properties.PolicyDocument.Statement as unknown[];
    expect(statements).toContainEqual(
      expect.objectContaining({
        Sid: 'LogDeliveryServicePrincipal',
        Principal: { Service: 'logdelivery.elasticloadbalancing.amazonaws.com' },
        Action: 's3:PutObject',
      }),
    );
    // Regions older than August 2022 deliver from their ELB account: a statement only where the map names one.
    const conditional = statements.find((s) => (s as Record<string, unknown>)['Fn::If'] !== undefined) as {
      'Fn::If': [string, { Sid: string; Principal: { AWS: unknown } }, unknown];
    };
    expect(conditional['Fn::If'][1].Sid).toBe('LogDeliveryRegionalAccount');
    expect(conditional['Fn::If'][2]).toEqual({ Ref: 'AWS::NoValue' });
    const mapping = Object.values(template.toJSON().Mappings as Record<string, Record<string, { account: string }>>)[0];
    expect(mapping['us-east-1'].account).toBe('127311923021');
    expect(mapping['eu-central-2'].account).toBe('none');
  });

  test('fails when the capacity does not match the task definition', () => {
    const f = fixture();
    const vpc = new ec2.Vpc(f.stack, 'Vpc', { maxAzs: 2 });
    const cluster = new ecs.Cluster(f.stack, 'Cluster', { vpc });
    const task = new GmsaTaskDefinition(f.stack, 'Task', props({ gmsa: f.domainless, credSpec: f.s3 }));
    expect(
      () => new GmsaWebAppService(f.stack, 'Service', { vpc, cluster, capacity: { kind: 'fargate' }, task }),
    ).toThrow(/a Fargate service needs the Fargate task definition/);
  });
});

describe('WebAppImage', () => {
  test.each([
    [
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/amazon-ecs-gmsa-linux/web-site:1.0',
      {
        account: '123456789012',
        region: 'us-east-1',
        repositoryName: 'amazon-ecs-gmsa-linux/web-site',
        tagOrDigest: '1.0',
      },
    ],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/web',
      { account: '123456789012', region: 'eu-west-1', repositoryName: 'web', tagOrDigest: 'latest' },
    ],
    [
      `210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn/team/web@sha256:${'a'.repeat(64)}`,
      {
        account: '210987654321',
        region: 'cn-north-1',
        partition: 'aws-cn',
        repositoryName: 'team/web',
        tagOrDigest: `sha256:${'a'.repeat(64)}`,
      },
    ],
  ])('GIVEN the ECR image %s THEN its parts are read', (image, expected) => {
    expect(parseEcrImage(image)).toEqual(expect.objectContaining(expected));
  });

  test.each([
    'public.ecr.aws/docker/library/nginx:1.27',
    'nginx:1.27',
    'ghcr.io/owner/web:1',
    '123456789012.dkr.ecr.us-east-1.amazonaws.com',
  ])('GIVEN the non-ECR reference %s THEN it is not read as an ECR image', (image) => {
    expect(parseEcrImage(image)).toBeUndefined();
  });

  test('GIVEN no APP_IMAGE THEN the repository still exists, emptied and deleted on destroy', () => {
    const f = fixture();
    new WebAppImage(f.stack, 'Image', { repositoryName: 'solution/web-site', directory: __dirname });
    Template.fromStack(f.stack).hasResource('AWS::ECR::Repository', {
      Properties: { RepositoryName: 'solution/web-site', EmptyOnDelete: true },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
  });

  test('THEN a tag names one image for good and only the last few images stay', () => {
    const f = fixture();
    new WebAppImage(f.stack, 'Image', { repositoryName: 'solution/web-site', directory: __dirname });
    const [repository] = Object.values(Template.fromStack(f.stack).findResources('AWS::ECR::Repository'));
    expect(repository.Properties.ImageTagMutability).toBe('IMMUTABLE');
    const policy = JSON.parse(repository.Properties.LifecyclePolicy.LifecyclePolicyText);
    expect(policy.rules).toEqual([
      expect.objectContaining({
        selection: expect.objectContaining({
          tagStatus: 'any',
          countType: 'imageCountMoreThan',
          countNumber: KEPT_IMAGES,
        }),
        action: { type: 'expire' },
      }),
    ]);
  });
});
