import * as fs from 'fs';
import * as path from 'path';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

const HOST_SCRIPTS_DIR = path.join(__dirname, '..', '..', 'scripts', 'ecs-host');

/** The CloudWatch agent's configuration, with `@..._LOG_GROUP@` placeholders this construct fills in. */
export const CLOUDWATCH_AGENT_CONFIG_SOURCE = path.join(HOST_SCRIPTS_DIR, 'cloudwatch-agent.json');

/** The script that installs and starts the CloudWatch agent on a container instance. */
export const CLOUDWATCH_AGENT_INSTALLER_SOURCE = path.join(HOST_SCRIPTS_DIR, 'install-cloudwatch-agent.sh');

/** Where user data writes the installer on the instance (next to the host script). */
export const CLOUDWATCH_AGENT_INSTALLER_PATH = '/usr/local/sbin/install-cloudwatch-agent.sh';

/** Ends the heredoc that carries the installer into user data; the installer must not contain this line. */
const HEREDOC_END = 'GMSA_CLOUDWATCH_AGENT_INSTALLER_END';

/**
 * Lines of credentials-fetcher's log that mean a task (or a renewal) got no Kerberos ticket. Exact strings of
 * aws/credentials-fetcher (mainline, v1.3.6, commit aa1ec01); every `cf_logger.logger` line also goes to
 * `/var/credentials-fetcher/logging/credentials-fetcher.log` (common/daemon.h:102, `write_log`). The retry warning
 * "WARNING: Cannot get gMSA krb ticket because of expired user/machine ticket" (auth/kerberos/src/krb.cpp:514) is not
 * a failure and does not match.
 */
export const TICKET_FAILURE_TERMS: readonly string[] = [
  // api/src/gmsa_service.cpp:1235 and :2473 (lease), auth/kerberos/src/krb.cpp:521 and renewal/src/renewal.cpp:73
  // ("... using account %s", renewal).
  'ERROR: Cannot get gMSA krb ticket',
  // Domain-joined: the host's own ticket (kinit -kt /etc/krb5.keytab). api/src/gmsa_service.cpp:1200 and :2441,
  // renewal/src/renewal.cpp:91.
  'Cannot get machine krb ticket',
  // Domainless: the AD user's ticket from the secret. auth/kerberos/src/krb.cpp:537.
  'Cannot get user krb ticket',
  // Domainless: the secret has no username or password. api/src/gmsa_service.cpp:606-608.
  'Invalid credentials for domainless user',
  // kinit itself failed (wrong password, clock skew, no KDC). auth/kerberos/src/krb.cpp:224.
  'kinit failed',
];

/**
 * The line setup-credentials-fetcher-host.sh writes (through cloud-init's output) when it fails: its `on_exit` logs
 * `FAILED with exit status N` after the `gmsa-host-setup: ` tag. The CloudWatch agent installer's own failures carry
 * `gmsa-host-setup: cloudwatch-agent: FAILED` and do not match: the host works without the agent.
 */
export const HOST_SETUP_FAILURE_TERM = 'gmsa-host-setup: FAILED';

