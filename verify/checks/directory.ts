import { DescribeDirectoriesCommand } from '@aws-sdk/client-directory-service';
import { DescribeDhcpOptionsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { outputOf } from '../deployment';
import { Check, CheckContext, CheckOutcome, fail, pass } from '../types';

/**
 * Containers and hosts find the domain controllers through the VPC's DHCP options: `domain-name-servers` must be the
 * directory's DNS addresses (lib/constructs/network.ts and managed-directory.ts set them).
 */
export const directoryCheck: Check = {
  id: 'directory',
  title: 'Directory and DNS',
  description: "the directory is Active and the VPC's DHCP options hand out the directory's DNS addresses",
  async run(ctx: CheckContext): Promise<CheckOutcome> {
    const directoryId = outputOf(ctx, 'directory', 'DirectoryId');
    const { DirectoryDescriptions: found } = await ctx.clients.directoryService.send(
      new DescribeDirectoriesCommand({ DirectoryIds: [directoryId] }),
      { abortSignal: ctx.signal },
    );
    const directory = found?.[0];
    if (!directory) return fail(`directory ${directoryId} not found`, 'deploy the directory stack again.');
    if (directory.Stage !== 'Active') {
      return fail(
        `directory ${directoryId} is ${directory.Stage ?? 'in an unknown stage'}${directory.StageReason ? ` (${directory.StageReason})` : ''}`,
        'a new directory takes 20-40 minutes to become Active; if it is Impaired or Failed, see the Directory Service console.',
      );
    }
    const dnsIps = [...(directory.DnsIpAddrs ?? [])].sort();
    const vpcId = directory.VpcSettings?.VpcId;
    if (!vpcId || dnsIps.length === 0) {
      return fail(`directory ${directoryId} reports no VPC or no DNS addresses`, 'see the Directory Service console.');
    }
    const { Vpcs: vpcs } = await ctx.clients.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }), {
      abortSignal: ctx.signal,
    });
    if (!vpcs || vpcs.length === 0) {
      return fail(
        `the directory's VPC ${vpcId} was not found`,
        'see the Directory Service console: the directory needs its VPC.',
      );
    }
    const dhcpOptionsId = vpcs[0].DhcpOptionsId;
    const fix =
      `associate the stack's DHCP options set (domain-name-servers ${dnsIps.join(', ')}) with ${vpcId}: ` +
      'deploy the directory stack again; hosts pick up DNS changes after a restart.';
    if (!dhcpOptionsId || dhcpOptionsId === 'default') {
      return fail(`VPC ${vpcId} uses the default DHCP options (AmazonProvidedDNS)`, fix);
    }
    const { DhcpOptions: options } = await ctx.clients.ec2.send(
      new DescribeDhcpOptionsCommand({ DhcpOptionsIds: [dhcpOptionsId] }),
      { abortSignal: ctx.signal },
    );
    const servers = (options?.[0]?.DhcpConfigurations ?? [])
      .filter((entry) => entry.Key === 'domain-name-servers')
      .flatMap((entry) => entry.Values ?? [])
      .map((value) => value.Value ?? '');
    const missing = dnsIps.filter((ip) => !servers.includes(ip));
    if (missing.length > 0) {
      return fail(
        `DHCP options ${dhcpOptionsId} of ${vpcId} have domain-name-servers ${servers.join(', ') || 'none'}, ` +
          `not the directory's ${dnsIps.join(', ')}`,
        fix,
      );
    }
    return pass(`${directory.Name ?? directoryId} Active; ${vpcId} DNS ${dnsIps.join(', ')} via ${dhcpOptionsId}`);
  },
};
