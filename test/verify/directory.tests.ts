import { DescribeDirectoriesCommand, DirectoryServiceClient } from '@aws-sdk/client-directory-service';
import { DescribeDhcpOptionsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { directoryCheck } from '../../verify/checks/directory';
import { clientMock, DIRECTORY_ID, DOMAIN, makeContext } from './helpers';

const ds = clientMock(DirectoryServiceClient);
const ec2 = clientMock(EC2Client);

function givenDirectory(stage: string, dhcpServers: string[]): void {
  ds.on(DescribeDirectoriesCommand, { DirectoryIds: [DIRECTORY_ID] }).resolves({
    DirectoryDescriptions: [
      {
        DirectoryId: DIRECTORY_ID,
        Name: DOMAIN,
        Stage: stage as never,
        DnsIpAddrs: ['10.0.2.10', '10.0.1.10'],
        VpcSettings: { VpcId: 'vpc-1' },
      },
    ],
  });
  ec2.on(DescribeVpcsCommand, { VpcIds: ['vpc-1'] }).resolves({ Vpcs: [{ VpcId: 'vpc-1', DhcpOptionsId: 'dopt-1' }] });
  ec2.on(DescribeDhcpOptionsCommand, { DhcpOptionsIds: ['dopt-1'] }).resolves({
    DhcpOptions: [
      {
        DhcpOptionsId: 'dopt-1',
        DhcpConfigurations: [
          { Key: 'domain-name', Values: [{ Value: DOMAIN }] },
          { Key: 'domain-name-servers', Values: dhcpServers.map((Value) => ({ Value })) },
        ],
      },
    ],
  });
}

beforeEach(() => {
  ds.reset();
  ec2.reset();
});

describe('directory check', () => {
  test('passes when the directory is Active and the DHCP options carry its DNS addresses', async () => {
    givenDirectory('Active', ['10.0.1.10', '10.0.2.10']);
    const outcome = await directoryCheck.run(makeContext());
    expect(outcome).toMatchObject({ status: 'pass' });
    expect(outcome.detail).toContain('10.0.1.10, 10.0.2.10 via dopt-1');
  });

  test('fails while the directory is still Creating', async () => {
    givenDirectory('Creating', ['10.0.1.10', '10.0.2.10']);
    const outcome = await directoryCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('is Creating');
  });

  test('fails when the DHCP options name other DNS servers', async () => {
    givenDirectory('Active', ['AmazonProvidedDNS']);
    const outcome = await directoryCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain(
      "have domain-name-servers AmazonProvidedDNS, not the directory's 10.0.1.10, 10.0.2.10",
    );
    expect(outcome.fix).toContain('vpc-1');
  });

  test('fails when the VPC uses the default DHCP options', async () => {
    givenDirectory('Active', []);
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1', DhcpOptionsId: 'default' }] });
    const outcome = await directoryCheck.run(makeContext());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('default DHCP options');
  });
});
