/**
 * A cluster on loopback for the cluster tests and the cluster benchmark: a private PostgreSQL (push store,
 * work leases), a private Redis (capability table, "who watches whom"), the project's Kamailio with
 * presence, a PPG stand-in, and N agent PROCESSES — each with its own SIP address (127.0.0.2, .3, …) and
 * port, its own HTTP port and its own `cluster.instanceId`, all on `store.kind: postgres` and
 * `capabilityTable.kind: redis`. Everything is stopped by pid (cleanup.ts); `kill()` is a real SIGKILL.
 */
import pg from 'pg';
import type { AgentConfigInput } from '../../src/config/config-schema.js';
import type { SipProfile } from '../../src/profiles/schema.js';
import { type AgentProcess, type AgentProcessPlan, planAgent, spawnAgent } from './agent-process.js';
import { labProfile, PpgStandIn } from './agent-under-test.js';
import { type KamailioHandle, type KamailioOptions, kamailioMissingReason, startKamailio } from './kamailio.js';
import { type PostgresHandle, postgresMissingReason, startPostgres } from './postgres.js';
import { type RedisHandle, redisMissingReason, startRedis } from './redis.js';
import { sippMissingReason } from './sipp.js';

export interface ClusterOptions {
  /** Agent processes; default 3. */
  agents?: number;
  /** `cluster.leaseMs`: short in tests so a kill's work is taken over quickly; default 3000. */
  leaseMs?: number;
  /** `cluster.tickMs`; default a third of the lease. */
  tickMs?: number;
  /** More agent config, merged over the cluster's (e.g. `policy`, `limits`). */
  config?: AgentConfigInput;
  /** The SIP profile; default the kamailio-lab profile pointed at the cluster's Kamailio. */
  profile?: (kamailio: KamailioHandle) => SipProfile;
  kamailio?: KamailioOptions;
  /** The PPG stand-in the agents hand back and notify to (a benchmark's sink); default a new one. Started here if it is not. */
  ppg?: PpgStandIn;
}

/** One more agent process for {@link Cluster.addAgent}. */
export interface MemberOptions {
  instanceId: string;
  /** Merged over the cluster config (or, with `single`, over a SQLite single-process config). */
  config?: AgentConfigInput;
  /** A SQLite, in-memory-table agent that shares only Kamailio and the PPG (the single-process baseline). */
  single?: boolean;
  /** Its SIP address; default the next of 127.0.0.2, .3, … */
  sipHost?: string;
}

export interface ClusterAgent {
  readonly index: number;
  readonly instanceId: string;
  readonly plan: AgentProcessPlan;
  /** The current process (a new one after {@link ClusterAgent.start}). */
  readonly proc: AgentProcess;
  readonly papUrl: string;
  readonly baseUrl: string;
  /** True from {@link ClusterAgent.kill} until the next start. */
  readonly dead: boolean;
  /** SIGKILL the whole process group (no drain, nothing released); resolves once it exited. */
  kill(): Promise<void>;
  /** Spawn again on the same plan (same instance id, ports, address) and wait for /healthz. */
  start(): Promise<void>;
}

export interface Cluster {
  readonly pg: PostgresHandle;
  readonly redis: RedisHandle;
  readonly kamailio: KamailioHandle;
  readonly ppg: PpgStandIn;
  readonly agents: ClusterAgent[];
  /** A pool on the cluster's database, for reading what the agents stored (a test's own view). */
  readonly db: pg.Pool;
  /** Start one more agent (cluster member or single-process baseline); resolves when it answers /healthz. */
  addAgent(o: MemberOptions): Promise<ClusterAgent>;
  /** push-id → state, read from PostgreSQL. Rejects while PostgreSQL is down. */
  states(): Promise<Map<string, string>>;
  /** push-id → the states it went through, in order, read from PostgreSQL's history table. */
  histories(pushIds: readonly string[]): Promise<Map<string, string[]>>;
  stop(): Promise<void>;
}

/** Why the cluster cannot run here, or undefined when it can. */
export function clusterMissingReason(): string | undefined {
  return postgresMissingReason() ?? redisMissingReason() ?? kamailioMissingReason() ?? sippMissingReason();
}

