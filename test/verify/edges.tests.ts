import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { DescribeDirectoriesCommand, DirectoryServiceClient } from '@aws-sdk/client-directory-service';
import { DescribeDhcpOptionsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetObjectCommand, GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { buildCredSpecTemplate, fillCredSpecTemplate } from '../../lib/constructs/credspec-document';
import { CHECKS } from '../../verify/checks';
import { problemOf } from '../../verify/checks/credspec';
import { databaseCheck } from '../../verify/checks/database';
import { pageCheck } from '../../verify/checks/page';
import { CheckContext } from '../../verify/types';
import {
  clientMock,
  closedPort,
  contextWithServiceUrl,
  DIRECTORY_ID,
  DOMAIN,
  IDENTITY_SECRET_ARN,
  makeContext,
} from './helpers';

/*
 * The failing branches of the checks a user would meet after a deployment that went wrong in a quiet way, and the
 * time bound of the run: every AWS call and the page request take the run's abort signal.
 */

const SID = 'S-1-5-21-1111111111-2222222222-3333333333';
const GUID = '11111111-2222-3333-4444-555555555555';
const TEMPLATE = buildCredSpecTemplate({
  gmsaName: 'SampleWebApp',
  dnsName: DOMAIN,
  netbiosName: 'DIRECTORY',
  domainlessCredentialArn: IDENTITY_SECRET_ARN,
});
const CREDSPEC = fillCredSpecTemplate(TEMPLATE, SID, GUID);

/** The CredSpec with one field of DomainJoinConfig replaced. */
function withJoinField(field: string, value: unknown): string {
  const spec = JSON.parse(CREDSPEC);
  spec.DomainJoinConfig[field] = value;
  return JSON.stringify(spec);
}

describe('CredSpec check: a copy the bastion did not finish', () => {
  test('fails when only the GUID placeholder is left (the SID was filled in)', () => {
    const half = TEMPLATE.split('__DOMAIN_SID__').join(SID);
    expect(problemOf(half, DOMAIN, true)).toBe('still holds the placeholder "__DOMAIN_GUID__"');
  });

  test('fails when only the SID placeholder is left (the GUID was filled in)', () => {
    const half = TEMPLATE.split('__DOMAIN_GUID__').join(GUID);
    expect(problemOf(half, DOMAIN, true)).toBe('still holds the placeholder "__DOMAIN_SID__"');
  });

  test.each([
    ['no Sid', undefined],
    ['an empty Sid', ''],
    ['a well-known SID', 'S-1-5-32-544'],
    ['text around the SID', `x${SID}x`],
  ])('fails with %s', (_case, sid) => {
    expect(problemOf(withJoinField('Sid', sid), DOMAIN, true)).toBe('has no domain SID');
  });

  test.each([
    ['no Guid', undefined],
    ['an empty Guid', ''],
    ['a Guid that is not one', 'not-a-guid'],
    ['text around the Guid', `{${GUID}}`],
  ])('fails with %s', (_case, guid) => {
    expect(problemOf(withJoinField('Guid', guid), DOMAIN, true)).toBe('has no domain GUID');
  });

  test('passes a GUID in capitals and a domain name in another case', () => {
    const spec = withJoinField('Guid', GUID.toUpperCase());
    expect(problemOf(spec, DOMAIN.toUpperCase(), true)).toBeUndefined();
  });

  test.each([
    ['JSON that is not an object', 'null', 'has no DomainJoinConfig'],
    ['a DomainJoinConfig that is not an object', '{"DomainJoinConfig":"x"}', 'has no DomainJoinConfig'],
    ['no MachineAccountName', withJoinField('MachineAccountName', undefined), 'names the gMSA undefined'],
    ['a DnsName that is not a string', withJoinField('DnsName', 42), 'names the domain 42'],
  ])('fails on %s', (_case, text, problem) => {
    expect(problemOf(text, DOMAIN, true)).toMatch(new RegExp(`^${problem.replace(/[.*]/g, '\\$&')}`));
  });

  test('fails when no GroupManagedServiceAccounts entry names the gMSA', () => {
    const spec = JSON.parse(CREDSPEC);
    spec.ActiveDirectoryConfig.GroupManagedServiceAccounts = [{ Name: 'Other', Scope: DOMAIN }];
    expect(problemOf(JSON.stringify(spec), DOMAIN, true)).toBe(
      'has no GroupManagedServiceAccounts entry for SampleWebApp',
    );
    delete spec.ActiveDirectoryConfig;
    expect(problemOf(JSON.stringify(spec), DOMAIN, true)).toBe(
      'has no GroupManagedServiceAccounts entry for SampleWebApp',
    );
  });

  test.each([
    ['no HostAccountConfig', undefined],
    ['a PluginInput of null', { PluginInput: null }],
    ['a CredentialArn that is not a string', { PluginInput: { CredentialArn: 1 } }],
  ])('fails in domainless mode with %s, and passes the same copy in domain-joined mode', (_case, host) => {
    const spec = JSON.parse(CREDSPEC);
    spec.ActiveDirectoryConfig.HostAccountConfig = host;
    const text = JSON.stringify(spec);
    expect(problemOf(text, DOMAIN, true)).toBe(
      'has no HostAccountConfig.PluginInput.CredentialArn object (domainless mode needs it)',
    );
    expect(problemOf(text, DOMAIN, false)).toBeUndefined();
  });
});

describe('SQL Server check: membership of the right directory', () => {
  const rds = clientMock(RDSClient);
  beforeEach(() => rds.reset());

  function given(memberships: { Domain: string; Status: string }[]): void {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [{ DBInstanceStatus: 'available', DomainMemberships: memberships }],
    });
  }

  test('fails when the instance is joined to another directory only', async () => {
    given([{ Domain: 'd-0000000000', Status: 'joined' }]);
    expect(await databaseCheck.run(makeContext())).toMatchObject({
      status: 'fail',
      detail: `amazon-ecs-gmsa-linux-sql is not a member of directory ${DIRECTORY_ID}`,
    });
  });

  test('passes when it is joined to this directory among others', async () => {
    given([
      { Domain: 'd-0000000000', Status: 'failed' },
      { Domain: DIRECTORY_ID, Status: 'joined' },
    ]);
    expect((await databaseCheck.run(makeContext())).status).toBe('pass');
  });

  test('fails when RDS does not know the instance', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [] });
    expect(await databaseCheck.run(makeContext())).toMatchObject({
      status: 'fail',
      detail: 'RDS instance amazon-ecs-gmsa-linux-sql not found',
    });
  });

  test('fails naming the membership status "unknown" when RDS reports none', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [{ DBInstanceStatus: 'available', DomainMemberships: [{ Domain: DIRECTORY_ID }] }],
    });
    expect((await databaseCheck.run(makeContext())).detail).toBe(
      `amazon-ecs-gmsa-linux-sql's membership of ${DIRECTORY_ID} is unknown`,
    );
  });
});

