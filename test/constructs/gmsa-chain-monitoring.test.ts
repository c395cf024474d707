import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import {
  anyTerm,
  CLOUDWATCH_AGENT_CONFIG_SOURCE,
  ContainerHostLogs,
  HOST_SETUP_FAILURE_TERM,
  renderAgentConfig,
  TICKET_FAILURE_TERMS,
} from '../../lib/constructs/container-host-logs';
import { HOST_SCRIPT_SOURCE } from '../../lib/constructs/credentials-fetcher-hosts';
import { buildApp, ModeName, MODE_NAMES, settingsFor } from '../helpers/modes';

// The observability of the gMSA chain, per mode: host log groups and their metric filters (EC2), the alarms with their
// SNS topic, the rotation-failure rule, the dashboard. GIVEN a mode (with or without the application stack) WHEN it is
// synthesized THEN each template holds what an operator needs to see the chain break.

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }>;

function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

function monitoringStackOf(stacks: ReturnType<typeof buildApp>['stacks']): Stack {
  return stacks.application ?? stacks.cluster;
}

describe.each(MODE_NAMES.flatMap((mode) => [[mode, true] as const, [mode, false] as const]))(
  'observability in mode %s with DEPLOY_APP=%p',
  (mode: ModeName, deployApp: boolean) => {
    // Hosts with credentials-fetcher (and their logs): not on Fargate, not the Kerberos sidecar's plain hosts.
    const ec2 = !mode.includes('fargate') && !mode.startsWith('sidecar');
    const domainless = mode.startsWith('domainless');
    const { stacks } = buildApp(settingsFor(mode, { deployApp, alarmEmail: 'ops@example.com' }));
    const directory = Template.fromStack(stacks.directory);
    const database = Template.fromStack(stacks.database);
    const cluster = Template.fromStack(stacks.cluster);
    const monitoring = Template.fromStack(monitoringStackOf(stacks));

    test('THEN one alarm topic, TLS only, subscribes ALARM_EMAIL', () => {
      directory.resourceCountIs('AWS::SNS::Topic', 1);
      directory.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
      directory.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    test(`THEN the host log groups ${ec2 ? 'exist with a retention, go with the stack' : 'do not exist'}`, () => {
      const names = Object.values(resourcesOf(cluster, 'AWS::Logs::LogGroup'))
        .filter((group) => String(group.Properties.LogGroupName).includes('/ecs-hosts/'))
        .map((group) => {
          expect(group.Properties.RetentionInDays).toBe(30);
          expect(group.DeletionPolicy).toBe('Delete');
          return group.Properties.LogGroupName;
        })
        .sort();
      expect(names).toEqual(
        ec2
          ? [
              '/amazon-ecs-gmsa-linux/ecs-hosts/bootstrap',
              '/amazon-ecs-gmsa-linux/ecs-hosts/credentials-fetcher',
              '/amazon-ecs-gmsa-linux/ecs-hosts/ecs-agent',
            ]
          : [],
      );
    });

    test(`THEN ${ec2 ? 'a metric filter counts' : 'nothing counts'} ticket failures and failed host setups`, () => {
      const filters = Object.values(resourcesOf(cluster, 'AWS::Logs::MetricFilter')).map((f) => ({
        pattern: f.Properties.FilterPattern,
        metric: (f.Properties.MetricTransformations as { MetricName: string; MetricNamespace: string }[])[0],
      }));
      if (!ec2) {
        expect(filters).toEqual([]);
        return;
      }
      expect(filters).toEqual(
        expect.arrayContaining([
          {
            pattern:
              '?"ERROR: Cannot get gMSA krb ticket" ?"Cannot get machine krb ticket" ?"Cannot get user krb ticket" ' +
              '?"Invalid credentials for domainless user" ?"kinit failed"',
            metric: expect.objectContaining({ MetricName: 'TicketFailures', MetricValue: '1', DefaultValue: 0 }),
          },
          {
            pattern: '"gmsa-host-setup: FAILED"',
            metric: expect.objectContaining({ MetricName: 'HostSetupFailures', MetricValue: '1' }),
          },
        ]),
      );
    });

    test('THEN each alarm has a runbook line and notifies the topic', () => {
      const alarms = Object.entries(resourcesOf(monitoring, 'AWS::CloudWatch::Alarm'));
      const ids = alarms.map(([id]) => id.replace(/^GmsaChainMonitoring|Alarm[0-9A-F]{8}$/g, '')).sort();
      expect(ids).toEqual(
        [
          ...(ec2 ? ['HostSetupFailures', 'TicketFailures'] : []),
          ...(deployApp ? ['LoadBalancer5xx', 'ServiceBelowDesired', 'UnhealthyTargets'] : []),
        ].sort(),
      );
      for (const [, alarm] of alarms) {
        expect(alarm.Properties.AlarmDescription).toMatch(/Runbook: .*docs\/operations\.md/);
        expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('AlarmTopic');
        expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
        expect(alarm.Properties.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
      }
    });

    if (deployApp) {
      test('THEN the service alarm compares Container Insights running and desired task counts for 15 minutes', () => {
        monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Threshold: 1,
          EvaluationPeriods: 3,
          Metrics: Match.arrayWith([
            Match.objectLike({ Expression: 'FILL(desired, 0) - FILL(running, 0)' }),
            Match.objectLike({
              Id: 'running',
              MetricStat: Match.objectLike({
                Metric: Match.objectLike({ Namespace: 'ECS/ContainerInsights', MetricName: 'RunningTaskCount' }),
              }),
            }),
          ]),
        });
      });
    }

    test(`THEN a rule reports failed rotations of the SQL Server secret${domainless ? ' and the domainless identity' : ''}`, () => {
      const rules = Object.values(resourcesOf(database, 'AWS::Events::Rule'));
      const rotation = rules.find((rule) => rule.Properties.Name === 'amazon-ecs-gmsa-linux-rotation-failed');
      expect(rotation).toBeDefined();
      const pattern = rotation!.Properties.EventPattern as {
        source: string[];
        'detail-type': string[];
        detail: { eventName: string[]; additionalEventData: { SecretId: unknown[] } };
      };
      expect(pattern.source).toEqual(['aws.secretsmanager']);
      expect(pattern['detail-type']).toEqual(['AWS Service Event via CloudTrail']);
      expect(pattern.detail.eventName).toEqual(['RotationFailed']);
      const secrets = JSON.stringify(pattern.detail.additionalEventData.SecretId);
      expect(secrets).toMatch(/SqlServer/);
      expect(secrets.includes('DomainlessIdentitySecret')).toBe(domainless);
      expect(JSON.stringify(rotation!.Properties.Targets)).toContain('AlarmTopic');
    });

    test('THEN one dashboard shows the chain', () => {
      const dashboards = Object.values(resourcesOf(monitoring, 'AWS::CloudWatch::Dashboard'));
      expect(dashboards).toHaveLength(1);
      expect(dashboards[0].Properties.DashboardName).toBe('amazon-ecs-gmsa-linux-gmsa-chain');
      const body = JSON.stringify(dashboards[0].Properties.DashboardBody);
      expect(body).toContain('/amazon-ecs-gmsa-linux/active-directory-management-instance');
      expect(body).toContain('DatabaseConnections');
      expect(body).toContain('amazon-ecs-gmsa-linux-rotation-failed');
      expect(body.includes('TicketFailures')).toBe(ec2);
      expect(body.includes('RunningTaskCount')).toBe(deployApp);
      expect(body.includes('UnHealthyHostCount')).toBe(deployApp);
    });

    test('THEN the cluster stack still does not reference the database stack', () => {
      expect(JSON.stringify(cluster.toJSON())).not.toContain('-database');
    });
  },
);

describe('ContainerHostLogs', () => {
  const stack = new Stack();
  const logs = new ContainerHostLogs(stack, 'Logs', { solutionId: 'sample', metricNamespace: 'Test' });

  test('GIVEN the agent configuration file THEN every file it ships goes to one of the three log groups', () => {
    const config = JSON.parse(
      Template.fromStack(stack).findResources('AWS::SSM::Parameter')[
        stack.getLogicalId(logs.agentConfig.node.defaultChild as never)
      ].Properties.Value,
    );
    const files = config.logs.logs_collected.files.collect_list.map(
      (entry: { file_path: string; log_group_name: string }) => `${entry.file_path} -> ${entry.log_group_name}`,
    );
    expect(files).toEqual([
      '/var/credentials-fetcher/logging/credentials-fetcher.log -> /sample/ecs-hosts/credentials-fetcher',
      // What gmsa-ticket-read.service changed (scripts/ecs-host/grant-ticket-read.sh), beside the daemon's own log.
      '/var/log/gmsa-ticket-read.log -> /sample/ecs-hosts/credentials-fetcher',
      '/var/log/ecs/ecs-agent.log -> /sample/ecs-hosts/ecs-agent',
      '/var/log/ecs/ecs-init.log -> /sample/ecs-hosts/ecs-agent',
      '/var/log/cloud-init-output.log -> /sample/ecs-hosts/bootstrap',
    ]);
  });

  test('GIVEN the installer THEN user data writes it with a quoted heredoc and makes it executable', () => {
    const lines = logs.installerCommands('#!/bin/bash\necho $HOME\n');
    expect(lines).toEqual([
      "cat > /usr/local/sbin/install-cloudwatch-agent.sh <<'GMSA_CLOUDWATCH_AGENT_INSTALLER_END'",
      '#!/bin/bash\necho $HOME',
      'GMSA_CLOUDWATCH_AGENT_INSTALLER_END',
      'chmod 0755 /usr/local/sbin/install-cloudwatch-agent.sh',
    ]);
    expect(logs.installerArguments()).toEqual(['--config-parameter', '/sample/cloudwatch-agent/ecs-hosts']);
  });

  test('GIVEN the real installer THEN user data carries it without comment lines, still valid bash, under 2 KB', () => {
    const [, body] = logs.installerCommands();
    expect(body.startsWith('#!/bin/bash\n')).toBe(true);
    expect(body.split('\n').filter((line) => /^\s*#/.test(line))).toEqual(['#!/bin/bash']);
    expect(Buffer.byteLength(body)).toBeLessThan(2048);
    expect(spawnSync('bash', ['-n'], { input: body }).status).toBe(0);
  });

  test('fails on an installer that would end its own heredoc', () => {
    expect(() => logs.installerCommands('echo\nGMSA_CLOUDWATCH_AGENT_INSTALLER_END\n')).toThrow(/must not contain/);
  });

  test('fails on a configuration placeholder without a value, or a value without a placeholder', () => {
    const template = fs.readFileSync(CLOUDWATCH_AGENT_CONFIG_SOURCE, 'utf8');
    expect(() => renderAgentConfig(template, { CREDENTIALS_FETCHER_LOG_GROUP: 'a', ECS_AGENT_LOG_GROUP: 'b' })).toThrow(
      /no value for @BOOTSTRAP_LOG_GROUP@/,
    );
    expect(() => renderAgentConfig('{"a":"@X@"}', { X: 'x', Y: 'y' })).toThrow(/no @Y@/);
  });

  test('fails on a filter term with a quote', () => {
    expect(() => anyTerm(['say "hi"'])).toThrow(/without quotes/);
  });
});

describe('the failure lines the metric filters count', () => {
  test('GIVEN the host script THEN its failure line starts with the term the bootstrap filter matches', () => {
    // log() prints "gmsa-host-setup: <message>" and on_exit logs "FAILED with exit status ...".
    const script = fs.readFileSync(HOST_SCRIPT_SOURCE, 'utf8');
    expect(script).toMatch(/readonly LOG_TAG=gmsa-host-setup/);
    expect(script).toMatch(/echo "\$\{LOG_TAG\}: \$\*"/);
    expect(script).toMatch(/log "FAILED with exit status/);
    expect(HOST_SETUP_FAILURE_TERM).toBe('gmsa-host-setup: FAILED');
  });

  test('GIVEN credentials-fetcher log lines THEN only the failures match a ticket-failure term', () => {
    // Lines as credentials-fetcher writes them (common/daemon.h write_log: "<date> <time>: <message>").
    const matches = (line: string) => TICKET_FAILURE_TERMS.some((term) => line.includes(term));
    expect(matches('2026-12-02 10:00:00: ERROR: Cannot get gMSA krb ticket')).toBe(true);
    expect(matches('2026-12-02 10:00:00: ERROR: Cannot get gMSA krb ticket using account WebApp01')).toBe(true);
    expect(matches('2026-12-02 10:00:00: Error -1: Cannot get machine krb ticket')).toBe(true);
    expect(matches('2026-12-02 10:00:00: ERROR -1: Cannot get user krb ticket')).toBe(true);
    expect(matches('2026-12-02 10:00:00: Invalid credentials for domainless user ')).toBe(true);
    expect(matches('2026-12-02 10:00:00: gMSA ticket is at /var/credentials-fetcher/krbdir/abc/WebApp01')).toBe(false);
    expect(
      matches(
        '2026-12-02 10:00:00: WARNING: Cannot get gMSA krb ticket because of expired user/machine ticket, will be retried automatically',
      ),
    ).toBe(false);
  });
});
