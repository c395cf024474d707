import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { DomainlessIdentity } from '../../lib/constructs/domainless-identity';
import {
  DomainlessIdentityRotation,
  DomainlessIdentityRotationProps,
} from '../../lib/constructs/domainless-identity-rotation';
import { Network } from '../../lib/constructs/network';
import * as sns from 'aws-cdk-lib/aws-sns';
import { DOMAINLESS_USERNAME } from '../../lib/directory-names';
import { addSecurityChecks } from '../../lib/security-checks';
import { CDK_JSON_CONTEXT } from './modes';

export const DIRECTORY_ID = 'd-1234567890';

/**
 * The construct as the database stack will hold it: the VPC and the secret come from another stack (the directory
 * stack), and the schedule waits for a resource of its own stack (the bastion's creation signal).
 */
export function buildRotationApp(
  overrides: Partial<DomainlessIdentityRotationProps> = {},
  securityChecks = false,
  withAlertTopic = false,
) {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  if (securityChecks) addSecurityChecks(app);
  // Environment-agnostic, like the app's stacks.
  const directoryStack = new Stack(app, 'Directory');
  const vpc = new Network(directoryStack, 'Network').vpc;
  const secret = new DomainlessIdentity(directoryStack, 'Identity', {
    secretName: 'amazon-ecs-gmsa-linux/credentials-fetcher-identity',
    username: DOMAINLESS_USERNAME,
    domainName: 'directory.amazon-ecs-gmsa-linux.com',
  }).secret;
  // cdk-nag cannot see a rotation schedule in another stack: the secret's owner acknowledges SMG4 (as the directory
  // stack must once the rotation is wired).
  Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Rotated by the Database stack' });

  const stack = new Stack(app, 'Database');
  const bastion = new CfnResource(stack, 'Bastion', { type: 'AWS::CloudFormation::WaitConditionHandle' });
  const rotation = new DomainlessIdentityRotation(stack, 'IdentityRotation', {
    secret,
    directoryId: DIRECTORY_ID,
    vpc,
    dependsOn: [bastion],
    alertTopic: withAlertTopic ? new sns.Topic(directoryStack, 'AlarmTopic') : undefined,
    ...overrides,
  });
  return { app, stack, rotation, directoryStack };
}
