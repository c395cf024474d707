import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  APP_UID,
  KERBEROS_SIDECAR_DIRECTORY,
  KerberosSidecarContainer,
  SIDECAR_CACHE_DIRECTORY,
  SIDECAR_TICKET_CACHE,
} from '../../lib/constructs/kerberos-sidecar-container';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const APP_IMAGE = ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/nginx:1.27');

interface Fixture {
  readonly stack: Stack;
  readonly sidecar: KerberosSidecarContainer;
  readonly template: Template;
  /** Container definitions by name. */
  readonly containers: Record<string, Record<string, unknown>>;
}

/** A task definition with a non-root app container and the sidecar attached to it, as the sidecar mode wires them. */
function fixture(
  options: { fargate?: boolean; secret?: (stack: Stack) => secretsmanager.ISecret; appUid?: number } = {},
): Fixture {
  const stack = new Stack(new App(), 'Test', { env: ENV });
  const taskDefinition = options.fargate
    ? new ecs.FargateTaskDefinition(stack, 'Task', { cpu: 512, memoryLimitMiB: 1024 })
    : new ecs.Ec2TaskDefinition(stack, 'Task', { networkMode: ecs.NetworkMode.AWS_VPC });
  const logGroup = new logs.LogGroup(stack, 'Logs');
  const app = taskDefinition.addContainer('web', {
    image: APP_IMAGE,
    memoryLimitMiB: 512,
    user: `${APP_UID}:${APP_UID}`,
    readonlyRootFilesystem: true,
    logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'web' }),
  });
  const sidecar = new KerberosSidecarContainer(stack, 'KerberosSidecar', {
    taskDefinition,
    identitySecret: options.secret?.(stack) ?? new secretsmanager.Secret(stack, 'Identity'),
    logGroup,
    appUid: options.appUid,
  });
  sidecar.attachTo(app);
  const template = Template.fromStack(stack);
  const [definition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
  const containers = Object.fromEntries(
    (definition.Properties.ContainerDefinitions as Record<string, unknown>[]).map((c) => [c.Name as string, c]),
  );
  return { stack, sidecar, template, containers };
}

