import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  CredentialsFetcherHosts,
  CredentialsFetcherHostsProps,
  HOST_SCRIPT_PATH,
  HOST_SCRIPT_SOURCE,
  hostScriptCommands,
  TICKET_READ_SCRIPT_PATH,
  TICKET_READ_SCRIPT_SOURCE,
  withoutCommentLines,
} from '../../lib/constructs/credentials-fetcher-hosts';
import { CLOUDWATCH_AGENT_INSTALLER_SOURCE } from '../../lib/constructs/container-host-logs';

const ACCOUNT_ENV = { account: '111111111111', region: 'eu-west-1' };

function hostsProps(stack: Stack, overrides: Partial<CredentialsFetcherHostsProps> = {}): CredentialsFetcherHostsProps {
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  return {
    vpc,
    cluster: new ecs.Cluster(stack, 'Cluster', { vpc }),
    directoryAccess: { mode: 'domainless', identitySecret: new secretsmanager.Secret(stack, 'Identity') },
    credentialsFetcherVersion: '2.0.1',
    instanceType: 't3.medium',
    minCapacity: 1,
    maxCapacity: 2,
    ...overrides,
  };
}

describe('CredentialsFetcherHosts', () => {
  test.each([
    [2, 1],
    [-1, 2],
    [0, 0],
    [1.5, 2],
  ])('fails GIVEN capacity %d..%d', (minCapacity, maxCapacity) => {
    const stack = new Stack(new App(), 'Test', { env: ACCOUNT_ENV });
    expect(() => new CredentialsFetcherHosts(stack, 'Hosts', hostsProps(stack, { minCapacity, maxCapacity }))).toThrow(
      /ECS_MIN_CAPACITY <= ECS_MAX_CAPACITY/,
    );
  });

  test('fails GIVEN an Arm instance type', () => {
    const stack = new Stack(new App(), 'Test', { env: ACCOUNT_ENV });
    expect(
      () => new CredentialsFetcherHosts(stack, 'Hosts', hostsProps(stack, { instanceType: 't4g.medium' })),
    ).toThrow(/ECS_INSTANCE_TYPE "t4g.medium" is arm64: .* x86_64/);
  });

  test('fails GIVEN an x86_64 instance type without a known network-interface count', () => {
    const stack = new Stack(new App(), 'Test', { env: ACCOUNT_ENV });
    expect(
      () => new CredentialsFetcherHosts(stack, 'Hosts', hostsProps(stack, { instanceType: 'x2iedn.xlarge' })),
    ).toThrow(/ECS_INSTANCE_TYPE "x2iedn.xlarge" has no network-interface count/);
  });

  test('GIVEN 2 t3.medium hosts at most THEN they hold 4 awsvpc tasks', () => {
    const stack = new Stack(new App(), 'Test', { env: ACCOUNT_ENV });
    expect(new CredentialsFetcherHosts(stack, 'Hosts', hostsProps(stack)).awsvpcTaskSlots).toBe(4);
  });

  test('GIVEN the hosts THEN their launch template requires IMDSv2 with a hop limit of 1', () => {
    const stack = new Stack(new App(), 'Test', { env: ACCOUNT_ENV });
    new CredentialsFetcherHosts(stack, 'Hosts', hostsProps(stack));
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 } },
    });
  });

  test('GIVEN capacity 0..1 THEN the hosts are built', () => {
    const stack = new Stack(new App(), 'Test', { env: ACCOUNT_ENV });
    const hosts = new CredentialsFetcherHosts(stack, 'Hosts', hostsProps(stack, { minCapacity: 0, maxCapacity: 1 }));
    expect(hosts.capacityProvider.enableManagedTerminationProtection).toBe(false);
    expect(hosts.autoScalingGroup.areNewInstancesProtectedFromScaleIn()).toBe(false);
  });
});

describe('CredentialsFetcherHosts ticket readers (non-root app)', () => {
  /** The user data of hosts built with `ticketReaderGid`, as one string. */
  function userDataOf(ticketReaderGid?: number): string {
    const stack = new Stack(new App(), 'Test', { env: ACCOUNT_ENV });
    return new CredentialsFetcherHosts(stack, 'Hosts', hostsProps(stack, { ticketReaderGid })).userData.render();
  }

  test('GIVEN the default THEN user data writes the grant script and the host script grants GID 1654', () => {
    const userData = userDataOf();
    expect(userData).toContain(`cat > ${TICKET_READ_SCRIPT_PATH} <<'GMSA_HOST_SCRIPT_END'`);
    expect(userData).toContain(withoutCommentLines(fs.readFileSync(TICKET_READ_SCRIPT_SOURCE, 'utf8')));
    expect(userData.trimEnd().split('\n').pop()).toMatch(/ '--ticket-reader-gid' '1654'$/);
    expect(userData.indexOf(TICKET_READ_SCRIPT_PATH)).toBeLessThan(userData.indexOf(`cat > ${HOST_SCRIPT_PATH}`));
  });

  test('GIVEN another GID THEN the host script grants that one', () => {
    expect(userDataOf(2000).trimEnd().split('\n').pop()).toMatch(/ '--ticket-reader-gid' '2000'$/);
  });

  test.each([0, -5, 1.5])('fails GIVEN ticket reader GID %d', (gid) => {
    expect(() => userDataOf(gid)).toThrow(/Ticket reader GID .* is invalid: expected a positive whole number/);
  });
});

