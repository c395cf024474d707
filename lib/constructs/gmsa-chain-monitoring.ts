import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

// CDK's own aws-cloudwatch, not cdk-monitoring-constructs: most signals of this chain are our own (metric filters on
// credentials-fetcher's and the host script's lines, an EventBridge rule, the bastion's log), which that library has no
// monitor for, and its ECS/ALB/RDS monitors would add widgets and alarms to trim. Six alarms and one dashboard read
// plainly here, with no second library whose releases must follow aws-cdk-lib's.

/** Period of every alarm: CloudWatch's standard resolution for these AWS metrics. */
const PERIOD = Duration.minutes(5);

/** The container instances' signals (EC2 modes). */
export interface HostSignals {
  /** credentials-fetcher lines that mean no ticket (Sum). */
  readonly ticketFailures: cloudwatch.IMetric;
  /** Failed runs of the host setup script (Sum). */
  readonly hostSetupFailures: cloudwatch.IMetric;
  /** Name of credentials-fetcher's log group. */
  readonly credentialsFetcherLogGroupName: string;
  /** Name of the bootstrap log group. */
  readonly bootstrapLogGroupName: string;
}

/** The web app's service and load balancer (with `DEPLOY_APP`). */
export interface WebAppSignals {
  /** The ECS service. */
  readonly service: ecs.BaseService;
  /** Its target group. */
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** Its load balancer. */
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
}

/** Props of {@link GmsaChainMonitoring}. */
export interface GmsaChainMonitoringProps {
  /** Name of the dashboard (people open it by name). */
  readonly dashboardName: string;
  /** Every alarm notifies this topic. */
  readonly topic: sns.ITopic;
  /** The ECS cluster's name (Container Insights dimension). */
  readonly clusterName: string;
  /** @default - Fargate: no container instances, no host alarms */
  readonly hosts?: HostSignals;
  /** @default - no application stack: no service, target or 5xx alarms */
  readonly webApp?: WebAppSignals;
  /** The RDS instance identifier (its DatabaseConnections metric). */
  readonly databaseInstanceIdentifier: string;
  /** The bastion's log group (its last run). */
  readonly bastionLogGroupName: string;
  /** Name of the EventBridge rule that reports failed rotations (its TriggeredRules metric). */
  readonly rotationFailureRuleName: string;
}

/** One alarm's definition; {@link GmsaChainMonitoring.alarms} holds what was built from it. */
interface AlarmSpec {
  readonly id: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly description: string;
}

/**
 * Alarms on each link of the gMSA chain, with a runbook line in each description, all notifying one topic, and one
 * dashboard of the chain: tasks running vs desired, target health, ticket failures, rotation results, the bastion's
 * last run, SQL Server connections.
 */
export class GmsaChainMonitoring extends Construct {
  /** The alarms, by id. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: GmsaChainMonitoringProps) {
    super(scope, id);
    const specs = [...hostAlarms(props.hosts), ...webAppAlarms(props.clusterName, props.webApp)];
    const alarms: Record<string, cloudwatch.Alarm> = {};
    for (const spec of specs) {
      const alarm = new cloudwatch.Alarm(this, spec.id, {
        metric: spec.metric,
        threshold: spec.threshold,
        evaluationPeriods: spec.evaluationPeriods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No data means nothing happened (no log line, no request, no service yet): not an alarm.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: spec.description,
      });
      alarm.addAlarmAction(new actions.SnsAction(props.topic));
      alarms[spec.id] = alarm;
    }
    this.alarms = alarms;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(12),
      widgets: dashboardRows(props, Object.values(alarms)),
    });
  }
}

function hostAlarms(hosts: HostSignals | undefined): AlarmSpec[] {
  if (hosts === undefined) return [];
  return [
    {
      id: 'TicketFailuresAlarm',
      metric: hosts.ticketFailures,
      threshold: 1,
      evaluationPeriods: 1,
      description:
        'credentials-fetcher could not get a gMSA Kerberos ticket on a container instance, so a task started or ' +
        'renewed without one. Runbook: npm run verify -- --hosts (DNS SRV records, ports 88/389, clock, lease ' +
        `tickets, group membership), then the log group ${hosts.credentialsFetcherLogGroupName}; docs/operations.md.`,
    },
    {
      id: 'HostSetupFailuresAlarm',
      metric: hosts.hostSetupFailures,
      threshold: 1,
      evaluationPeriods: 1,
      description:
        "A container instance's setup script failed; Auto Scaling replaces the instance and its ECS agent never " +
        `started. Runbook: the last gmsa-host-setup lines of its stream in ${hosts.bootstrapLogGroupName} name the ` +
        'step (package install, domain join, group membership); docs/operations.md.',
    },
  ];
}

function webAppAlarms(clusterName: string, webApp: WebAppSignals | undefined): AlarmSpec[] {
  if (webApp === undefined) return [];
  const { running, desired } = taskCounts(clusterName, webApp.service);
  const metrics = webApp.loadBalancer.metrics;
  return [
    {
      id: 'ServiceBelowDesiredAlarm',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(desired, 0) - FILL(running, 0)',
        usingMetrics: { desired, running },
        label: 'Tasks missing',
        period: PERIOD,
      }),
      threshold: 1,
      // 15 minutes: a task replaced by a deployment or a host replacement comes back within that.
      evaluationPeriods: 3,
      description:
        'The web app service has run fewer tasks than desired for 15 minutes. Runbook: npm run verify (its service ' +
        'line prints the last stopped reason: a gMSA or CredSpec error names the link), then npm run verify -- ' +
        '--hosts on EC2; docs/operations.md.',
    },
    {
      id: 'UnhealthyTargetsAlarm',
      metric: webApp.targetGroup.metrics.unhealthyHostCount({ statistic: cloudwatch.Stats.MAXIMUM, period: PERIOD }),
      threshold: 1,
      evaluationPeriods: 3,
      description:
        "A web app task has failed the load balancer's health check for 15 minutes. Runbook: the task's log (the " +
        'application stack output LogGroupName) says whether the app started; npm run verify checks the targets; ' +
        'docs/operations.md.',
    },
    {
      id: 'LoadBalancer5xxAlarm',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(target5xx, 0) + FILL(elb5xx, 0)',
        usingMetrics: {
          target5xx: metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: PERIOD }),
          elb5xx: metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: PERIOD }),
        },
        label: '5xx responses',
        period: PERIOD,
      }),
      threshold: 5,
      evaluationPeriods: 1,
      description:
        'The web app answered 5 or more 5xx responses in 5 minutes (the page fails when SQL Server refuses the ' +
        "Kerberos login or the ticket is missing). Runbook: open the page, which names the failing link; the task's " +
        'log; npm run verify; docs/operations.md.',
    },
  ];
}

/** Container Insights' task counts of the service (the cluster has Container Insights on). */
function taskCounts(clusterName: string, service: ecs.BaseService) {
  const metric = (metricName: string) =>
    new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName,
      dimensionsMap: { ClusterName: clusterName, ServiceName: service.serviceName },
      statistic: cloudwatch.Stats.AVERAGE,
      period: PERIOD,
    });
  return { running: metric('RunningTaskCount'), desired: metric('DesiredTaskCount') };
}

