import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import type { IApiCall } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { parseSettings } from '../../bin/settings';
import { GMSA_NAME } from '../../lib/directory-names';
import { buildGmsaApp, GmsaStacks } from '../../lib/gmsa-app';
import { addSecurityChecks } from '../../lib/security-checks';
import { CDK_JSON_CONTEXT } from '../helpers/modes';
import { BackgroundCloudFormationValidation } from '../../lib/template-validation/background-cloudformation-validation';
import { INTEG_MODES, IntegModeName, integEnvironment, integTestName } from './integ-modes';
import { hardenAssertionStack } from './harden-assertion-stack';

/**
 * How long each assertion may wait, from AWS's documented durations (README "From `cdk deploy` to the page"). The
 * stacks are complete when CloudFormation says so (the service has stabilised, the bastion has signalled), so the waits
 * only cover what comes after: a task's first ticket and login, a rotation's four steps, a forced redeployment.
 */
export const ASSERTION_WAITS = {
  /** The CredSpec exists once the database stack is complete: one read, a few retries. */
  credSpec: { totalTimeout: Duration.minutes(5), interval: Duration.seconds(30) },
  /** The service's deployment is COMPLETED (CloudFormation already waited for it to stabilise). */
  service: { totalTimeout: Duration.minutes(15), interval: Duration.seconds(30) },
  /** The page: a task's first SQL login after the load balancer's health checks (2 × 30 s) pass. */
  page: { totalTimeout: Duration.minutes(15), interval: Duration.seconds(30) },
  /** The rotation function's four steps, with the DescribeDirectory/ResetUserPassword waits (about a minute). */
  rotation: { totalTimeout: Duration.minutes(10), interval: Duration.seconds(20) },
} as const;

/** What one mode's integration test built: the app, the test and the stacks it deploys. */
export interface ModeIntegTest {
  readonly app: App;
  readonly test: IntegTest;
  readonly stacks: GmsaStacks;
  readonly assertionStack: Stack;
}

/**
 * One mode's integration test: the app exactly as `bin/` builds it for the mode's settings (same parser, same
 * `buildGmsaApp`, same cdk-nag checks), deployed by integ-runner, then asserted from a stack of its own:
 * 1. the CredSpec the task definition reads exists and names the gMSA (not in sidecar mode: the task reads none);
 * 2. the service's deployment completed;
 * 3. `GET <ServiceURL>/api/status` answers `ok: true` with `authScheme: "KERBEROS"`;
 * 4. domainless and sidecar modes: the identity secret is rotated, the service is redeployed (new tasks get tickets with the new
 *    password), and the page is KERBEROS again.
 */
