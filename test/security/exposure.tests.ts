import { CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { GmsaStacks } from '../../lib/gmsa-app';
import { MODE_NAMES, settingsFor, sharedApp } from '../helpers/modes';

/**
 * What each mode exposes, across all stacks: no 0.0.0.0/0 ingress except the load balancer's port 80 when no
 * MY_SG_INGRESS_IP is given, RDP only from BASTION_RDP_CIDR (never from MY_SG_INGRESS_IP), SQL Server only from our own
 * sources.
 *
 * The teardown and CredSpec-ownership checks (further down; they were teardown.test.ts and credspec-ownership.test.ts)
 * walk the same apps, so each mode is built once for all three.
 */

interface IngressRule {
  readonly stack: string;
  /** Logical id (and stack) of the group the rule admits traffic into, as rendered (Ref, GetAtt or a cross-stack reference). */
  readonly group: string;
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly cidr?: string;
  readonly source?: string;
}

const MY_CIDR = '203.0.113.10/32';
const RDP_CIDR = '198.51.100.0/24';

type CfnProperties = Record<string, unknown>;

/** A port number; the SQL Server instance's own port attribute counts as 1433 (the instance keeps the default port). */
function portOf(port: unknown): number | undefined {
  const isDbPort = JSON.stringify(port)?.includes('"Endpoint.Port"');
  return isDbPort ? SQL_SERVER_DEFAULT_PORT : (port as number | undefined);
}

const SQL_SERVER_DEFAULT_PORT = 1433;

/** Every ingress rule of every stack: inline in a security group or a standalone SecurityGroupIngress resource. */
function ingressRules(stacks: GmsaStacks): IngressRule[] {
  const rules: IngressRule[] = [];
  for (const stack of Object.values(stacks).filter((s): s is Stack => s !== undefined)) {
    const resources = Template.fromStack(stack).toJSON().Resources as Record<
      string,
      { Type: string; Properties?: CfnProperties }
    >;
    for (const [id, r] of Object.entries(resources)) {
      const asRule = (p: CfnProperties, group: string): IngressRule => ({
        stack: stack.stackName,
        group,
        fromPort: portOf(p.FromPort),
        toPort: portOf(p.ToPort),
        cidr: (p.CidrIp ?? p.CidrIpv6) as string | undefined,
        source: p.SourceSecurityGroupId === undefined ? undefined : JSON.stringify(p.SourceSecurityGroupId),
      });
      if (r.Type === 'AWS::EC2::SecurityGroup') {
        const inline = (r.Properties?.SecurityGroupIngress ?? []) as CfnProperties[];
        for (const p of inline) rules.push(asRule(p, `${stack.stackName}/${id}`));
      }
      if (r.Type === 'AWS::EC2::SecurityGroupIngress') {
        rules.push(asRule(r.Properties ?? {}, JSON.stringify(r.Properties?.GroupId)));
      }
    }
  }
  return rules;
}

/** The logical id of a security group, which every reference to it (local or cross-stack) contains. */
function idOf(group: ec2.ISecurityGroup | undefined): string {
  if (group === undefined) throw new Error('expected a security group');
  return Stack.of(group).getLogicalId(group.node.defaultChild as CfnElement);
}

describe.each(
  MODE_NAMES.flatMap(
    (mode) =>
      [
        [mode, undefined],
        [mode, MY_CIDR],
      ] as const,
  ),
)('exposure in mode %s with MY_SG_INGRESS_IP=%p', (mode, cidr) => {
  const { stacks } = sharedApp(settingsFor(mode, { deployApp: true, mySgIngressCidr: cidr }));
  // BASTION_RDP_CIDR, its own decision, beside the same MY_SG_INGRESS_IP.
  const rdpRules = ingressRules(
    sharedApp(settingsFor(mode, { deployApp: true, mySgIngressCidr: cidr, bastionRdpCidr: RDP_CIDR })).stacks,
  );
  const rules = ingressRules(stacks);
  const application = stacks.application!;
  const albGroup = idOf(application.webApp.loadBalancerSecurityGroup);

  test('THEN only the load balancer may admit the internet, on port 80, and only without MY_SG_INGRESS_IP', () => {
    const open = rules.filter((r) => r.cidr === '0.0.0.0/0' || r.cidr === '::/0');
    if (cidr === undefined) {
      expect(open).toEqual([expect.objectContaining({ cidr: '0.0.0.0/0', fromPort: 80, toPort: 80 })]);
      expect(open[0].group).toContain(albGroup);
    } else {
      expect(open).toEqual([]);
      const albRules = rules.filter((r) => r.group.includes(albGroup));
      expect(albRules).toEqual([expect.objectContaining({ cidr: MY_CIDR, fromPort: 80, toPort: 80 })]);
    }
  });

  test('THEN nothing admits RDP without BASTION_RDP_CIDR, whatever MY_SG_INGRESS_IP is; with it, only from it and only to the bastion', () => {
    const rdpOf = (all: IngressRule[]) =>
      all.filter((r) => r.fromPort !== undefined && r.fromPort <= 3389 && (r.toPort ?? r.fromPort) >= 3389);
    expect(rdpOf(rules)).toEqual([]);
    const rdp = rdpOf(rdpRules);
    expect(rdp).toEqual([expect.objectContaining({ cidr: RDP_CIDR, fromPort: 3389, toPort: 3389 })]);
    expect(rdp[0].group).toContain(idOf(stacks.database.bastion.securityGroup));
  });

  test('THEN SQL Server admits 1433 only from the bastion, its rotation function, the SQL clients group and the tasks', () => {
    // The port attribute stands for 1433 only while the instance keeps SQL Server's default port.
    Template.fromStack(stacks.database).hasResourceProperties('AWS::RDS::DBInstance', { Port: Match.absent() });
    const dbGroup = idOf(stacks.database.databaseSecurityGroup);
    const intoDb = rules.filter((r) => r.group.includes(dbGroup));
    const sqlRotationGroup = stacks.database.sqlServer.rotation.node.findChild('SecurityGroup') as ec2.ISecurityGroup;
    const expected = [
      idOf(stacks.database.bastion.securityGroup),
      // The master secret's rotation function signs in to SQL Server to change the password.
      idOf(sqlRotationGroup),
      // The container instances' way in (a group of the directory stack, so the cluster needs no database reference).
      idOf(stacks.directory.sqlClientsSecurityGroup),
      idOf(application.webApp.taskSecurityGroup),
    ];
    expect(intoDb.filter((r) => r.fromPort !== 1433 || r.toPort !== 1433 || r.cidr !== undefined)).toEqual([]);
    const sources = intoDb.map((r) => expected.find((id) => r.source?.includes(id)) ?? r.source);
    expect(sources.sort()).toEqual([...expected].sort());
  });

  test('THEN the tasks admit only the load balancer, on 8080', () => {
    const intoTasks = rules.filter((r) => r.group.includes(idOf(application.webApp.taskSecurityGroup)));
    expect(intoTasks).toEqual([expect.objectContaining({ fromPort: 8080, toPort: 8080, cidr: undefined })]);
    expect(intoTasks[0].source).toContain(albGroup);
  });

  test('THEN nothing but the container instances joins the SQL clients group, and it admits nothing itself', () => {
    expect(rules.filter((r) => r.group.includes(idOf(stacks.directory.sqlClientsSecurityGroup)))).toEqual([]);
    const clients = idOf(stacks.directory.sqlClientsSecurityGroup);
    const members = Object.values(stacks)
      .filter((s): s is Stack => s !== undefined)
      .flatMap((stack) =>
        Object.entries(Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string }>)
          .filter(([, r]) => r.Type !== 'AWS::EC2::SecurityGroupIngress' && JSON.stringify(r).includes(clients))
          .map(([, r]) => r.Type),
      );
    expect(members.sort()).toEqual(mode.includes('fargate') ? [] : ['AWS::EC2::LaunchTemplate']);
  });

  test('THEN the container instances admit nothing', () => {
    if (mode.includes('fargate')) {
      expect(stacks.cluster.instanceSecurityGroup).toBeUndefined();
      return;
    }
    expect(rules.filter((r) => r.group.includes(idOf(stacks.cluster.instanceSecurityGroup)))).toEqual([]);
  });
});

