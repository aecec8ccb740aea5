/**
 * The presence watcher: keeps `Event: presence` subscriptions (RFC 6665, RFC 3856) for the users the
 * agent pushes to, and writes what their NOTIFYs say into the capability layer through its
 * {@link EvidenceSink} port. It knows SIP only through the `SipEngine` port.
 *
 * - `prepare(aor)` ({@link WatchTrigger}) is how the capability layer asks for first evidence when a push
 *   needs a verdict (capabilities/capability-oracle.ts). Known and fresh → no wait. Otherwise ONE SUBSCRIBE
 *   is started (concurrent callers share it; an existing subscription is refreshed instead, which makes the
 *   notifier send a NOTIFY, RFC 6665 §4.2.1.2), and the caller waits at most `presence.firstNotifyWaitMs`
 *   for a NOTIFY. A user in resubscribe backoff, or stopped after a refusal, is not subscribed again on
 *   demand (no SUBSCRIBE storms against a failing server): the table answers.
 * - Subscriptions that end are resumed or stopped per `resubscribe-policy.ts`, with jittered exponential
 *   backoff honouring `retry-after`.
 * - `forget(aor)`: the capability entry left the table (LRU capacity, expiry, delete; wired by the oracle)
 *   → the user is unsubscribed (`Expires: 0`), so subscriptions are bounded by the table's `maxUsers`.
 * - SUBSCRIBE transactions are bounded by `maxConcurrentSubscribes`; on-demand ones go first.
 *
 * One watcher serves one {@link WatchSource}: presence by default, or the registration state (`Event: reg`,
 * src/registration/reg-source.ts); `source-watchers.ts` groups them for start-up, the admin API and stop.
 */
import type { EvictionReason } from '../capabilities/capability-store.js';
import type { EvidenceSink, WatchTrigger } from '../capabilities/evidence-ports.js';
import { AgentError } from '../errors.js';
import type { Logger } from '../lib/logger.js';
import type { SipProfile } from '../profiles/schema.js';
import {
  SipRequestError,
  SipStatusError,
  type NotifyEvent,
  type SipEngine,
  type SubscriptionDelegate,
  type SubscriptionEnded,
} from '../sip/port.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from '../lib/backoff.js';
import { ConcurrencyLimiter, type TaskPriority } from '../lib/concurrency-limiter.js';
import { stepAfterEnd, stepAfterSubscribeError, type NextStep } from './resubscribe-policy.js';
import type { WatchSource } from '../watch/watch-source.js';
import { presenceSource } from './presence-source.js';
import { readWatchList } from './watch-list.js';
import { WATCH_PHASES, WatchedUser, type WatchPhase } from './watched-user.js';

export interface PresenceWatcherOptions {
  engine: SipEngine;
  /** The capability table, through the port watchers write evidence into. */
  table: EvidenceSink;
  profile: SipProfile;
  logger: Logger;
  /** SUBSCRIBE transactions in flight at once (default 50). */
  maxConcurrentSubscribes?: number;
  backoff?: BackoffPolicy;
  /** [0, 1) source for backoff jitter (tests pin it). */
  random?: () => number;
  /** What is watched; default the presence source of `profile`. */
  source?: WatchSource;
}

export interface PresenceWatcherStats {
  subscriptions: Record<WatchPhase, number>;
  notifiesReceived: number;
  parseErrors: number;
  subscribeAttempts: number;
  subscribeFailures: number;
  resubscribesScheduled: number;
  unsubscribes: number;
  queuedSubscribes: number;
  inFlightSubscribes: number;
}

/** A subscription that lived this long resets the backoff (a flapping one does not). */
const STABLE_SUBSCRIPTION_MS = 60_000;

export class PresenceWatcher implements WatchTrigger {
  private readonly users = new Map<string, WatchedUser>();
  private readonly limiter: ConcurrencyLimiter;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly log: Logger;
  private stopping = false;
  readonly source: WatchSource;
  private readonly counters = {
    notifiesReceived: 0,
    parseErrors: 0,
    subscribeAttempts: 0,
    subscribeFailures: 0,
    resubscribesScheduled: 0,
    unsubscribes: 0,
  };

