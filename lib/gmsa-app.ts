import { App, Aspects, Stage } from 'aws-cdk-lib';
import { CdkProviderRoleAcknowledgements } from './aspects/cdk-provider-role-acknowledgements';
import { ConfusedDeputyConditions } from './aspects/confused-deputy-conditions';
import { ControlTowerAcknowledgements } from './aspects/control-tower-acknowledgements';
import { ExplicitLambdaLogGroups } from './aspects/explicit-lambda-log-groups';
import { GmsaChainMonitoring } from './constructs/gmsa-chain-monitoring';
import { appModeOf, Settings } from './settings';
import { ApplicationStack } from './stacks/application-stack';
import { ClusterStack } from './stacks/cluster-stack';
import { bastionLogGroupNameFor, DatabaseStack, rotationFailureRuleNameFor } from './stacks/database-stack';
import { DirectoryStack } from './stacks/directory-stack';

/** The stacks of one deployment; the application stack exists only with `DEPLOY_APP`. */
export interface GmsaStacks {
  /** VPC, directory, secrets, CredSpec storage. */
  readonly directory: DirectoryStack;
  /** SQL Server and the bastion that configures AD, the database and the CredSpec. */
  readonly database: DatabaseStack;
  /** The ECS cluster and its capacity. */
  readonly cluster: ClusterStack;
  /** The web app; only with `DEPLOY_APP`. */
  readonly application?: ApplicationStack;
}

const DESCRIPTION = 'Windows authentication with gMSA for Linux containers on Amazon ECS';

/**
 * Builds every stack of the solution for one settings object. `bin/app.ts` calls it with the settings read from the
 * environment; tests call it with settings they build, so nothing here reads `process.env`.
 *
 * Order: directory → database (its bastion creates the AD group, users and CredSpec, starting alongside SQL Server,
 * not after it) and, alongside it, the cluster (after the database only in domain-joined mode: its hosts need that
 * group and the join user) → application.
 */
