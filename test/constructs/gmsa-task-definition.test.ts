import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import {
  CredSpecLocation,
  GmsaMode,
  GmsaTaskDefinition,
  GmsaTaskDefinitionProps,
} from '../../lib/constructs/gmsa-task-definition';
import { GmsaWebAppService } from '../../lib/constructs/gmsa-web-app-service';
import { parseEcrImage, WebAppImage } from '../../lib/constructs/web-app-image';

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

describe('GmsaWebAppService', () => {
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
});
