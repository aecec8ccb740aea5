import { describe, expect, it } from 'vitest';
import { AgentError, ErrorCodes } from '../../src/errors.js';
import { TrustedPeers } from '../../src/sip/trusted-peers.js';

describe('TrustedPeers (config sip.trustedPeers)', () => {
  it('matches single addresses and CIDR blocks, IPv4 and IPv6, and v4-mapped v6 sources', () => {
    const peers = new TrustedPeers(['127.0.0.1', '10.1.0.0/16', '2001:db8::/32', '[::1]']);
    expect(peers.allows('127.0.0.1')).toBe(true);
    expect(peers.allows('127.0.0.2')).toBe(false);
    expect(peers.allows('10.1.255.7')).toBe(true);
    expect(peers.allows('10.2.0.1')).toBe(false);
    expect(peers.allows('2001:db8:1::5')).toBe(true);
    expect(peers.allows('::1')).toBe(true);
    expect(peers.allows('::ffff:10.1.2.3')).toBe(true);
    expect(peers.allows('core.example.com')).toBe(false);
  });

  it('an empty list trusts nobody', () => {
    expect(new TrustedPeers([]).allows('127.0.0.1')).toBe(false);
  });

  it.each(['core.example.com', '10.0.0.0/33', '10.0.0.0/x', '::1/129', ''])('refuses %j with CONFIG_INVALID naming the field', (entry) => {
    try {
      new TrustedPeers([entry]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AgentError);
      expect((err as AgentError).code).toBe(ErrorCodes.CONFIG_INVALID);
      expect((err as AgentError).field).toBe('sip.trustedPeers');
    }
  });
});