  constructor(private readonly options: PresenceWatcherOptions) {
    this.limiter = new ConcurrencyLimiter(options.maxConcurrentSubscribes ?? 50);
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
    this.source = options.source ?? presenceSource(options.profile);
    this.log = options.logger.child({ component: this.source.name === 'presence' ? 'presence-watcher' : `${this.source.name}-watcher` });
  }

  /**
   * Before a decision: subscribes or refreshes when the table lacks this source's state and waits for a
   * NOTIFY. Resolves true (a NOTIFY came), false (none in time) or undefined (no wait:
   * fresh, disabled, stopping, or in backoff).
   */
  async prepare(aor: string): Promise<boolean | undefined> {
    const { table } = this.options;
    const source = this.source;
    if (!source.enabled || this.stopping || source.isFresh(table, aor)) return undefined;
    let user = this.users.get(aor);
    if (user?.phase === 'backoff' || (user?.phase === 'stopped' && (user.stoppedUntil ?? Infinity) > Date.now())) {
      return undefined;
    }
    user ??= this.track(aor);
    const wait = user.waitForNotify(source.firstNotifyWaitMs);
    if (user.phase === 'active' && user.subscription) {
      this.refreshForDecision(user, source.firstNotifyWaitMs);
    } else if (user.phase === 'stopped') {
      void this.start(user, 'high');
    } else if (user.generation === 0) {
      void this.start(user, 'high');
    } // queued / subscribing: share the attempt in flight
    return wait;
  }

  /** Subscribes to every AOR not yet watched (bounded concurrency); resolves when each SUBSCRIBE settled. */
  async watch(aors: string[]): Promise<void> {
    const started = aors.filter((aor) => !this.users.has(aor)).map((aor) => this.start(this.track(aor), 'low'));
    await Promise.allSettled(started);
  }

  /**
   * Reads a watch-list file (one AOR per line, `#` comments), for `watch(loadWatchList(path))`.
   * @throws AgentError `CONFIG_INVALID` naming the file or the bad line
   */
  loadWatchList(path: string): string[] {
    return readWatchList(path);
  }

  /** Forces a presence refresh (admin API): refreshes a live subscription, else subscribes now. */
  async refresh(aor: string): Promise<void> {
    if (this.stopping) return;
    const user = this.users.get(aor) ?? this.track(aor);
    if (user.phase === 'active' && user.subscription) {
      await user.subscription.refresh();
      return;
    }
    // A user never subscribed (generation 0) starts now; one with an attempt queued or in flight shares it.
    if ((user.phase === 'queued' && user.generation > 0) || user.phase === 'subscribing') return;
    await this.start(user, 'high');
  }