/** The agent config of cluster mode (the keys docs/cluster.md lists) for one member. */
export function clusterAgentConfig(o: {
  pgUrl: string;
  redisUrl: string;
  instanceId: string;
  leaseMs: number;
  tickMs: number;
  handBackUrl: string;
}): AgentConfigInput {
  return {
    store: { kind: 'postgres', postgres: { url: o.pgUrl, poolSize: 5 } },
    capabilityTable: { kind: 'redis', redis: { url: o.redisUrl, keyPrefix: 'spa:' } },
    cluster: { instanceId: o.instanceId, leaseMs: o.leaseMs, tickMs: o.tickMs, maxMovesPerTick: 200 },
    // numberBearers []: hand-backs keep the PI's address, as the stand-in routes any address.
    ppg: { handBackUrl: o.handBackUrl, backoff: { baseMs: 50, maxMs: 500 }, numberBearers: [] },
    // One line per push outcome would be most of the output of a load; warnings and errors stay.
    log: { level: 'info', pretty: false, outcomes: 'debug' },
  };
}

/** Deep-enough merge of two agent configs: one level of objects (store, cluster, ppg, log, …). */
function mergeConfig(base: AgentConfigInput, over: AgentConfigInput = {}): AgentConfigInput {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && prev && typeof prev === 'object' ? { ...prev, ...value } : value;
  }
  return out as AgentConfigInput;
}

function clusterAgent(index: number, instanceId: string, plan: AgentProcessPlan): ClusterAgent {
  let proc = spawnAgent(plan);
  let dead = false;
  return {
    index,
    instanceId,
    plan,
    get proc() {
      return proc;
    },
    get papUrl() {
      return proc.papUrl;
    },
    get baseUrl() {
      return proc.baseUrl;
    },
    get dead() {
      return dead;
    },
    async kill() {
      dead = true;
      proc.signal('SIGKILL');
      await proc.exited;
    },
    async start() {
      proc = spawnAgent(plan);
      await proc.ready();
      dead = false;
    },
  };
}

/** Start the engines, Kamailio, the PPG stand-in and the agents; resolves when every agent answers /healthz. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const leaseMs = options.leaseMs ?? 3000;
  const tickMs = options.tickMs ?? Math.max(200, Math.floor(leaseMs / 3));
  const [postgres, redis, kamailio] = await Promise.all([startPostgres(), startRedis(), startKamailio(options.kamailio)]);
  const ppg = options.ppg ?? new PpgStandIn();
  if (ppg.port === 0) await ppg.start();
  const profile = options.profile?.(kamailio) ?? labProfile(kamailio);
  const agents: ClusterAgent[] = [];
  const plans = async (o: MemberOptions): Promise<ClusterAgent> => {
    const base = o.single
      ? ({
          ppg: { handBackUrl: ppg.url('/handback'), backoff: { baseMs: 50, maxMs: 500 }, numberBearers: [] },
          log: { level: 'info', pretty: false, outcomes: 'debug' },
        } satisfies AgentConfigInput)
      : clusterAgentConfig({
          pgUrl: postgres.url,
          redisUrl: redis.url,
          instanceId: o.instanceId,
          leaseMs,
          tickMs,
          handBackUrl: ppg.url('/handback'),
        });
    // Each agent its own loopback address (127.0.0.2, .3, …): what Kamailio and the dialogs see differs per member.
    const plan = await planAgent(
      profile,
      mergeConfig(mergeConfig(base, options.config), o.config),
      o.sipHost ?? `127.0.0.${2 + agents.length}`,
    );
    const agent = clusterAgent(agents.length, o.instanceId, plan);
    agents.push(agent);
    return agent;
  };
  for (let i = 0; i < (options.agents ?? 3); i += 1) await plans({ instanceId: `agent-${String.fromCharCode(97 + i)}` });
  await Promise.all(agents.map((a) => a.proc.ready(120_000)));
  const db = new pg.Pool({ connectionString: postgres.url, max: 2, connectionTimeoutMillis: 2000 });
  db.on('error', () => undefined); // an idle client dropped while PostgreSQL is stopped on purpose

  return {
    pg: postgres,
    redis,
    kamailio,
    ppg,
    agents,
    db,
    async addAgent(o) {
      const agent = await plans(o);
      await agent.proc.ready(120_000);
      return agent;
    },
    async states() {
      const res = await db.query<{ push_id: string; state: string }>('SELECT push_id, state FROM pushes');
      return new Map(res.rows.map((r) => [r.push_id, r.state]));
    },
    async histories(pushIds) {
      const res = await db.query<{ push_id: string; to_state: string }>(
        'SELECT push_id, to_state FROM push_history WHERE push_id = ANY($1) ORDER BY seq',
        [pushIds],
      );
      const out = new Map<string, string[]>();
      for (const r of res.rows) out.set(r.push_id, [...(out.get(r.push_id) ?? []), r.to_state]);
      return out;
    },
    async stop() {
      await Promise.all(agents.map((a) => a.proc.stop(3000)));
      await db.end().catch(() => undefined);
      await ppg.stop();
      await Promise.all([kamailio.stop(), redis.stop(), postgres.stop()]);
    },
  };
}
