/**
 * MY_SG_INGRESS_IP (the one source the load balancer admits on HTTP, with DEPLOY_APP) and BASTION_RDP_CIDR (the one
 * source the bastion admits on RDP, 3389): each is meant to be the deployer's own address, so the parser bounds how
 * wide it may be.
 */

/**
 * The widest prefix accepted. A /16 (65,536 addresses) holds a large office or a provider's dynamic pool, which is as
 * wide as "my address" plausibly needs to be; anything wider opens RDP or the web app to a sizeable part of the internet (a
 * /1 is half of it). Someone who truly wants that can edit the security group after deploying.
 */
export const WIDEST_INGRESS_PREFIX = 16;

/** An IPv4 address and optional prefix, as written (a prefix of undefined means a bare address). */
export interface Ipv4Cidr {
  readonly address: string;
  readonly prefix?: number;
}

/** Parses `a.b.c.d` or `a.b.c.d/n` strictly (no leading zeros, octets up to 255, prefix 0..32); undefined otherwise. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text);
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  if (octets.some((o, i) => o > 255 || String(o) !== match[i + 1])) return undefined;
  if (match[5] === undefined) return { address: octets.join('.') };
  const prefix = Number(match[5]);
  if (prefix > 32 || String(prefix) !== match[5]) return undefined;
  return { address: octets.join('.'), prefix };
}

/** The accepted CIDR (host bits cleared, a bare address as /32), or why the value is refused (after "expected"). */
export function ingressCidrProblem(
  text: string,
  admits: string,
): { readonly cidr?: string; readonly refused?: string } {
  const allowed =
    `your public IPv4 address (e.g. 203.0.113.10) or an IPv4 CIDR from /${WIDEST_INGRESS_PREFIX} to /32` +
    ` (a /${WIDEST_INGRESS_PREFIX} is 65,536 addresses)`;
  const parsed = parseIpv4Cidr(text);
  if (parsed === undefined) return { refused: `expected ${allowed}.` };
  const prefix = parsed.prefix ?? 32;
  if (prefix < WIDEST_INGRESS_PREFIX) {
    const size = 2 ** (32 - prefix);
    return {
      refused: `expected ${allowed}; /${prefix} would admit ${size.toLocaleString('en-US')} addresses to ${admits}.`,
    };
  }
  return { cidr: `${toAddress(toNumber(parsed.address) & mask(prefix))}/${prefix}` };
}

/**
 * IPv4 ranges the internet does not route to AWS, from the IANA IPv4 Special-Purpose Address Registry (RFC 6890 and its
 * updates: https://www.iana.org/assignments/iana-ipv4-special-registry/), with what each one is.
 */
const NON_PUBLIC_RANGES: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, '"this network" (0.0.0.0/8)'],
  ['10.0.0.0', 8, 'a private address (10.0.0.0/8, RFC 1918)'],
  ['100.64.0.0', 10, 'a carrier-grade NAT address (100.64.0.0/10, RFC 6598)'],
  ['127.0.0.0', 8, 'a loopback address (127.0.0.0/8)'],
  ['169.254.0.0', 16, 'a link-local address (169.254.0.0/16)'],
  ['172.16.0.0', 12, 'a private address (172.16.0.0/12, RFC 1918)'],
  ['192.0.0.0', 24, 'an IETF protocol address (192.0.0.0/24)'],
  ['192.0.2.0', 24, 'a documentation address (192.0.2.0/24, RFC 5737)'],
  ['192.168.0.0', 16, 'a private address (192.168.0.0/16, RFC 1918)'],
  ['198.18.0.0', 15, 'a benchmarking address (198.18.0.0/15, RFC 2544)'],
  ['198.51.100.0', 24, 'a documentation address (198.51.100.0/24, RFC 5737)'],
  ['203.0.113.0', 24, 'a documentation address (203.0.113.0/24, RFC 5737)'],
  ['224.0.0.0', 4, 'a multicast address (224.0.0.0/4)'],
  ['240.0.0.0', 4, 'a reserved address (240.0.0.0/4)'],
];

/** What kind of non-public range holds the whole CIDR (`a.b.c.d/n`), or undefined for a public one. */
export function nonPublicRange(cidr: string): string | undefined {
  const [address, prefixText] = cidr.split('/');
  const prefix = Number(prefixText);
  const network = toNumber(address);
  const range = NON_PUBLIC_RANGES.find(
    ([start, bits]) => bits <= prefix && (network & mask(bits)) >>> 0 === toNumber(start),
  );
  return range?.[2];
}

function toNumber(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
}

/** The network mask of a prefix as an unsigned 32-bit number (0 for /0). */
function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