function dashboardRows(props: GmsaChainMonitoringProps, alarms: cloudwatch.Alarm[]): cloudwatch.IWidget[][] {
  const wide = { width: 12, height: 6 };
  const rows: cloudwatch.IWidget[][] = [];
  if (alarms.length > 0) {
    rows.push([new cloudwatch.AlarmStatusWidget({ title: 'Alarms of the gMSA chain', alarms, width: 24, height: 3 })]);
  }
  if (props.webApp !== undefined) {
    const { running, desired } = taskCounts(props.clusterName, props.webApp.service);
    const targets = props.webApp.targetGroup.metrics;
    rows.push([
      new cloudwatch.GraphWidget({
        title: 'Web app tasks: running vs desired',
        left: [running.with({ label: 'running' }), desired.with({ label: 'desired' })],
        ...wide,
      }),
      new cloudwatch.GraphWidget({
        title: 'Target health',
        left: [
          targets.healthyHostCount({ label: 'healthy', statistic: cloudwatch.Stats.MINIMUM }),
          targets.unhealthyHostCount({ label: 'unhealthy', statistic: cloudwatch.Stats.MAXIMUM }),
        ],
        ...wide,
      }),
    ]);
  }
  const failures: cloudwatch.IWidget[] = [];
  if (props.hosts !== undefined) {
    failures.push(
      new cloudwatch.GraphWidget({
        title: 'Container instances: ticket failures and failed setups',
        left: [props.hosts.ticketFailures, props.hosts.hostSetupFailures],
        ...wide,
      }),
    );
  }
  failures.push(
    new cloudwatch.GraphWidget({
      title: 'Secret rotations that failed (SQL Server master secret, domainless identity)',
      left: [
        new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName: 'TriggeredRules',
          dimensionsMap: { RuleName: props.rotationFailureRuleName },
          statistic: cloudwatch.Stats.SUM,
          period: Duration.hours(1),
          label: 'failed rotations',
        }),
      ],
      ...wide,
    }),
  );
  rows.push(failures);
  rows.push([
    new cloudwatch.LogQueryWidget({
      title: "The bastion's last run (AD, SQL Server and CredSpec configuration)",
      logGroupNames: [props.bastionLogGroupName],
      queryLines: ['fields @timestamp, @logStream, @message', 'sort @timestamp desc', 'limit 30'],
      view: cloudwatch.LogQueryVisualizationType.TABLE,
      ...wide,
    }),
    new cloudwatch.GraphWidget({
      title: 'SQL Server connections',
      left: [
        new cloudwatch.Metric({
          namespace: 'AWS/RDS',
          metricName: 'DatabaseConnections',
          dimensionsMap: { DBInstanceIdentifier: props.databaseInstanceIdentifier },
          statistic: cloudwatch.Stats.MAXIMUM,
          period: PERIOD,
        }),
      ],
      ...wide,
    }),
  ]);
  if (props.hosts !== undefined) {
    rows.push([
      new cloudwatch.LogQueryWidget({
        title: "credentials-fetcher's errors on the container instances",
        logGroupNames: [props.hosts.credentialsFetcherLogGroupName],
        queryLines: [
          'fields @timestamp, @logStream, @message',
          'filter @message like /ERROR|Cannot get|kinit failed|Invalid credentials/',
          'sort @timestamp desc',
          'limit 50',
        ],
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 24,
        height: 6,
      }),
    ]);
  }
  return rows;
}
