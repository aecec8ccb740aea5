/**
 * Which source addresses may talk SIP to the agent (config `sip.trustedPeers`). The agent sits inside a
 * SIP core: everything it should ever receive — NOTIFYs, responses to its MESSAGEs and SUBSCRIBEs —
 * comes through the core's proxies, so anything else is refused (requests → 403, RFC 3261 §21.4.4) or
 * dropped (responses). An address-based check is the usual trust model between the elements of an IMS
 * trust domain (RFC 3325 §2.3, "Spec(T)"); it is not a substitute for TLS/IPsec on untrusted links.
 */
import net from 'node:net';
import { AgentError, ErrorCodes } from '../errors.js';

/** A set of CIDR blocks (`10.0.0.0/8`, `::1/128`) and single addresses (`127.0.0.1`). */
export class TrustedPeers {
  private readonly list = new net.BlockList();
  readonly entries: readonly string[];

  /** @throws AgentError `CONFIG_INVALID` (field `sip.trustedPeers`) for an entry that is not an IP or CIDR. */
  constructor(entries: readonly string[]) {
    this.entries = [...entries];
    for (const entry of entries) {
      const [address = '', bits] = entry.trim().split('/');
      const bare = address.replace(/^\[|\]$/g, '');
      const family = net.isIP(bare);
      const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
      const max = family === 6 ? 128 : 32;
      if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
        throw new AgentError(
          ErrorCodes.CONFIG_INVALID,
          `sip.trustedPeers: "${entry}" is not an IP address or CIDR block`,
          'sip.trustedPeers',
        );
      }
      this.list.addSubnet(bare, prefix, family === 6 ? 'ipv6' : 'ipv4');
    }
  }

  /** True when `host` (an IP literal as seen on the socket) is inside one of the entries. */
  allows(host: string): boolean {
    const bare = host.replace(/^\[|\]$/g, '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    const family = net.isIP(bare);
    if (family === 0) return false;
    return this.list.check(bare, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/**
 * `sip.trustedPeers` as configured, else the outbound proxy's address when it is an IP literal. A proxy
 * given by name (or none) leaves the check off: the agent logs that at start (see agent.ts).
 */
export function effectiveTrustedPeers(
  configured: readonly string[] | undefined,
  outboundProxyHost: string | undefined,
): string[] | undefined {
  if (configured) return [...configured];
  const bare = outboundProxyHost?.replace(/^\[|\]$/g, '');
  return bare && net.isIP(bare) ? [bare] : undefined;
}