export function buildModeIntegTest(mode: IntegModeName, app = newIntegApp()): ModeIntegTest {
  const settings = parseSettings({ env: integEnvironment(mode) });
  // As in bin/: CloudFormation validation warms up in a worker while the stacks are built (off as in bin/ with
  // CDK_VALIDATION=false, which the Jest setup sets).
  const cloudFormationValidation =
    process.env.CDK_VALIDATION === 'false' ? undefined : BackgroundCloudFormationValidation.start();
  const stacks = buildGmsaApp(app, settings);
  const application = stacks.application;
  if (application === undefined) throw new Error(`${mode}: the integration test needs the application stack`);

  const name = integTestName(mode);
  const assertionStack = new Stack(app, `${name}-assertions`, {
    description: `Assertions of the ${mode} integration test (deployed after the app, destroyed with it)`,
  });
  const test = new IntegTest(app, name, {
    testCases: [stacks.directory, stacks.database, stacks.cluster, application],
    assertionStack,
    // Assets are fingerprinted in the snapshot; the templates are what the snapshot check compares.
    diffAssets: false,
    // The snapshot is region-agnostic and the stacks are new in each run: no "deploy the old snapshot first".
    stackUpdateWorkflow: false,
    // What integ-runner would pass; npm run integ passes the same flags to the CDK CLI itself.
    cdkCommandOptions: { destroy: { args: { force: true } } },
  });
  const assertions = test.assertions;
  const { directory, cluster } = stacks;
  const serviceUrl = `http://${application.webApp.loadBalancer.loadBalancerDnsName}`;

  // 1. The CredSpec, where this mode's task definition reads it (the Kerberos sidecar's task reads none).
  const credSpecIn = INTEG_MODES[mode].credSpecIn;
  let credSpec: IApiCall | undefined;
  if (credSpecIn !== 'none') {
    credSpec =
      credSpecIn === 's3'
        ? assertions.awsApiCall('S3', 'getObject', {
            Bucket: directory.credSpecBucket.bucketName,
            Key: directory.credSpecObjectKey,
          })
        : assertions.awsApiCall('SSM', 'getParameter', { Name: directory.credSpecParameter.parameterName });
    const credSpecPath =
      credSpecIn === 's3'
        ? 'Body.DomainJoinConfig.MachineAccountName'
        : 'Parameter.Value.DomainJoinConfig.MachineAccountName';
    credSpec.assertAtPath(credSpecPath, ExpectedResult.stringLikeRegexp(`^${GMSA_NAME}$`));
    credSpec.waitForAssertions(ASSERTION_WAITS.credSpec);
  }

  // 2. The service's only deployment is COMPLETED (desired count reached, circuit breaker did not roll back).
  const service = assertions.awsApiCall('ECS', 'describeServices', {
    cluster: cluster.cluster.clusterName,
    services: [application.webApp.service.serviceName],
  });
  service.expect(
    ExpectedResult.objectLike({
      services: [
        Match.objectLike({ status: 'ACTIVE', deployments: [Match.objectLike({ rolloutState: 'COMPLETED' })] }),
      ],
    }),
  );
  service.waitForAssertions(ASSERTION_WAITS.service);

  // 3. The end of the chain: the app's own SQL session is KERBEROS.
  const page = kerberosPage(assertions, serviceUrl);
  (credSpec ? credSpec.next(service) : service).next(page);

  // 4. Domainless (and the sidecar's identity): a rotation the test triggers leaves the page at KERBEROS, for tasks started after it.
  if (INTEG_MODES[mode].domainless) {
    const secretId = directory.identitySecret.secretArn;
    const rotate = assertions.awsApiCall('SecretsManager', 'rotateSecret', { SecretId: secretId });
    const rotated = assertions.awsApiCall('SecretsManager', 'listSecretVersionIds', { SecretId: secretId });
    rotated.expect(
      ExpectedResult.objectLike({
        Versions: Match.arrayWith([
          Match.objectLike({
            VersionId: rotate.getAttString('VersionId'),
            VersionStages: Match.arrayWith(['AWSCURRENT']),
          }),
        ]),
      }),
    );
    rotated.waitForAssertions(ASSERTION_WAITS.rotation);
    const redeploy = assertions.awsApiCall('ECS', 'updateService', {
      cluster: cluster.cluster.clusterName,
      service: application.webApp.service.serviceName,
      forceNewDeployment: true,
    });
    redeploy.assertAtPath('service.serviceName', ExpectedResult.stringLikeRegexp('.+'));
    const redeployed = assertions.awsApiCall('ECS', 'describeServices', {
      cluster: cluster.cluster.clusterName,
      services: [application.webApp.service.serviceName],
    });
    redeployed.expect(
      ExpectedResult.objectLike({
        services: [Match.objectLike({ deployments: [Match.objectLike({ rolloutState: 'COMPLETED' })] })],
      }),
    );
    redeployed.waitForAssertions(ASSERTION_WAITS.service);
    const pageAfterRotation = kerberosPage(assertions, serviceUrl);
    page.next(rotate).next(rotated).next(redeploy).next(redeployed).next(pageAfterRotation);
  }

  hardenAssertionStack(assertionStack, {
    's3:GetObject': [directory.credSpecBucket.arnForObjects(directory.credSpecObjectKey)],
    'ssm:GetParameter': [directory.credSpecParameter.parameterArn],
    'ecs:DescribeServices': [application.webApp.service.serviceArn],
    'ecs:UpdateService': [application.webApp.service.serviceArn],
    'secretsmanager:RotateSecret': [directory.identitySecret.secretArn],
    'secretsmanager:ListSecretVersionIds': [directory.identitySecret.secretArn],
  });
  // The same checks as `bin/`: cdk-nag over every stack, the assertion stack included.
  addSecurityChecks(app, { cloudFormationValidation });
  return { app, test, stacks, assertionStack };
}

/** `GET <ServiceURL>/api/status`, waiting until it answers 200 with `ok: true` and `authScheme: "KERBEROS"`. */
function kerberosPage(assertions: IntegTest['assertions'], serviceUrl: string): IApiCall {
  const page = assertions.httpApiCall(`${serviceUrl}/api/status`, { headers: { accept: 'application/json' } });
  page.expect(ExpectedResult.objectLike({ status: 200, body: { ok: true, authScheme: 'KERBEROS' } }));
  page.waitForAssertions(ASSERTION_WAITS.page);
  return page;
}

/** An app with this repository's feature flags, which win over integ-runner's own (it passes its recommended set). */
export function newIntegApp(): App {
  return new App({ postCliContext: CDK_JSON_CONTEXT });
}
