/** The SIP engine the config selects (`sip.engine`): embedded (default) or drachtio. */
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/config-schema.js';
import type { SipProfile } from '../profiles/schema.js';
import { createDrachtioEngine } from '../sip/drachtio/drachtio-engine.js';
import { createEmbeddedEngine } from '../sip/embedded/embedded-engine.js';
import type { SipEngine } from '../sip/port.js';
import { effectiveTrustedPeers } from '../sip/trusted-peers.js';

export function buildEngine(config: AgentConfig, profile: SipProfile, logger: Logger): SipEngine {
  if (config.sip.engine === 'drachtio') {
    const d = config.sip.drachtio;
    return createDrachtioEngine({
      host: d.host,
      port: d.port,
      secret: d.secret,
      mode: d.mode,
      reconnect: d.reconnect,
      pingIntervalMs: d.pingIntervalMs,
      outboundProxy: profile.outboundProxy,
      t1Ms: config.sip.timers.t1Ms,
      logger,
    });
  }
  const trustedPeers = effectiveTrustedPeers(config.sip.trustedPeers, profile.outboundProxy?.host);
  if (!trustedPeers) logger.warn('sip.trustedPeers unset and no outbound proxy IP: SIP accepted from any address');
  return createEmbeddedEngine({
    listen: config.sip.listen,
    outboundProxy: profile.outboundProxy,
    timers: config.sip.timers,
    limits: config.sip.limits,
    logger,
    trustedPeers,
  });
}