/** Props of {@link ContainerHostLogs}. */
export interface ContainerHostLogsProps {
  /** Prefix of the log group and parameter names: `/<solutionId>/ecs-hosts/...`. */
  readonly solutionId: string;
  /** Namespace of the metrics the log groups' metric filters publish. */
  readonly metricNamespace: string;
  /**
   * How long the hosts' logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly retention?: logs.RetentionDays;
}

/**
 * The container instances' logs in CloudWatch: a log group each for credentials-fetcher, the ECS agent and the
 * bootstrap (cloud-init's output, which holds the host script's lines), the CloudWatch agent's configuration in an SSM
 * parameter, and metric filters counting ticket failures and failed host setups.
 *
 * The host side: user data writes {@link ContainerHostLogs.installerCommands}, the host script runs the installer with
 * {@link ContainerHostLogs.installerArguments}, and the instance role gets {@link ContainerHostLogs.grantWrite}.
 */
export class ContainerHostLogs extends Construct {
  /** The log groups' names as plain strings (no reference), for stacks that only name them (the dashboard). */
  public readonly logGroupNames: {
    readonly credentialsFetcher: string;
    readonly ecsAgent: string;
    readonly bootstrap: string;
  };
  /** `/var/credentials-fetcher/logging/credentials-fetcher.log`, one stream per instance id. */
  public readonly credentialsFetcherLogGroup: logs.LogGroup;
  /** `/var/log/ecs/ecs-agent.log` and `ecs-init.log`, streams `<instance id>/ecs-agent` and `<instance id>/ecs-init`. */
  public readonly ecsAgentLogGroup: logs.LogGroup;
  /** `/var/log/cloud-init-output.log`: user data and setup-credentials-fetcher-host.sh, one stream per instance id. */
  public readonly bootstrapLogGroup: logs.LogGroup;
  /** The CloudWatch agent's configuration; the agent reads it with `fetch-config -c ssm:<name>`. */
  public readonly agentConfig: ssm.StringParameter;
  /** Its name as a plain string (user data carries it as it is). */
  public readonly agentConfigParameterName: string;
  /** Lines of credentials-fetcher's log matching {@link TICKET_FAILURE_TERMS} (Sum; 0 while logs arrive without one). */
  public readonly ticketFailures: cloudwatch.Metric;
  /** Hosts whose setup script failed (Sum; 0 while bootstrap logs arrive without one). */
  public readonly hostSetupFailures: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: ContainerHostLogsProps) {
    super(scope, id);
    const prefix = `/${props.solutionId}/ecs-hosts`;
    this.agentConfigParameterName = `/${props.solutionId}/cloudwatch-agent/ecs-hosts`;
    this.logGroupNames = {
      credentialsFetcher: `${prefix}/credentials-fetcher`,
      ecsAgent: `${prefix}/ecs-agent`,
      bootstrap: `${prefix}/bootstrap`,
    };
    // Named: the operations guide tells people where each log is. Destroyed with the stack, as every log group here.
    const logGroup = (logicalId: string, name: string) =>
      new logs.LogGroup(this, logicalId, {
        logGroupName: name,
        retention: props.retention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    this.credentialsFetcherLogGroup = logGroup('CredentialsFetcherLogGroup', this.logGroupNames.credentialsFetcher);
    this.ecsAgentLogGroup = logGroup('EcsAgentLogGroup', this.logGroupNames.ecsAgent);
    this.bootstrapLogGroup = logGroup('BootstrapLogGroup', this.logGroupNames.bootstrap);

    this.agentConfig = new ssm.StringParameter(this, 'AgentConfig', {
      parameterName: this.agentConfigParameterName,
      description:
        'CloudWatch agent configuration of the ECS container instances (scripts/ecs-host/cloudwatch-agent.json)',
      // The names as plain strings (not Refs): the agent's configuration reads as it will on the host.
      stringValue: renderAgentConfig(fs.readFileSync(CLOUDWATCH_AGENT_CONFIG_SOURCE, 'utf8'), {
        CREDENTIALS_FETCHER_LOG_GROUP: this.logGroupNames.credentialsFetcher,
        ECS_AGENT_LOG_GROUP: this.logGroupNames.ecsAgent,
        BOOTSTRAP_LOG_GROUP: this.logGroupNames.bootstrap,
      }),
    });

    this.ticketFailures = this.countLines(
      'TicketFailures',
      this.credentialsFetcherLogGroup,
      TICKET_FAILURE_TERMS,
      props,
    );
    this.hostSetupFailures = this.countLines(
      'HostSetupFailures',
      this.bootstrapLogGroup,
      [HOST_SETUP_FAILURE_TERM],
      props,
    );
  }

  /**
   * What the CloudWatch agent on a host needs, as a policy of its own on the instance role: write its streams into the
   * three log groups and read its configuration. No logs:CreateLogGroup: the groups exist (with their retention) before
   * any host starts. A log group's `Arn` attribute ends in `:*`, which covers its streams.
   * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/create-iam-roles-for-cloudwatch-agent.html
   */
  public grantWrite(role: iam.IRole): iam.Policy {
    const groups = [this.credentialsFetcherLogGroup, this.ecsAgentLogGroup, this.bootstrapLogGroup];
    return new iam.Policy(this, 'AgentPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'ShipHostLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: groups.map((group) => group.logGroupArn),
        }),
        new iam.PolicyStatement({
          sid: 'ReadAgentConfig',
          actions: ['ssm:GetParameter'],
          resources: [this.agentConfig.parameterArn],
        }),
      ],
    });
  }

  /**
   * The user-data lines that write the installer to {@link CLOUDWATCH_AGENT_INSTALLER_PATH}, without its comment lines
   * and blank lines: user data stops at 16 KB and the host script already takes most of it.
   */
  public installerCommands(installer = fs.readFileSync(CLOUDWATCH_AGENT_INSTALLER_SOURCE, 'utf8')): string[] {
    installer = withoutCommentLines(installer);
    if (installer.split('\n').some((line) => line.trim() === HEREDOC_END)) {
      throw new Error(`The CloudWatch agent installer must not contain a line "${HEREDOC_END}": it ends its heredoc.`);
    }
    return [
      // Quoted delimiter: the shell expands nothing inside the script text.
      `cat > ${CLOUDWATCH_AGENT_INSTALLER_PATH} <<'${HEREDOC_END}'`,
      installer.trimEnd(),
      HEREDOC_END,
      `chmod 0755 ${CLOUDWATCH_AGENT_INSTALLER_PATH}`,
    ];
  }

  /** The installer's arguments: the configuration parameter's name. */
  public installerArguments(): string[] {
    return ['--config-parameter', this.agentConfigParameterName];
  }

  private countLines(
    metricName: string,
    logGroup: logs.LogGroup,
    terms: readonly string[],
    props: ContainerHostLogsProps,
  ): cloudwatch.Metric {
    const filter = new logs.MetricFilter(this, `${metricName}Filter`, {
      logGroup,
      metricNamespace: props.metricNamespace,
      metricName,
      filterPattern: anyTerm(terms),
      metricValue: '1',
      // 0 for every batch of log events without a match: the dashboard shows 0, not an empty graph.
      defaultValue: 0,
    });
    return filter.metric({ statistic: cloudwatch.Stats.SUM });
  }
}

