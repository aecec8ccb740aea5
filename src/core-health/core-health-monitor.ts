/**
 * Knows whether the SIP core (the profile's outbound proxy) is alive: an OPTIONS probe every
 * `intervalMs` (RFC 3261 §11: OPTIONS queries a server's capabilities; a server answering it is
 * reachable and processing requests), judged within `timeoutMs`, fed into core-health-state.ts; plus the
 * SIP engine's own connection state (the drachtio control connection). The push path asks it before
 * accepting a push and when attributing a failure; `/readyz` and `/metrics` read it.
 *
 * A probe answered with any final status except 5xx counts as alive (the core processed it); a timeout,
 * a transport error or a 5xx counts as failed. An answer that comes after the probe was already judged a
 * failure still proves the core alive now and is counted as a success. At most `MAX_PROBES_IN_FLIGHT`
 * probes are outstanding (each is a client transaction until Timer F), so a dead core costs bounded memory.
 */
import type { Logger } from 'pino';
import type { SipHop } from '../profiles/schema.js';
import { SipRequestError, type SipEngine } from '../sip/port.js';
import {
  afterProbe,
  initialCoreHealth,
  type CoreHealthState,
  type CoreHealthThresholds,
  type CoreState,
  type ProbeResult,
} from './core-health-state.js';

export interface CoreHealthSettings extends CoreHealthThresholds {
  /** 0 disables probing: only the engine's connection state counts. */
  intervalMs: number;
  timeoutMs: number;
}

export interface CoreHealthOptions {
  engine: Pick<SipEngine, 'request' | 'connected'>;
  /** The core to probe; undefined → no core between the agent and users, nothing to probe. */
  target: SipHop | undefined;
  /** From URI of the probes (the agent's identity). */
  from: string;
  settings: CoreHealthSettings;
  logger: Logger;
  now?: () => number;
}

/** What the rest of the agent reads. */
export interface CoreHealthView {
  /** `down` when the engine is disconnected or probes failed; `unknown` until the first probe result. */
  readonly state: CoreState;
  /** Increases each time the core goes down or the engine is seen disconnected. */
  readonly downs: number;
  /** `udp:127.0.0.1:5060`, or `none` without an outbound proxy. */
  readonly target: string;
}

export interface CoreHealthStats {
  state: CoreState;
  target: string;
  since: number;
  engineConnected: boolean;
  probesSent: number;
  probesOk: number;
  probesFailed: number;
  lastProbe?: ProbeResult;
}

const MAX_PROBES_IN_FLIGHT = 4;

export class CoreHealthMonitor implements CoreHealthView {
  private current: CoreHealthState;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private engineDowns = 0;
  private engineWasConnected = true;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly listeners = new Set<(state: CoreState) => void>();
  private readonly counters = { probesSent: 0, probesOk: 0, probesFailed: 0 };
  readonly target: string;

  constructor(private readonly options: CoreHealthOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.logger.child({ component: 'core-health' });
    this.current = initialCoreHealth(this.now());
    const t = options.target;
    this.target = t ? `${t.transport}:${t.host}:${t.port}` : 'none';
  }

  get probing(): boolean {
    return this.options.target !== undefined && this.options.settings.intervalMs > 0;
  }

  get state(): CoreState {
    if (!this.engineConnected()) return 'down';
    if (!this.probing) return 'up';
    return this.current.state;
  }

  get downs(): number {
    this.engineConnected();
    return this.current.downs + this.engineDowns;
  }

  /** Called on every state change (after the change). */
  onChange(listener: (state: CoreState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends the first probe now, then one every `intervalMs`. */
  start(): void {
    if (!this.probing || this.timer) return;
    this.probe();
    this.timer = setInterval(() => this.probe(), this.options.settings.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  stats(): CoreHealthStats {
    return {
      state: this.state,
      target: this.target,
      since: this.current.since,
      engineConnected: this.options.engine.connected,
      ...this.counters,
      ...(this.current.lastProbe && { lastProbe: this.current.lastProbe }),
    };
  }

  private engineConnected(): boolean {
    const connected = this.options.engine.connected;
    if (!connected && this.engineWasConnected) this.engineDowns += 1;
    this.engineWasConnected = connected;
    return connected;
  }

  private probe(): void {
    const before = this.state;
    if (this.inFlight >= MAX_PROBES_IN_FLIGHT) {
      this.record({ ok: false, at: this.now(), detail: 'timeout (probes outstanding)' }, before);
      return;
    }
    const target = this.options.target as SipHop;
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    this.inFlight += 1;
    this.counters.probesSent += 1;
    let judged = false;
    const timer = setTimeout(() => {
      judged = true;
      this.record({ ok: false, at: this.now(), detail: 'timeout' }, this.state);
    }, this.options.settings.timeoutMs);
    this.options.engine
      .request({
        method: 'OPTIONS',
        requestUri: `sip:${host}:${target.port}${target.transport === 'tcp' ? ';transport=tcp' : ''}`,
        from: this.options.from,
        headers: { Accept: 'application/sdp' },
      })
      .then(
        (response) => {
          const ok = response.status < 500 || response.status >= 600;
          // A late answer proves the core alive now; a late failure adds nothing to the timeout already counted.
          if (!judged || ok) this.record({ ok, at: this.now(), detail: `${response.status} ${response.reason}` }, this.state);
        },
        (err: unknown) => {
          const detail = err instanceof SipRequestError ? `${err.kind}: ${err.message}` : `error: ${(err as Error).message}`;
          if (!judged) this.record({ ok: false, at: this.now(), detail }, this.state);
        },
      )
      .finally(() => {
        judged = true;
        clearTimeout(timer);
        this.inFlight -= 1;
      });
  }

  private record(probe: ProbeResult, before: CoreState): void {
    if (probe.ok) this.counters.probesOk += 1;
    else this.counters.probesFailed += 1;
    this.current = afterProbe(this.current, probe, this.options.settings);
    const after = this.state;
    if (after === before) return;
    const fields = { core: this.target, state: after, probe: probe.detail };
    if (after === 'down') this.log.warn(fields, 'SIP core down: new pushes are handed back at intake');
    else this.log.info(fields, `SIP core ${after}`);
    for (const listener of this.listeners) listener(after);
  }
}