describe('withoutCommentLines', () => {
  // bash's own reading of a script (--pretty-print: parsed, not run) must not change when the comments and the
  // indentation go: a string that spans lines would keep its indentation in the source and lose it in user data.
  const parsed = (text: string) => {
    const result = spawnSync('bash', ['--pretty-print'], { input: text, encoding: 'utf8' });
    expect(result.status).toBe(0);
    return result.stdout.split('\n').filter((line) => line.trim() !== '');
  };

  test.each([HOST_SCRIPT_SOURCE, TICKET_READ_SCRIPT_SOURCE, CLOUDWATCH_AGENT_INSTALLER_SOURCE])(
    'GIVEN %s THEN bash reads the user-data text as it reads the file',
    (file) => {
      const text = fs.readFileSync(file, 'utf8');
      expect(parsed(withoutCommentLines(text))).toEqual(parsed(text));
    },
  );

  test('GIVEN a string that spans indented lines THEN the check above sees the difference', () => {
    const text = 'echo "a\n   b"\n';
    expect(parsed(withoutCommentLines(text))).not.toEqual(parsed(text));
  });
});

describe('hostScriptCommands', () => {
  test('GIVEN domainless mode THEN the script, without its comment lines and indentation, runs with the mode and the version', () => {
    const lines = hostScriptCommands(
      { mode: 'domainless', identitySecret: {} as secretsmanager.ISecret },
      '2.0.1',
      '#!/bin/bash\n# why\n\n  # shellcheck disable=SC2016 # kept\ntrue # stays\n',
    );
    expect(lines).toEqual([
      `cat > ${HOST_SCRIPT_PATH} <<'GMSA_HOST_SCRIPT_END'`,
      '#!/bin/bash\n# shellcheck disable=SC2016 # kept\ntrue # stays',
      'GMSA_HOST_SCRIPT_END',
      `chmod 0755 ${HOST_SCRIPT_PATH}`,
      `${HOST_SCRIPT_PATH} '--mode' 'domainless' '--credentials-fetcher-version' '2.0.1'`,
    ]);
  });

  test('GIVEN domain-joined mode THEN the script also gets the domain controllers, comma-separated', () => {
    const stack = new Stack();
    const lines = hostScriptCommands(
      {
        mode: 'domain-joined',
        domainName: 'directory.example.com',
        domainControllers: ['10.0.0.10', '10.0.1.10'],
        domainJoinSecret: secretsmanager.Secret.fromSecretCompleteArn(
          stack,
          'Join',
          'arn:aws:secretsmanager:eu-west-1:111111111111:secret:join-AbCdEf',
        ),
        domainJoinTag: { key: 'k', value: 'v' },
        gmsaPrincipalsGroup: 'Principals',
      },
      '2.0.3-1.amzn2023.0.6',
      '#!/bin/bash\n',
    );
    expect(lines[lines.length - 1]).toBe(
      `${HOST_SCRIPT_PATH} '--mode' 'domain-joined' '--credentials-fetcher-version' '2.0.3-1.amzn2023.0.6' ` +
        "'--domain' 'directory.example.com' '--domain-controllers' '10.0.0.10,10.0.1.10' " +
        "'--join-secret' 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:join-AbCdEf' '--group' 'Principals'",
    );
  });

  test('fails GIVEN a script with a heredoc, whose comment-like lines removal would break', () => {
    expect(() => withoutCommentLines("cat <<'EOF'\n# text\nEOF\n")).toThrow(/must not contain a heredoc/);
  });

  test('fails GIVEN a script that contains the heredoc delimiter', () => {
    expect(() =>
      hostScriptCommands(
        { mode: 'domainless', identitySecret: {} as secretsmanager.ISecret },
        '2.0.1',
        'echo\nGMSA_HOST_SCRIPT_END\n',
      ),
    ).toThrow(/must not contain a line "GMSA_HOST_SCRIPT_END"/);
  });

  test('fails GIVEN a group name with a quote', () => {
    const stack = new Stack();
    expect(() =>
      hostScriptCommands(
        {
          mode: 'domain-joined',
          domainName: 'directory.example.com',
          domainControllers: ['10.0.0.10'],
          domainJoinSecret: new secretsmanager.Secret(stack, 'Join'),
          domainJoinTag: { key: 'k', value: 'v' },
          gmsaPrincipalsGroup: "it's",
        },
        '2.0.1',
      ),
    ).toThrow(/Host script argument "it's"/);
  });
});