/**
 * A filter pattern matching a log event that contains any of the terms (each an exact, case-sensitive phrase).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 */
export function anyTerm(terms: readonly string[]): logs.IFilterPattern {
  const bad = terms.find((term) => term.includes('"') || term.trim() !== term || term === '');
  if (bad !== undefined)
    throw new Error(`Filter term ${JSON.stringify(bad)} must be non-empty, unpadded, without quotes.`);
  return logs.FilterPattern.literal(terms.map((term) => (terms.length > 1 ? `?"${term}"` : `"${term}"`)).join(' '));
}

/** The agent configuration with each `@NAME@` replaced; every placeholder must have a value and every value a use. */
export function renderAgentConfig(template: string, values: Readonly<Record<string, string>>): string {
  const used = new Set<string>();
  const rendered = template.replace(/@([A-Z_]+)@/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`The CloudWatch agent configuration has no value for @${name}@.`);
    used.add(name);
    return value;
  });
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length > 0) throw new Error(`The CloudWatch agent configuration has no @${unused[0]}@.`);
  // Compact: the parameter's standard tier holds 4 KB.
  return JSON.stringify(JSON.parse(rendered));
}

/** The script without full-line comments (the shebang and shellcheck directives stay) and without blank lines. */
export function withoutCommentLines(script: string): string {
  return script
    .split('\n')
    .filter((line, i) => line.trim() !== '' && (i === 0 || !/^\s*#/.test(line) || /^\s*# shellcheck /.test(line)))
    .join('\n');
}