describe('page check: what the app reports', () => {
  let server: Server;
  let answer: string | 'hang' = '{}';

  beforeAll(async () => {
    server = createServer((_request, response) => {
      if (answer === 'hang') return;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(answer);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function context(extra: Partial<CheckContext> = {}): CheckContext {
    return contextWithServiceUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}//`, extra);
  }

  test('fails when the session is KERBEROS but the app says ok: false (the query failed)', async () => {
    answer = JSON.stringify({ ok: false, authScheme: 'KERBEROS', cause: 'Invalid object name Artist' });
    expect(await pageCheck.run(context())).toMatchObject({
      status: 'fail',
      detail: 'authScheme KERBEROS: Invalid object name Artist',
    });
  });

  test('fails when the app reports no scheme and no ticket cache', async () => {
    answer = JSON.stringify({ ok: false });
    expect((await pageCheck.run(context())).detail).toBe('authScheme none');
  });

  test('fails with "?" for a ticket cache without a state', async () => {
    answer = JSON.stringify({ ok: false, authScheme: 'NTLM', ticketCache: {} });
    expect((await pageCheck.run(context())).detail).toBe('authScheme NTLM, ticket cache ?');
  });

  test('passes with "?" for a missing login and server', async () => {
    answer = JSON.stringify({ ok: true, authScheme: 'KERBEROS' });
    expect(await pageCheck.run(context())).toMatchObject({
      status: 'pass',
      detail: 'KERBEROS as ? on ? (the app does not report its TLS channel: an older image)',
    });
  });

  test.each([
    ['an answer that is not JSON', '<html>', 'deploy the current web app (its /api/status answers JSON).'],
    [
      'NTLM',
      JSON.stringify({ ok: true, authScheme: 'NTLM' }),
      'NTLM: the server name is not <DBInstanceIdentifier>.<DirectoryName>; no ticket: see "Container instances", ' +
        'the CredSpec and the gMSA principals group (README Troubleshooting).',
    ],
  ])('fails on %s with the fix to apply', async (_case, body, fix) => {
    answer = body;
    const outcome = await pageCheck.run(context());
    expect(outcome.fix).toBe(fix);
  });

  test('fails naming the network error, not a timeout, when nothing listens, with the fix', async () => {
    const port = await closedPort();

    const outcome = await pageCheck.run(contextWithServiceUrl(`http://127.0.0.1:${port}`));

    expect(outcome.detail).toBe(`GET http://127.0.0.1:${port}/api/status: fetch failed`);
    expect(outcome.fix).toBe(
      'the load balancer only admits MY_SG_INGRESS_IP when it is set; check your address, then the targets.',
    );
  });

  test("fails as timed out, long before the page timeout, when the run's signal aborts", async () => {
    answer = 'hang';
    const run = new AbortController();
    setTimeout(() => run.abort(), 100);
    const started = Date.now();

    const outcome = await pageCheck.run(context({ signal: run.signal, pageTimeoutMs: 60000 }));

    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toMatch(/\/api\/status: timed out after 60000 ms$/);
    expect(Date.now() - started).toBeLessThan(10000);
  });
});

describe('every AWS call takes the run abort signal', () => {
  const mocks = {
    ds: clientMock(DirectoryServiceClient),
    ec2: clientMock(EC2Client),
    ssm: clientMock(SSMClient),
    s3: clientMock(S3Client),
    sm: clientMock(SecretsManagerClient),
    rds: clientMock(RDSClient),
    ecs: clientMock(ECSClient),
    elb: clientMock(ElasticLoadBalancingV2Client),
  };

  beforeEach(() => {
    for (const mock of Object.values(mocks)) mock.reset();
    mocks.ds.on(DescribeDirectoriesCommand).resolves({
      DirectoryDescriptions: [{ Stage: 'Active', DnsIpAddrs: ['10.0.1.10'], VpcSettings: { VpcId: 'vpc-1' } }],
    });
    mocks.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ DhcpOptionsId: 'dopt-1' }] });
    mocks.ec2.on(DescribeDhcpOptionsCommand).resolves({
      DhcpOptions: [{ DhcpConfigurations: [{ Key: 'domain-name-servers', Values: [{ Value: '10.0.1.10' }] }] }],
    });
    mocks.ssm.on(GetParameterCommand).resolves({ Parameter: { Value: CREDSPEC } });
    mocks.s3.on(GetObjectCommand).resolves({
      Body: { transformToString: async () => CREDSPEC } as unknown as GetObjectCommandOutput['Body'],
    });
    mocks.sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ username: 'u', password: 'p', domainName: DOMAIN }),
    });
    mocks.sm.on(DescribeSecretCommand).resolves({ RotationEnabled: true, LastRotatedDate: new Date(0) });
    mocks.rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [{ DBInstanceStatus: 'available', DomainMemberships: [{ Domain: DIRECTORY_ID, Status: 'joined' }] }],
    });
    mocks.ecs.on(ListContainerInstancesCommand).resolves({ containerInstanceArns: ['arn:ci/1'] });
    mocks.ecs.on(DescribeContainerInstancesCommand).resolves({
      containerInstances: [{ attributes: [{ name: 'ecs.capability.gmsa-domainless' }] }],
    });
    mocks.ecs.on(DescribeServicesCommand).resolves({
      services: [{ status: 'ACTIVE', runningCount: 1, desiredCount: 1, loadBalancers: [{ targetGroupArn: 'tg' }] }],
    });
    mocks.ecs.on(ListTasksCommand).resolves({ taskArns: ['arn:task/1'] });
    mocks.ecs.on(DescribeTasksCommand).resolves({ tasks: [{ stoppedReason: 'Scaling activity' }] });
    mocks.elb.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [{ TargetHealth: { State: 'healthy' } }],
    });
  });

  test('GIVEN a run of every check but the page THEN each call carries the signal, and each check passed', async () => {
    const signal = new AbortController().signal;
    const ctx = makeContext({}, (stacks) => stacks, { signal });

    const outcomes = [];
    for (const check of CHECKS.filter((c) => c.id !== 'page')) outcomes.push([check.id, (await check.run(ctx)).status]);

    // The sidecar check applies only with TICKET_SOURCE=sidecar (test/verify/sidecar.tests.ts).
    expect(outcomes).toEqual(
      CHECKS.filter((c) => c.id !== 'page').map((c) => [c.id, c.id === 'sidecar' ? 'skip' : 'pass']),
    );
    // send(command, options): the mocks record both arguments.
    const calls = Object.values(mocks).flatMap((mock) => mock.calls() as unknown as { args: [object, unknown] }[]);
    expect(calls.length).toBe(15);
    for (const { args } of calls) {
      expect([args[0].constructor.name, args[1]]).toEqual([args[0].constructor.name, { abortSignal: signal }]);
    }
  });

  test('GIVEN TICKET_SOURCE=sidecar THEN the Kerberos sidecar check passes and its calls carry the signal too', async () => {
    mocks.ecs.on(DescribeTasksCommand).resolves({
      tasks: [{ taskArn: 'arn:task/1', containers: [{ name: 'kerberos-sidecar', healthStatus: 'HEALTHY' }] }],
    });
    const signal = new AbortController().signal;
    const sidecar = CHECKS.find((c) => c.id === 'sidecar');

    const ctx = makeContext({ ticketSource: 'sidecar' }, (stacks) => stacks, { signal });
    expect((await sidecar?.run(ctx))?.status).toBe('pass');
    const calls = mocks.ecs.calls() as unknown as { args: [object, unknown] }[];
    expect(calls.map(({ args }) => args[0].constructor.name)).toEqual(['ListTasksCommand', 'DescribeTasksCommand']);
    for (const { args } of calls) expect(args[1]).toEqual({ abortSignal: signal });
  });
});