/**
 * `npx cdk destroy "*"` must leave nothing of ours behind and nothing may block it. This walks every resource of every
 * stack in every mode.
 */

/** Resources that may keep a non-Delete deletion policy, by resource type, with the reason. */
const RETAIN_ALLOW_LIST: Readonly<Record<string, string>> = {};

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

function resourcesOf(stack: Stack): Array<[string, CfnResource]> {
  return Object.entries(Template.fromStack(stack).toJSON().Resources as Record<string, CfnResource>);
}

describe.each(MODE_NAMES)('teardown in mode %s', (mode) => {
  const { stacks } = sharedApp(settingsFor(mode, { deployApp: true }));
  const all = Object.values(stacks).filter((s): s is Stack => s !== undefined);
  const resources = all.flatMap((stack) =>
    resourcesOf(stack).map(([id, r]) => [`${stack.stackName}/${id}`, r] as const),
  );

  test('THEN no resource is retained, snapshotted or kept unless allow-listed with a reason', () => {
    const kept = resources
      .filter(([, r]) => r.DeletionPolicy !== undefined && r.DeletionPolicy !== 'Delete')
      .filter(([, r]) => !(r.Type in RETAIN_ALLOW_LIST))
      .map(([id, r]) => `${id} (${r.Type}): ${r.DeletionPolicy}`);
    expect(kept).toEqual([]);
  });

  test('THEN every log group has a retention and is deleted with its stack', () => {
    const bad = resources
      .filter(([, r]) => r.Type === 'AWS::Logs::LogGroup')
      .filter(([, r]) => r.Properties?.RetentionInDays === undefined || r.DeletionPolicy !== 'Delete')
      .map(([id]) => id);
    expect(bad).toEqual([]);
  });

  test('THEN every Lambda function logs to a log group of its stack (no implicit /aws/lambda group left behind)', () => {
    const implicit = resources
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .filter(([, r]) => (r.Properties?.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup === undefined)
      .map(([id]) => id);
    expect(implicit).toEqual([]);
  });

  test('THEN every function from the Serverless Application Repository has its default log group in our stack', () => {
    const missing = resources
      .filter(([, r]) => r.Type === 'AWS::Serverless::Application')
      .map(([, r]) => (r.Properties?.Parameters as { functionName?: string }).functionName)
      .filter(
        (name) =>
          !resources.some(
            ([, r]) => r.Type === 'AWS::Logs::LogGroup' && r.Properties?.LogGroupName === `/aws/lambda/${name}`,
          ),
      );
    expect(missing).toEqual([]);
  });

  test('THEN every bucket is emptied on destroy', () => {
    for (const stack of all) {
      const template = Template.fromStack(stack);
      const autoDeleted = new Set(
        Object.values(template.findResources('Custom::S3AutoDeleteObjects')).map((r) =>
          JSON.stringify(r.Properties.BucketName),
        ),
      );
      for (const id of Object.keys(template.findResources('AWS::S3::Bucket'))) {
        expect(autoDeleted).toContain(JSON.stringify({ Ref: id }));
      }
    }
  });

  test('THEN every ECR repository is emptied on destroy', () => {
    const kept = resources
      .filter(([, r]) => r.Type === 'AWS::ECR::Repository' && r.Properties?.EmptyOnDelete !== true)
      .map(([id]) => id);
    expect(kept).toEqual([]);
  });

  test('THEN no capacity provider or Auto Scaling group protects instances from scale-in', () => {
    const protectedOnes = resources
      .filter(
        ([, r]) =>
          (r.Type === 'AWS::ECS::CapacityProvider' &&
            (r.Properties?.AutoScalingGroupProvider as { ManagedTerminationProtection?: string })
              ?.ManagedTerminationProtection === 'ENABLED') ||
          (r.Type === 'AWS::AutoScaling::AutoScalingGroup' && r.Properties?.NewInstancesProtectedFromScaleIn === true),
      )
      .map(([id]) => id);
    expect(protectedOnes).toEqual([]);
  });

  test('THEN the database is deleted without a final snapshot and without deletion protection', () => {
    const dbs = resources.filter(([, r]) => r.Type === 'AWS::RDS::DBInstance');
    expect(dbs).toHaveLength(1);
    for (const [, db] of dbs) {
      expect(db.DeletionPolicy).toBe('Delete');
      expect(db.Properties?.DeletionProtection).not.toBe(true);
    }
  });
});

/**
 * The CredSpec is written by the bastion and by nothing else: no template may own it (a CloudFormation-owned value is
 * written back on any update of its resource), hold a placeholder for it, or read it at deploy time (before the
 * bastion has written it). In this file (it was credspec-ownership.test.ts) because it reads the same apps as the
 * teardown checks: each mode is built once.
 */
describe.each(MODE_NAMES)('CredSpec ownership in mode %s', (mode) => {
  const { stacks } = sharedApp(settingsFor(mode, { deployApp: true }));
  const templates = Object.values(stacks)
    .filter((s): s is Stack => s !== undefined)
    .map((stack) => ({ name: stack.stackName, json: Template.fromStack(stack).toJSON() }));

  test('THEN no template has an SSM parameter resource, or any S3 object resource, for the CredSpec', () => {
    const owned = templates.flatMap(({ name, json }) =>
      Object.entries(json.Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>)
        .filter(([, r]) => r.Type === 'AWS::SSM::Parameter' || /credspec/i.test(JSON.stringify(r.Properties?.Name)))
        // The one parameter a template owns: the container instances' CloudWatch agent configuration.
        .filter(([, r]) => !/\/cloudwatch-agent\/ecs-hosts"$/.test(JSON.stringify(r.Properties?.Name)))
        .filter(([, r]) => !r.Type.startsWith('Custom::'))
        .map(([id, r]) => `${name}/${id} (${r.Type})`),
    );
    expect(owned).toEqual([]);
  });

  test('THEN no template holds a CredSpec placeholder value or reads the parameter at deploy time', () => {
    for (const { name, json } of templates) {
      const text = JSON.stringify(json);
      expect({ name, placeholder: /placeholder/i.test(text) }).toEqual({ name, placeholder: false });
      expect({ name, resolve: /resolve:ssm[^"]*credspec/i.test(text) }).toEqual({ name, resolve: false });
      const parameters = Object.values((json.Parameters ?? {}) as Record<string, { Type: string; Default?: string }>);
      expect(parameters.filter((p) => /credspec/i.test(String(p.Default)))).toEqual([]);
    }
  });

  test('THEN the only occurrence of the SID and GUID placeholders is the template in the bastion user data', () => {
    for (const { name, json } of templates) {
      const resources = Object.entries(json.Resources as Record<string, { Type: string }>).filter(([, r]) =>
        JSON.stringify(r).includes('__DOMAIN_SID__'),
      );
      expect({ name, types: resources.map(([, r]) => r.Type) }).toEqual({
        name,
        types: name.endsWith('-database') ? ['AWS::EC2::Instance'] : [],
      });
    }
  });
});