  /** Unsubscribes everyone (Expires: 0), waiting at most `timeoutMs`; returns how many did not finish. */
  async stop(timeoutMs: number): Promise<{ unsubscribed: number; abandoned: number }> {
    this.stopping = true;
    this.limiter.clear();
    const subscriptions = [];
    for (const user of this.users.values()) {
      user.clearRetry();
      user.wake(false);
      user.phase = 'stopped';
      if (user.subscription) subscriptions.push(user.subscription);
      user.subscription = undefined;
    }
    const pool = new ConcurrencyLimiter(this.options.maxConcurrentSubscribes ?? 50);
    let unsubscribed = 0;
    const all = Promise.allSettled(subscriptions.map((s) => pool.run(() => s.unsubscribe()).then(() => unsubscribed++)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    pool.clear();
    this.counters.unsubscribes += unsubscribed;
    return { unsubscribed, abandoned: subscriptions.length - unsubscribed };
  }

  /** Is `aor` watched here (a subscription queued, being set up, active, or waiting to be retried)? */
  isWatching(aor: string): boolean {
    const phase = this.users.get(aor)?.phase;
    return phase !== undefined && phase !== 'stopped';
  }

  stats(): PresenceWatcherStats {
    const subscriptions = Object.fromEntries(WATCH_PHASES.map((p) => [p, 0])) as Record<WatchPhase, number>;
    for (const user of this.users.values()) subscriptions[user.phase]++;
    return { subscriptions, ...this.counters, queuedSubscribes: this.limiter.queued, inFlightSubscribes: this.limiter.active };
  }

  private track(aor: string): WatchedUser {
    const user = new WatchedUser(aor);
    this.users.set(aor, user);
    return user;
  }

  /**
   * The entry went stale under a live subscription: re-SUBSCRIBE so the notifier sends the current state
   * (RFC 6665 §4.2.1.2). Skipped while a refresh is in flight, or when the dialog is so new that its first
   * NOTIFY may still be on the way.
   */
  private refreshForDecision(user: WatchedUser, waitMs: number): void {
    if (user.lastNotifyAt === undefined && Date.now() - (user.activeSince ?? 0) < waitMs) return;
    this.refreshNow(user);
  }

  /** One refresh SUBSCRIBE for `user`'s live subscription (shared while one is in flight). */
  private refreshNow(user: WatchedUser): void {
    const subscription = user.subscription;
    if (!subscription || user.refreshing) return;
    user.refreshing = true;
    subscription
      .refresh()
      .catch((err: unknown) => this.log.debug({ err, aor: user.aor }, 'subscription refresh failed'))
      .finally(() => (user.refreshing = false));
  }

  /** Queues one SUBSCRIBE attempt for `user`; resolves when it settled (or was dropped). */
  private async start(user: WatchedUser, priority: TaskPriority): Promise<void> {
    user.clearRetry();
    user.phase = 'queued';
    user.stoppedUntil = undefined;
    const generation = ++user.generation;
    this.options.table.touch(user.aor);
    await this.limiter.run(() => this.subscribe(user, generation), priority);
  }

  private current(user: WatchedUser, generation: number): boolean {
    return !this.stopping && !user.forgotten && user.generation === generation;
  }

  private async subscribe(user: WatchedUser, generation: number): Promise<void> {
    if (!this.current(user, generation)) return;
    const { engine, profile } = this.options;
    const source = this.source;
    user.phase = 'subscribing';
    source.dialogStarted(user.aor);
    this.counters.subscribeAttempts++;
    const delegate: SubscriptionDelegate = {
      onNotify: (event) => this.onNotify(user, generation, event),
      onEnded: (ended) => this.onEnded(user, generation, stepAfterEnd(ended), ended),
      onRefreshed: () => {
        if (this.current(user, generation)) user.attempts = 0;
      },
    };
    try {
      const subscription = await engine.subscribe(
        { resource: user.aor, from: profile.identity.uri, event: source.event, accept: source.accept, expires: source.expiresSeconds },
        delegate,
      );
      if (!this.current(user, generation) || user.endedGeneration === generation) {
        if (user.endedGeneration !== generation) void this.unsubscribe(subscription.unsubscribe());
        return;
      }
      user.subscription = subscription;
      user.phase = 'active';
      user.activeSince = Date.now();
    } catch (err) {
      this.counters.subscribeFailures++;
      this.logSubscribeFailure(user.aor, err);
      this.onEnded(user, generation, stepAfterSubscribeError(err));
    }
  }

  /**
   * An expected failure is one line without a stack: a timeout or transport error at warn (the core or
   * the network is in trouble), a final non-2xx at info (the core's answer for this user). Anything
   * else is a defect and keeps its stack.
   */
  private logSubscribeFailure(aor: string, err: unknown): void {
    const what = `${this.source.event} SUBSCRIBE`;
    if (err instanceof SipRequestError)
      this.log.warn(
        { aor, failure: err.kind, reason: err.message },
        `${what} ${err.kind === 'timeout' ? 'timed out' : 'failed'}: ${err.message}`,
      );
    else if (err instanceof SipStatusError)
      this.log.info({ aor, status: err.status, reason: err.reason }, `${what} refused: ${err.status} ${err.reason}`);
    else this.log.error({ err, aor }, `${what} failed`);
  }

  private onNotify(user: WatchedUser, generation: number, event: NotifyEvent): void {
    this.counters.notifiesReceived++;
    if (!this.current(user, generation)) return;
    user.lastNotifyAt = Date.now();
    try {
      if (this.source.applyNotify(this.options.table, user.aor, event) === 'refresh') {
        // RFC 3680 §5.2: notifications were lost; a refresh makes the notifier send the full state.
        this.log.info({ aor: user.aor }, 'reg NOTIFY version gap: refreshing for the full state');
        this.refreshNow(user);
        return; // waiting pushes keep waiting for the full state (or their own timeout)
      }
    } catch (err) {
      if (!(err instanceof AgentError)) throw err;
      this.counters.parseErrors++;
      this.log.warn({ aor: user.aor, code: err.code, msg: err.message }, `unparseable ${this.source.name} NOTIFY`);
      this.options.table.recordParseError(user.aor, err);
    }
    user.wake(true);
  }

  private onEnded(user: WatchedUser, generation: number, step: NextStep, ended?: SubscriptionEnded): void {
    if (!this.current(user, generation) || user.endedGeneration === generation) return;
    user.endedGeneration = generation;
    user.subscription = undefined;
    const now = Date.now();
    if (user.activeSince !== undefined && now - user.activeSince >= STABLE_SUBSCRIPTION_MS) user.attempts = 0;
    user.activeSince = undefined;
    user.lastNotifyAt = undefined;
    user.wake(false);
    this.log.debug({ aor: user.aor, ended, step, event: this.source.event }, 'subscription ended');
    if (step.action === 'stop') {
      user.phase = 'stopped';
      if (step.refusal) {
        this.source.recordRefusal(this.options.table, user.aor, step.refusal);
        user.stoppedUntil = now + this.options.profile.capabilities.ttlSeconds * 1000;
      }
      return;
    }
    const attempt = user.attempts++;
    const delay =
      step.immediateFirst && attempt === 0 ? 0 : backoffDelay(this.backoff, attempt + 1, this.random, (step.retryAfter ?? 0) * 1000);
    user.phase = 'backoff';
    this.counters.resubscribesScheduled++;
    user.retryTimer = setTimeout(() => void this.start(user, 'low'), delay);
    user.retryTimer.unref?.();
  }

  /** The user's capability entry left (capacity/expired/deleted): stop watching and unsubscribe. */
  forget(aor: string, reason: EvictionReason = 'deleted'): void {
    void this.end(aor, reason);
  }

  /**
   * Cluster mode: another agent watches these users from now on. Stops watching each at once and resolves
   * when their unsubscribes (Expires: 0) have been answered or timed out, so the lease is given back only
   * after this agent's dialog is gone.
   */
  async unwatch(aors: readonly string[]): Promise<void> {
    await Promise.allSettled(aors.map((aor) => this.end(aor, 'deleted')));
  }

  /** Stops watching `aor`; resolves when its dialog (if any) is unsubscribed. */
  private async end(aor: string, reason: EvictionReason): Promise<void> {
    const user = this.users.get(aor);
    if (!user) return;
    this.users.delete(aor);
    this.source.forget(aor);
    user.forgotten = true;
    user.clearRetry();
    user.wake(false);
    this.log.debug({ aor, reason, event: this.source.event }, 'watch dropped with the table entry');
    const subscription = user.subscription;
    user.subscription = undefined;
    user.phase = 'stopped';
    if (subscription) await this.limiter.run(() => this.unsubscribe(subscription.unsubscribe()), 'low');
  }

  private async unsubscribe(done: Promise<void>): Promise<void> {
    try {
      await done;
      this.counters.unsubscribes++;
    } catch (err) {
      this.log.debug({ err }, 'unsubscribe failed');
    }
  }
}
