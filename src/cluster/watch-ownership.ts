/**
 * Keeps this agent's share of the cluster's watched users: every tick it heartbeats, reads the live
 * members and the wanted users, renews the leases it holds, gives back (after unsubscribing) the users
 * rendezvous hashing now assigns elsewhere, and takes the free leases of the users assigned to it.
 * Moves per tick are bounded both ways, so a member that returns, or one that dies holding 30k users,
 * causes a bounded SUBSCRIBE rate, not a storm.
 *
 * Failover bound: an agent that dies stops renewing; its heartbeat and its leases lapse within `leaseMs`,
 * and the survivors take its users on their next ticks — `leaseMs + tickMs · ⌈users / maxMovesPerTick⌉`.
 */
import type { Logger } from 'pino';
import { silentLogger } from '../lib/logger.js';
import { ownerOf } from './rendezvous.js';
import type { WatchLeases } from './watch-leases.js';

export interface WatchOwnershipOptions {
  leases: WatchLeases;
  /** Period of the loop; keep it well under the lease time (a third or less). */
  tickMs: number;
  /** Bound on lease acquisitions and on releases per tick. */
  maxMovesPerTick: number;
  /** Leases just taken: start watching these users. */
  onAcquired(aors: string[]): void;
  /** Users assigned elsewhere now: stop watching them; the leases are released when this resolves. */
  onReleasing(aors: string[]): Promise<void>;
  /** Leases lost underneath (this agent was paused past its lease and another took them): drop at once. */
  onLost(aors: string[]): void;
  logger?: Logger;
}

export interface OwnershipSnapshot {
  members: string[];
  held: number;
  lastTickAt: number | undefined;
}

export class WatchOwnership {
  private readonly held = new Set<string>();
  /** Claims in flight (one Redis round trip per user however many pushes ask at once). */
  private readonly claiming = new Map<string, Promise<boolean>>();
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastMembers: string[] = [];
  private lastTickAt: number | undefined;

  constructor(private readonly options: WatchOwnershipOptions) {
    this.log = (options.logger ?? silentLogger()).child({ component: 'watch-ownership' });
  }

  /** Users whose lease this agent holds (and so whose dialog it keeps). */
  holds(aor: string): boolean {
    return this.held.has(aor);
  }

  /**
   * A push needs this user's evidence now: when rendezvous hashing over the members seen at the last
   * round names this agent and the lease is free, take it at once (the caller subscribes) instead of
   * waiting for the next round. False when another agent owns or holds the user, before the first round,
   * or when Redis does not answer (the caller then waits for the owner's evidence in the shared table).
   */
  async claim(aor: string): Promise<boolean> {
    if (this.held.has(aor)) return true;
    if (this.timer === undefined || ownerOf(aor, this.lastMembers) !== this.options.leases.instanceId) return false;
    let pending = this.claiming.get(aor);
    if (!pending) {
      pending = this.options.leases
        .acquire([aor])
        .then((got) => {
          // Only while still running: a claim that lands after stop() must not leave a lease held.
          if (got.length > 0 && this.timer !== undefined) this.held.add(aor);
          return this.held.has(aor);
        })
        .catch((err: unknown) => {
          this.log.debug({ err, aor }, 'claiming a watch lease failed');
          return false;
        })
        .finally(() => this.claiming.delete(aor));
      this.claiming.set(aor, pending);
    }
    return pending;
  }

  snapshot(): OwnershipSnapshot {
    return { members: [...this.lastMembers], held: this.held.size, lastTickAt: this.lastTickAt };
  }

  start(): void {
    if (this.timer) return;
    const loop = () => {
      this.running = this.tick()
        .catch((err) => this.log.warn({ err }, 'watch ownership tick failed; retrying next tick'))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, this.options.tickMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  /** Stop the loop; with `leave`, unsubscribe everything, give the leases back and leave the member list. */
  async stop(leave: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    if (!leave) return;
    const all = [...this.held];
    await this.options.leases.leave();
    if (all.length > 0) {
      await this.options.onReleasing(all);
      await this.options.leases.release(all);
    }
    this.held.clear();
  }

  /** One round; exposed for tests and for a prompt round after a membership change. */
  async tick(): Promise<void> {
    const { leases, maxMovesPerTick } = this.options;
    await leases.heartbeat();
    const members = await leases.members();
    this.lastMembers = members;
    const wanted = await leases.wanted();
    const me = leases.instanceId;

    const lost = await leases.renew([...this.held]);
    if (lost.length > 0) {
      for (const aor of lost) this.held.delete(aor);
      this.log.warn({ lost: lost.length }, 'watch leases lost to another agent; dropping those dialogs');
      this.options.onLost(lost);
    }

    const mine = new Set(wanted.filter((aor) => ownerOf(aor, members) === me));
    const giveBack = [...this.held].filter((aor) => !mine.has(aor)).slice(0, maxMovesPerTick);
    if (giveBack.length > 0) {
      await this.options.onReleasing(giveBack);
      await leases.release(giveBack);
      for (const aor of giveBack) this.held.delete(aor);
    }

    const take = [...mine].filter((aor) => !this.held.has(aor)).slice(0, maxMovesPerTick);
    if (take.length > 0) {
      const got = await leases.acquire(take);
      for (const aor of got) this.held.add(aor);
      if (got.length > 0) this.options.onAcquired(got);
    }
    this.lastTickAt = Date.now();
  }
}