describe('KerberosSidecarContainer', () => {
  describe.each([
    ['EC2 (awsvpc)', false],
    ['Fargate', true],
  ])('GIVEN the web app task on %s with the sidecar attached', (_, fargate) => {
    const f = fixture({ fargate });

    test('THEN the task has two containers and no credentialSpecs', () => {
      expect(Object.keys(f.containers).sort()).toEqual(['kerberos-sidecar', 'web']);
      for (const container of Object.values(f.containers)) expect(container.CredentialSpecs).toBeUndefined();
    });

    test('THEN the sidecar runs as the app UID, read-only root, no capabilities, essential, from the asset image', () => {
      expect(f.containers['kerberos-sidecar']).toMatchObject({
        User: '1654:1654',
        ReadonlyRootFilesystem: true,
        Essential: true,
        LinuxParameters: { Capabilities: { Drop: ['ALL'] } },
        Image: { 'Fn::Sub': expect.stringContaining('cdk-hnb659fds-container-assets') },
        MountPoints: [
          { ContainerPath: SIDECAR_CACHE_DIRECTORY, ReadOnly: false, SourceVolume: 'kerberos-ticket-cache' },
        ],
      });
    });

    test('THEN the sidecar reads the secret ARN, writes the cache for the app UID, and logs to the task log group', () => {
      const sidecar = f.containers['kerberos-sidecar'];
      expect(sidecar.Environment).toEqual(
        expect.arrayContaining([
          {
            Name: 'SECRET_SOURCE',
            Value: { 'Fn::Join': ['', ['secretsmanager:', { Ref: expect.stringMatching(/^Identity/) }]] },
          },
          { Name: 'TICKET_CACHE', Value: SIDECAR_TICKET_CACHE },
          { Name: 'CACHE_UID', Value: '1654' },
          { Name: 'CACHE_GID', Value: '1654' },
        ]),
      );
      expect(sidecar.LogConfiguration).toMatchObject({
        LogDriver: 'awslogs',
        Options: {
          'awslogs-group': { Ref: expect.stringMatching(/^Logs/) },
          'awslogs-stream-prefix': 'kerberos-sidecar',
        },
      });
      expect(sidecar.HealthCheck).toMatchObject({
        Command: ['CMD', '/usr/local/bin/kerberos-sidecar', 'health'],
        StartPeriod: 60,
      });
    });

    test('THEN the app mounts the volume read-only, reads KRB5CCNAME from it, and starts once the sidecar is HEALTHY', () => {
      expect(f.containers.web).toMatchObject({
        User: '1654:1654',
        MountPoints: [
          { ContainerPath: SIDECAR_CACHE_DIRECTORY, ReadOnly: true, SourceVolume: 'kerberos-ticket-cache' },
        ],
        Environment: expect.arrayContaining([{ Name: 'KRB5CCNAME', Value: `FILE:${SIDECAR_TICKET_CACHE}` }]),
        DependsOn: [{ ContainerName: 'kerberos-sidecar', Condition: 'HEALTHY' }],
      });
      f.template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        Volumes: [{ Name: 'kerberos-ticket-cache' }],
      });
    });

    test('THEN only the TASK role may read the secret, with GetSecretValue on that secret alone', () => {
      f.template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^TaskTaskRole') }],
        PolicyDocument: {
          Statement: [
            {
              Sid: 'ReadSidecarIdentity',
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              Resource: { Ref: Match.stringLikeRegexp('^Identity') },
            },
          ],
        },
      });
      const statements = Object.values(f.template.findResources('AWS::IAM::Policy')).flatMap(
        (policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[],
      );
      const secretReads = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('secretsmanager:')));
      expect(secretReads).toHaveLength(1);
    });
  });

  test('GIVEN a secret imported by name THEN the grant matches the random suffix Secrets Manager appends', () => {
    const f = fixture({ secret: (stack) => secretsmanager.Secret.fromSecretNameV2(stack, 'Imported', 'app/identity') });

    f.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Sid: 'ReadSidecarIdentity',
            Resource: {
              'Fn::Join': ['', Match.arrayWith([':secretsmanager:eu-west-1:123456789012:secret:app/identity-??????'])],
            },
          }),
        ],
      },
    });
  });

  test('GIVEN a secret with a customer-managed key THEN the task role may decrypt with that key', () => {
    const f = fixture({
      secret: (stack) => new secretsmanager.Secret(stack, 'Identity', { encryptionKey: new kms.Key(stack, 'Key') }),
    });

    f.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^TaskTaskRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'kms:Decrypt',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
          }),
        ]),
      },
    });
  });

  test.each([0, -1, 1.5])('fails GIVEN appUid %p: the cache must belong to a non-root user', (appUid) => {
    expect(() => fixture({ appUid })).toThrow(`Invalid appUid ${appUid}: expected the app container's non-root UID`);
  });
});

describe('kerberos-sidecar/ agrees with the construct', () => {
  const dockerfile = fs.readFileSync(path.join(KERBEROS_SIDECAR_DIRECTORY, 'Dockerfile'), 'utf8');
  const script = fs.readFileSync(path.join(KERBEROS_SIDECAR_DIRECTORY, 'kerberos-sidecar.sh'), 'utf8');

  test('the base image is pinned by digest, for linux/amd64', () => {
    expect(dockerfile).toMatch(/^FROM --platform=linux\/amd64 debian:bookworm-\d{8}-slim@sha256:[0-9a-f]{64}$/m);
  });

  test('the image runs as the app UID and declares the cache directory as its VOLUME, owned by that UID, mode 0700', () => {
    expect(dockerfile).toMatch(new RegExp(`^USER ${APP_UID}:${APP_UID}$`, 'm'));
    expect(dockerfile).toMatch(new RegExp(`^VOLUME ${SIDECAR_CACHE_DIRECTORY}$`, 'm'));
    expect(dockerfile).toContain(`install -d -o ${APP_UID} -g ${APP_UID} -m 0700 ${SIDECAR_CACHE_DIRECTORY}`);
    expect(dockerfile).toContain('COPY --chmod=0755 kerberos-sidecar.sh /usr/local/bin/kerberos-sidecar');
  });

  test("the script's defaults are the construct's cache path and UID", () => {
    expect(script).toContain(`TICKET_CACHE=\${TICKET_CACHE:-${SIDECAR_TICKET_CACHE}}`);
    expect(script).toContain(`CACHE_UID=\${CACHE_UID:-${APP_UID}}`);
  });
});