export function buildGmsaApp(scope: App | Stage, settings: Settings): GmsaStacks {
  const prefix = settings.solutionId;
  // The one mode value the stacks switch on (gMSA through credentials-fetcher, or the Kerberos sidecar).
  const mode = appModeOf(settings);
  // CDK's own custom-resource functions get log groups that `cdk destroy` removes.
  Aspects.of(scope).add(new ExplicitLambdaLogGroups());
  // Acknowledgements written into the templates for resources no construct of ours can annotate itself: CDK's provider
  // roles (cdk-nag) and findings of AWS Control Tower's rules shared by many resources (docs/security.md).
  Aspects.of(scope).add(new CdkProviderRoleAcknowledgements());
  Aspects.of(scope).add(new ControlTowerAcknowledgements());
  // aws:SourceAccount on the trust policies of the services that set it, CDK's own roles included (docs/security.md).
  Aspects.of(scope).add(new ConfusedDeputyConditions());

  const directory = new DirectoryStack(scope, `${prefix}-directory`, {
    description: `${DESCRIPTION}: VPC, directory, secrets and CredSpec storage`,
    solutionId: settings.solutionId,
    natGateways: settings.natGateways,
    alarmEmail: settings.alarmEmail,
    ticketSource: mode.ticketSource,
  });

  const database = new DatabaseStack(scope, `${prefix}-database`, {
    description: `${DESCRIPTION}: SQL Server and the bastion that configures AD and the CredSpec`,
    solutionId: settings.solutionId,
    vpc: directory.vpc,
    directory: directory.directory,
    adminSecret: directory.adminSecret,
    identitySecret: directory.identitySecret,
    domainJoinSecret: directory.domainJoinSecret,
    credSpecParameter: directory.credSpecParameter,
    credSpecBucket: directory.credSpecBucket,
    credSpecObjectKey: directory.credSpecObjectKey,
    mode,
    sqlClientsSecurityGroup: directory.sqlClientsSecurityGroup,
    dbInstanceType: settings.dbInstanceType,
    dbEngineVersion: settings.dbEngineVersion,
    keepBastionRunning: settings.keepBastionRunning,
    bastionAmiId: settings.bastionAmiId,
    keyPairName: settings.ec2InstanceKeyPairName,
    // Its own decision (BASTION_RDP_CIDR): MY_SG_INGRESS_IP shapes only the load balancer's ingress.
    rdpIngressCidr: settings.bastionRdpCidr,
    bastionMaintenance: settings.bastionMaintenance,
    identityRotationDays: settings.identityRotationDays,
    alarmTopic: directory.alarmTopic,
  });

  const cluster = new ClusterStack(scope, `${prefix}-cluster`, {
    description: `${DESCRIPTION}: ECS cluster`,
    solutionId: settings.solutionId,
    vpc: directory.vpc,
    directory: directory.directory,
    mode,
    identitySecret: directory.identitySecret,
    domainJoinSecret: directory.domainJoinSecret,
    domainJoinTag: directory.domainJoinTag,
    sqlClientsSecurityGroup: directory.sqlClientsSecurityGroup,
    instanceType: settings.ecsInstanceType,
    credentialsFetcherVersion: settings.credentialsFetcherVersion,
    minCapacity: settings.ecsMinCapacity,
    maxCapacity: settings.ecsMaxCapacity,
    // Only for the web app's service: without it, ECS_EXEC does nothing (settings notice).
    ecsExec: settings.ecsExec && settings.deployApp,
  });
  // Domain-joined hosts add themselves to the gMSA group with the join user, both created by the bastion. Domainless
  // and Fargate clusters need nothing of the database stack and deploy alongside it (`cdk deploy --concurrency`).
  if (mode.ticketSource === 'credentials-fetcher' && mode.domainJoinEcs) {
    cluster.addStackDependency(database, 'the bastion creates the AD users and group the container instances use');
  }

  const application = settings.deployApp
    ? new ApplicationStack(scope, `${prefix}-application`, {
        description: `${DESCRIPTION}: the web app`,
        solutionId: settings.solutionId,
        vpc: directory.vpc,
        directory: directory.directory,
        cluster: cluster.cluster,
        capacityProvider: cluster.capacityProvider,
        ec2TaskSlots: cluster.ec2TaskSlots,
        instanceSecurityGroup: cluster.instanceSecurityGroup,
        mode,
        credSpecParameter: directory.credSpecParameter,
        credSpecBucket: directory.credSpecBucket,
        credSpecObjectKey: directory.credSpecObjectKey,
        identitySecret: directory.identitySecret,
        databaseSecurityGroup: database.databaseSecurityGroup,
        kerberosHostName: database.kerberosHostName,
        sqlServerEndpoint: database.endpointAddress,
        ecsExec: settings.ecsExec,
        albIngressCidr: settings.mySgIngressCidr,
        appImage: settings.appImage,
        certificateArn: settings.certificateArn,
      })
    : undefined;
  // The CredSpec exists only once the database stack's bastion has signalled.
  application?.addStackDependency(database, 'the bastion writes the CredSpec the task definition reads');

  // In the last stack: it sees the web app's service and load balancer when there is one. Everything of the other
  // stacks is named by plain strings (no reference), so the cluster stack still deploys alongside the database stack.
  // Found as the child `GmsaChainMonitoring` of that stack.
  new GmsaChainMonitoring(application ?? cluster, 'GmsaChainMonitoring', {
    dashboardName: `${prefix}-gmsa-chain`,
    topic: directory.alarmTopic,
    clusterName: settings.solutionId,
    hosts: cluster.hostLogs && {
      ticketFailures: cluster.hostLogs.ticketFailures,
      hostSetupFailures: cluster.hostLogs.hostSetupFailures,
      credentialsFetcherLogGroupName: cluster.hostLogs.logGroupNames.credentialsFetcher,
      bootstrapLogGroupName: cluster.hostLogs.logGroupNames.bootstrap,
    },
    webApp: application && {
      service: application.webApp.service,
      targetGroup: application.webApp.targetGroup,
      loadBalancer: application.webApp.loadBalancer,
    },
    databaseInstanceIdentifier: database.dbInstanceIdentifier,
    bastionLogGroupName: bastionLogGroupNameFor(prefix),
    rotationFailureRuleName: rotationFailureRuleNameFor(prefix),
  });

  return { directory, database, cluster, application };
}
