import Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import { backoffDelay, type BackoffPolicy } from '../../lib/backoff.js';

export type DrachtioMode = 'inbound' | 'outbound';

export interface DrachtioConnectionOptions {
  host: string;
  port: number;
  secret: string;
  /** `inbound`: the agent dials drachtio-server's control port; `outbound`: the server dials the agent. */
  mode: DrachtioMode;
  reconnect: BackoffPolicy;
  /** Application-level ping period (srf allows 5000–300000 ms). Two unanswered pings = connection dead. */
  pingIntervalMs: number;
  logger: Logger;
  /** A fresh, authenticated Srf is ready (first connect and every reconnect). */
  onUp(srf: Srf, hostport: string | undefined): void;
  /** The Srf given to `onUp` is gone; everything bound to it (dialogs, pending requests) is lost. */
  onDown(reason: string): void;
}

/** Unanswered pings after which a connection counts as silently dead (drachtio-server#441). */
const MAX_MISSED_PINGS = 2;

/**
 * One supervised connection to drachtio-server (inbound mode: the agent dials the server's control port; docs/interop.md).
 *
 * Inbound mode builds a new `Srf` per attempt with srf's own reconnect switched off, so the backoff is
 * ours and every reconnect starts from a clean dialog table (dialogs belong to the connection,
 * drachtio-server#75). srf pings (≥ v0.8.2) plus a watchdog on unanswered pings catch silent disconnects;
 * the watchdog destroys the socket, which runs the normal reconnect path.
 */
export class DrachtioConnection {
  private srf?: Srf;
  private up = false;
  private stopped = true;
  private attempt = 0;
  private retryTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private firstUp?: () => void;

  constructor(private readonly options: DrachtioConnectionOptions) {}

  get connected(): boolean {
    return this.up;
  }

  /** The live Srf, or undefined while (re)connecting. */
  get current(): Srf | undefined {
    return this.up ? this.srf : undefined;
  }

  /** Starts connecting; resolves on the first successful connection or after `waitMs` (still retrying). */
  start(waitMs: number): Promise<void> {
    this.stopped = false;
    const first = new Promise<void>((resolve) => {
      this.firstUp = resolve;
      setTimeout(resolve, waitMs).unref();
    });
    this.open();
    return first;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdog);
    const srf = this.srf;
    this.srf = undefined;
    if (this.up) {
      this.up = false;
      this.options.onDown('engine stopped');
    }
    if (srf) this.close(srf);
  }

  private open(): void {
    const { host, port, secret, mode, logger } = this.options;
    const srf = new Srf();
    this.srf = srf;
    srf.on('error', (err) => logger.debug({ err: err.message }, 'drachtio connection error'));
    if (mode === 'outbound') {
      // The server dials us per request-handler lookup; we are "up" once listening (srf.listen).
      srf.on('connect', (err, hostport) => logger.debug({ err: err?.message, hostport }, 'drachtio-server connected to the agent'));
      srf.on('listening', () => this.becameUp(srf, undefined, undefined));
      srf.listen({ host, port, secret });
      return;
    }
    srf.on('connect', (err, hostport, serverVersion) => {
      if (srf !== this.srf || this.stopped) return;
      if (err) {
        logger.error({ err: err.message }, 'drachtio-server refused the connection (check sip.drachtio.secret)');
        this.lost(srf, 'authentication failed');
        return;
      }
      this.becameUp(srf, hostport, serverVersion);
    });
    srf.on('close', () => {
      if (srf === this.srf) this.lost(srf, 'connection closed');
    });
    srf.connect({ host, port, secret, enablePing: true, pingInterval: this.options.pingIntervalMs, reconnect: { maxAttempts: 1 } });
  }

  private becameUp(srf: Srf, hostport: string | undefined, serverVersion: string | undefined): void {
    this.attempt = 0;
    this.up = true;
    this.options.logger.info({ hostport, serverVersion, mode: this.options.mode }, 'connected to drachtio-server');
    this.startWatchdog(srf);
    this.options.onUp(srf, hostport);
    this.firstUp?.();
    this.firstUp = undefined;
  }

  private lost(srf: Srf, reason: string): void {
    if (srf !== this.srf) return;
    clearInterval(this.watchdog);
    const wasUp = this.up;
    this.up = false;
    this.srf = undefined;
    this.close(srf);
    if (wasUp) this.options.onDown(reason);
    if (this.stopped) return;
    const delay = backoffDelay(this.options.reconnect, this.attempt + 1);
    this.attempt += 1;
    this.options.logger.warn({ reason, retryInMs: delay, attempt: this.attempt }, 'drachtio connection lost; reconnecting');
    this.retryTimer = setTimeout(() => {
      if (!this.stopped) this.open();
    }, delay);
  }

  /** Destroys the socket when MAX_MISSED_PINGS pings went unanswered (srf itself never checks). */
  private startWatchdog(srf: Srf): void {
    clearInterval(this.watchdog);
    if (this.options.mode !== 'inbound') return;
    this.watchdog = setInterval(() => {
      const servers = srf.app.mapServer;
      if (!servers) return;
      for (const [socket, state] of servers) {
        if (state.pendingPingRequests.size >= MAX_MISSED_PINGS) {
          this.options.logger.warn({ missed: state.pendingPingRequests.size }, 'drachtio-server stopped answering pings');
          socket.destroy();
        }
      }
    }, this.options.pingIntervalMs);
    this.watchdog.unref();
  }

  private close(srf: Srf): void {
    try {
      if (this.options.mode === 'outbound') srf.app.close?.();
      else srf.disconnect();
    } catch {
      // no socket (never connected, or already gone)
    }
    srf.removeAllListeners('connect');
    srf.removeAllListeners('close');
  }
}
