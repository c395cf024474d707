/**
 * Reads an MIT Kerberos FILE credential cache (versions 3 and 4, as kinit writes them) well enough to tell the default
 * principal and the end time of each ticket, without klist: the tests check the sidecar's cache independently of the
 * tools the sidecar itself uses. Format: https://web.mit.edu/kerberos/krb5-latest/doc/formats/ccache_file_format.html
 */
export interface Ccache {
  /** `name@REALM` of the cache's default principal. */
  readonly principal: string;
  /** Each credential's server principal and end time (epoch seconds); configuration entries excluded. */
  readonly tickets: readonly { readonly server: string; readonly end: number }[];
}

/** Parses a cache; throws on anything that is not a complete version 3 or 4 file cache. */
export function parseCcache(bytes: Buffer): Ccache {
  let offset = 0;
  const need = (length: number): void => {
    if (offset + length > bytes.length) throw new Error(`truncated ccache at byte ${offset}`);
  };
  const u8 = (): number => (need(1), bytes.readUInt8(offset++));
  const u16 = (): number => {
    need(2);
    offset += 2;
    return bytes.readUInt16BE(offset - 2);
  };
  const u32 = (): number => {
    need(4);
    offset += 4;
    return bytes.readUInt32BE(offset - 4);
  };
  const data = (): Buffer => {
    const length = u32();
    need(length);
    offset += length;
    return bytes.subarray(offset - length, offset);
  };
  const principal = (): string => {
    u32(); // name type
    const count = u32();
    const realm = data().toString('utf8');
    const components = Array.from({ length: count }, () => data().toString('utf8'));
    return `${components.join('/')}@${realm}`;
  };

  if (u8() !== 5) throw new Error('not a file ccache (first byte is not 5)');
  const version = u8();
  if (version !== 3 && version !== 4) throw new Error(`unsupported ccache version ${version}`);
  if (version === 4) {
    const headerLength = u16();
    need(headerLength);
    offset += headerLength;
  }
  const defaultPrincipal = principal();
  const tickets: { server: string; end: number }[] = [];
  while (offset < bytes.length) {
    principal(); // client
    const server = principal();
    u16(); // key enctype
    data(); // key
    u32(); // authtime
    u32(); // starttime
    const end = u32();
    u32(); // renew till
    u8(); // is_skey
    u32(); // flags
    for (let n = u32(); n > 0; n--) {
      u16();
      data();
    }
    for (let n = u32(); n > 0; n--) {
      u16();
      data();
    }
    data(); // ticket
    data(); // second ticket
    if (!server.endsWith('@X-CACHECONF:')) tickets.push({ server, end });
  }
  return { principal: defaultPrincipal, tickets };
}

/** End time (epoch seconds) of the cache's ticket-granting ticket. */
export function tgtEnd(cache: Ccache): number {
  const tgt = cache.tickets.find((ticket) => ticket.server.startsWith('krbtgt/'));
  if (!tgt) throw new Error(`no ticket-granting ticket for ${cache.principal}`);
  return tgt.end;
}
