import { CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { GmsaStacks } from '../../lib/gmsa-app';
import { buildApp, MODE_NAMES, settingsFor } from '../helpers/modes';

/**
 * What each mode exposes, across all stacks: no 0.0.0.0/0 ingress except the load balancer's port 80 when no
 * MY_SG_INGRESS_IP is given, RDP only from MY_SG_INGRESS_IP, SQL Server only from our own sources.
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
  const { stacks } = buildApp(settingsFor(mode, { deployApp: true, mySgIngressCidr: cidr }));
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

  test('THEN RDP is admitted only from MY_SG_INGRESS_IP, and only to the bastion', () => {
    const rdp = rules.filter((r) => r.fromPort !== undefined && r.fromPort <= 3389 && (r.toPort ?? r.fromPort) >= 3389);
    if (cidr === undefined) {
      expect(rdp).toEqual([]);
    } else {
      expect(rdp).toEqual([expect.objectContaining({ cidr: MY_CIDR, fromPort: 3389, toPort: 3389 })]);
      expect(rdp[0].group).toContain(idOf(stacks.database.bastion.securityGroup));
    }
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
