/**
 * What the cluster tests and the cluster benchmark drive and read: PAP pushes posted to chosen agents
 * (answer code or "no answer"), bounded load loops over the live agents, MESSAGE counts per push at the
 * handsets, Prometheus counters of one agent, and Kamailio's NOTIFY count for one user (its presence
 * server sends one NOTIFY per active SUBSCRIBE dialog of that user on each PUBLISH).
 */
import { Redis } from 'ioredis';
import { papPush, userAddress } from './agent-under-test.js';
import type { Cluster, ClusterAgent } from './cluster.js';
import type { KamailioHandle } from './kamailio.js';
import type { SippHandle } from './sipp.js';

export const TERMINAL = new Set(['delivered', 'handed-back', 'expired', 'cancelled']);

/** The PAP code of a push-response (first `code="…"`), or undefined. */
export function papCode(xml: string): number | undefined {
  const match = /code="(\d+)"/.exec(xml);
  return match ? Number(match[1]) : undefined;
}

export interface PushAnswer {
  /** PAP code, or undefined when the agent did not answer (dead, or the 3 s bound passed). */
  code: number | undefined;
  status?: number;
}

/** POST one PAP push for `user` to `agent`; the content names the push-id so the handset's copy can be attributed. */
export async function pushTo(
  agent: ClusterAgent,
  core: { host: string },
  pushId: string,
  user: string,
  extra: { deliverAfter?: string } = {},
): Promise<PushAnswer> {
  const request = papPush({
    pushId,
    address: userAddress(`sip:${user}@${core.host}`),
    content: Buffer.from(`cluster ${pushId}`),
    ...extra,
  });
  try {
    const res = await fetch(agent.papUrl, {
      method: 'POST',
      headers: { 'content-type': request.contentType },
      body: request.body,
      signal: AbortSignal.timeout(3000),
    });
    return { code: papCode(await res.text()), status: res.status };
  } catch {
    return { code: undefined };
  }
}

/** push-id → how many MESSAGE requests carrying it each handset received (TCP contacts: no retransmissions). */
export function messagesPerPush(...uass: SippHandle[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const uas of uass) {
    for (const m of uas.messages()) {
      if (m.direction !== 'received' || m.method !== 'MESSAGE') continue;
      const id = /^cluster (\S+)/.exec(m.body)?.[1];
      if (id) out.set(id, (out.get(id) ?? 0) + 1);
    }
  }
  return out;
}

/** One counter or gauge of an agent's /metrics (summed over labels), or undefined when it does not answer. */
export async function metric(agent: ClusterAgent, name: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${agent.baseUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
    let sum = 0;
    for (const line of (await res.text()).split('\n')) {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`).exec(line);
      if (m) sum += Number(m[1]);
    }
    return sum;
  } catch {
    return undefined;
  }
}

/** A Redis client on the cluster's Redis (the test's own view of leases and the table). */
export function redisView(cluster: Cluster): Redis {
  return new Redis(cluster.redis.url, { maxRetriesPerRequest: 1, lazyConnect: false, enableOfflineQueue: false });
}

/** Who holds each watched user's lease (`spa:watch:<aor>`), by AOR. */
export async function watchHolders(redis: Redis, aors: readonly string[]): Promise<Map<string, string | null>> {
  const values = aors.length > 0 ? await redis.mget(...aors.map((a) => `spa:watch:${a}`)) : [];
  return new Map(aors.map((a, i) => [a, values[i] ?? null]));
}

/** UAC transactions Kamailio started (its NOTIFYs here: nothing else in the lab config sends requests of its own, bar pua on REGISTER). */
export async function uacTransactions(k: KamailioHandle): Promise<number> {
  return (await k.stats())['tmx:UAC_transactions'] ?? 0;
}
