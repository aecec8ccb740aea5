/**
 * The agent's configuration: one YAML/JSON file plus environment overrides, validated once at start.
 * Every field has a default that runs on one machine (README "Two commands").
 */
import { hostname } from 'node:os';
import { z } from 'zod';

const transport = z.enum(['udp', 'tcp']);

/** A PAP QoS bearer/network name (the WDP names: `SMS`, `GSM`, `Packet Data`, `GHOST/R_DATA`). */
const QOS_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._/+-]{0,63}$/;

const URL_CREDENTIALS = 'must not carry credentials (user:password@): URLs are logged and stored; use ppg.auth';

function withoutCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username === '' && parsed.password === '';
  } catch {
    return false;
  }
}

/**
 * A database URL of one of `protocols`. It may carry a password (`postgres://user:secret@db/spa`): it is
 * not logged or stored; every message that shows it goes through lib/redact-url.ts.
 */
function dbUrl(protocols: readonly string[], example: string) {
  return z
    .string()
    .min(1)
    .refine(
      (url) => {
        try {
          return protocols.includes(new URL(url).protocol);
        } catch {
          return false;
        }
      },
      `a ${protocols.map((p) => p.slice(0, -1)).join(' or ')} URL, e.g. ${example}`,
    );
}

/** Modules whose log level can be set on its own (`log.modules`); each gets a child logger. */
export const LOG_MODULES = ['sip', 'presence', 'push', 'outbox', 'http'] as const;
export type LogModule = (typeof LOG_MODULES)[number];

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Notification destinations a PI may name ((intake/guard/notify-allow-list.ts)): URL prefixes. */
const notifyPrefixes = z
  .array(z.url({ protocol: /^https?$/ }).refine(withoutCredentials, 'must not carry credentials (user:password@)'))
  .max(100);

/** Intake user names with a meaning of their own: the open intake's PI and the admin token's. */
const RESERVED_PI_NAMES = new Set(['anonymous', 'admin']);

const listenSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  transport,
});

export const configSchema = z
  .strictObject({
    /** A profile name from sip-profiles/ or a path to a profile file. */
    profile: z.string().min(1).default('kamailio-lab'),
    /**
     * Fields laid over the profile before it is validated (objects merge, anything else replaces), e.g.
     * `{ outboundProxy: { host: 10.0.0.5 } }` or `SPA__profileOverrides__outboundProxy__host=10.0.0.5`:
     * one shipped profile serves several sites. Checked against the sip-profile schema at start.
     */
    profileOverrides: z.record(z.string(), z.unknown()).default({}),
    sip: z
      .strictObject({
        engine: z.enum(['embedded', 'drachtio']).default('embedded'),
        /**
         * Where the embedded engine listens. Default 127.0.0.2:5070: an address of its own on loopback, so
         * it never shares an address with a SIP core on 127.0.0.1, and a next hop is never mistaken for
         * the agent itself (docs/interop.md, "Loopback addresses").
         */
        listen: z
          .array(listenSchema)
          .min(1)
          .default([
            { host: '127.0.0.2', port: 5070, transport: 'udp' },
            { host: '127.0.0.2', port: 5070, transport: 'tcp' },
          ]),
        /**
         * Source IPs/CIDRs the embedded engine takes SIP from (the SIP core's proxies); requests from others
         * get 403, their responses are dropped. Default: the profile's outbound proxy host.
         */
        trustedPeers: z.array(z.string().min(1)).optional(),
        /**
         * Bounds on what SIP input may cost (embedded engine): message size, held server transactions,
         * TCP connections. Defaults fit a SIP core's traffic; docs/reliability.md "SIP limits" has the numbers.
         */
        limits: z
          .strictObject({
            /** Largest inbound header block; past it 513 Message Too Large (UDP) or the connection closed (TCP). */
            maxHeaderBytes: z
              .number()
              .int()
              .min(1024)
              .max(65535)
              .default(16 * 1024),
            /** Largest inbound body (a PIDF NOTIFY, a MESSAGE); past it as above. */
            maxBodyBytes: z
              .number()
              .int()
              .min(1024)
              .max(16 * 1024 * 1024)
              .default(256 * 1024),
            /** Server transactions held at once (UDP ones stay 64·T1 after answering); past it 503. */
            maxServerTransactions: z.number().int().min(10).max(1_000_000).default(20_000),
            /** Bytes of encoded responses they may keep for retransmissions; past it 503 too. */
            maxServerTransactionBytes: z
              .number()
              .int()
              .min(64 * 1024)
              .max(1024 * 1024 * 1024)
              .default(32 * 1024 * 1024),
            /** Retry-After seconds on that 503. */
            retryAfterSeconds: z.number().int().min(1).max(3600).default(5),
            tcp: z
              .strictObject({
                /** Inbound connections held at once, all peers together. */
                maxConnections: z.number().int().min(1).max(100_000).default(1024),
                /** Inbound connections held at once from one source address. */
                maxConnectionsPerPeer: z.number().int().min(1).max(100_000).default(128),
                /** A message must be complete this long after its first byte, or the connection is closed. */
                messageTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
                /** A connection without traffic for this long is closed. */
                idleTimeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
              })
              .prefault({}),
          })
          .prefault({}),
        /** RFC 3261 §17.1.1.1 timer values; T1 smaller only in tests. */
        timers: z
          .strictObject({
            t1Ms: z.number().int().min(10).max(10000).default(500),
            t2Ms: z.number().int().min(100).max(60000).default(4000),
            t4Ms: z.number().int().min(100).max(60000).default(5000),
          })
          .prefault({}),
        /**
         * SIP core health: an OPTIONS probe to the profile's outbound proxy every `intervalMs` (0: no
         * probes, only the engine's connection counts), failed when unanswered within `timeoutMs`;
         * `failuresToDown` failures in a row take the core down (new pushes → synchronous PAP 3010,
         * `/readyz` not ready), `successesToUp` answers in a row bring it back (docs/reliability.md).
         */
        coreHealth: z
          .strictObject({
            intervalMs: z.number().int().min(0).max(600000).default(2000),
            timeoutMs: z.number().int().min(50).max(60000).default(1500),
            failuresToDown: z.number().int().min(1).max(100).default(2),
            successesToUp: z.number().int().min(1).max(100).default(1),
          })
          .prefault({}),
        drachtio: z
          .strictObject({
            host: z.string().default('127.0.0.1'),
            port: z.number().int().min(1).max(65535).default(9022),
            secret: z.string().default('cymru'),
            /** `inbound`: the agent dials the server's control port; `outbound`: the server dials the agent. */
            mode: z.enum(['inbound', 'outbound']).default('inbound'),
            /** Reconnect backoff after the control connection drops. */
            reconnect: z
              .strictObject({
                baseMs: z.number().int().min(50).default(500),
                maxMs: z.number().int().min(100).default(30000),
              })
              .prefault({}),
            /** App-level ping period; two unanswered pings count as a dead connection. */
            pingIntervalMs: z.number().int().min(5000).max(300000).default(15000),
          })
          .prefault({}),
      })
      .prefault({}),
    http: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        /** The PAP intake port (also /healthz, /readyz, /metrics, admin and the JSON API). */
        port: z.number().int().min(0).max(65535).default(8180),
        papPath: z.string().startsWith('/').default('/pap'),
        bodyLimitBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(1024 * 1024),
        requestTimeoutMs: z.number().int().min(100).max(600000).default(30000),
        /**
         * After answering 413, read and discard the rest of the body for at most this long / this much, so
         * a client still sending gets the answer instead of a reset; then the connection is cut.
         */
        overLimitDrain: z
          .strictObject({
            maxMs: z.number().int().min(0).max(60000).default(5000),
            maxBytes: z
              .number()
              .int()
              .min(0)
              .max(1024 * 1024 * 1024)
              .default(64 * 1024 * 1024),
          })
          .prefault({}),
        /** Serve HTTPS instead of HTTP with this PEM certificate chain and key (files read at start). */
        tls: z.strictObject({ certPath: z.string().min(1), keyPath: z.string().min(1) }).optional(),
      })
      .prefault({}),
    ppg: z
      .strictObject({
        /**
         * The PPG endpoint that takes asynchronous hand-backs (a PAP push-message with the bearer hint).
         * A hand-back counts as done only when the PPG answers a PAP push-response 1000/1001 (docs/ppg.md).
         * No `user:password@` here: credentials go in `ppg.auth` (a URL is logged and stored).
         */
        handBackUrl: z.url().refine(withoutCredentials, URL_CREDENTIALS).default('http://127.0.0.1:8181/pap'),
        /**
         * The PAP version the PPG speaks; the hand-back is written for it. Default 1.0, the most
         * compatible: every 2.x PPG reads 1.x documents, a 1.0 PPG refuses 2.x ones (docs/ppg.md).
         */
        papVersion: z.enum(['1.0', '2.0', '2.1']).default('1.0'),
        /**
         * Whether the PPG sends the PI a result notification for a push it took back. true: the hand-back
         * carries the PI's `ppg-notify-requested-to` and the agent does not notify for it. false (default,
         * what PAP 1.0-era PPGs do): the agent notifies, saying what it knows (docs/ppg.md).
         */
        sendsResultNotifications: z.boolean().default(false),
        /** The `network` named when a hand-back must carry network-required="true" and the PI named none. */
        network: z.string().regex(QOS_NAME, 'a QoS network name (letters, digits, " ._/+-")').optional(),
        /** Bearers the PPG routes by telephone number: their hand-backs carry TYPE=PLMN (docs/ppg.md). */
        numberBearers: z.array(z.string().regex(QOS_NAME)).default(['SMS']),
        /** AOR → MSISDN for users addressed by SIP identity whose number the agent cannot derive. */
        msisdns: z.record(z.string().min(1), z.string().regex(/^\+?[0-9 ().-]{4,20}$/, 'a telephone number')).default({}),
        /** Per POST, connection and answer included. */
        requestTimeoutMs: z.number().int().min(100).max(120000).default(10000),
        /** Hand-back POSTs in flight at once. */
        concurrency: z.number().int().min(1).max(256).default(8),
        /** Result-notification POSTs in flight at once (their own lane: a slow PI never delays a hand-back). */
        notifyConcurrency: z.number().int().min(1).max(256).default(8),
        backoff: z
          .strictObject({
            baseMs: z.number().int().min(10).default(1000),
            maxMs: z.number().int().min(100).default(300000),
          })
          .prefault({}),
        /**
         * When to stop retrying a POST: the push (hand-back) ends in `hand-back-abandoned`, a notification
         * ends `gave-up`; both are counted and logged at error level. `maxAttempts` unset: age alone.
         */
        giveUp: z
          .strictObject({
            maxAgeMs: z
              .number()
              .int()
              .min(1000)
              .default(24 * 3600_000),
            maxAttempts: z.number().int().min(1).optional(),
          })
          .prefault({}),
        /** Credentials for the PPG (sent only to the hand-back URL's origin; never logged). */
        auth: z
          .union([
            z.strictObject({
              username: z
                .string()
                .min(1)
                .regex(/^[^:]+$/, 'must not contain ":" (RFC 7617 user-id)'),
              password: z.string().min(1),
            }),
            z.strictObject({
              token: z
                .string()
                .min(1)
                .regex(/^[\x21-\x7e]+$/, 'visible ASCII only (RFC 6750 b64token)'),
            }),
          ])
          .optional(),
        /** Extra CA certificates (PEM file) trusted for https hand-back and notify URLs. */
        tls: z.strictObject({ caPath: z.string().min(1) }).optional(),
      })
      .prefault({}),
    capabilityTable: z
      .strictObject({
        /** In-process bound: the whole table (`memory`), or this agent's near cache (`redis`). */
        maxUsers: z.number().int().min(1).max(50_000_000).default(100_000),
        /**
         * `memory` (default): this agent's own table. `redis`: one table shared by every agent of a cluster
         * (presence seen by one agent decides a push at another), and one presence subscription per user
         * across the cluster (docs/architecture.md "Cluster mode"). Needs `capabilityTable.redis.url`.
         */
        kind: z.enum(['memory', 'redis']).default('memory'),
        redis: z
          .strictObject({
            url: dbUrl(['redis:', 'rediss:'], 'redis://127.0.0.1:6379/0').optional(),
            /** Prefix of every key the agents share (several clusters on one Redis need different ones). */
            keyPrefix: z.string().min(1).max(64).default('spa:'),
          })
          .prefault({}),
      })
      .prefault({}),
    presence: z
      .strictObject({
        /** A file of AORs (one per line, # comments) subscribed to at start. */
        watchList: z.string().optional(),
        maxConcurrentSubscribes: z.number().int().min(1).max(10000).default(50),
      })
      .prefault({}),
    /**
     * `presence-aware` (the product): hand back unreachable users without SIP. `always-sip`: the naive
     * baseline the benchmarks compare against — try SIP first, hand back only after a failure.
     */
    policy: z.enum(['presence-aware', 'always-sip']).default('presence-aware'),
    store: z
      .strictObject({
        /** SQLite file; `:memory:` keeps nothing across restarts (tests only). */
        path: z.string().default('./data/pushes.sqlite'),
        retentionHours: z.number().min(0).default(168),
        /**
         * SQLite WAL sync mode. FULL (default): an accepted push survives a power cut (one fsync per
         * commit, a few ms each, which bounds pushes/s: docs/benchmarks.md). NORMAL: survives a process
         * crash only.
         */
        synchronous: z.enum(['FULL', 'NORMAL']).default('FULL'),
        /**
         * Group commit window (ms): how long the first durable write waits for others to share its commit
         * (one fsync for all). Adds at most this much to each write's latency; 0 shares only the writes
         * asked for in the same event-loop turn.
         */
        commitWindowMs: z.number().min(0).max(50).default(2),
        /**
         * `sqlite` (default): one agent per file (`store.path`). `postgres`: one store shared by every agent
         * of a cluster — a push-id is unique across them, any agent answers a status query, and an agent's
         * open pushes are taken over when it stops renewing its leases. Needs `store.postgres.url`.
         */
        kind: z.enum(['sqlite', 'postgres']).default('sqlite'),
        postgres: z
          .strictObject({
            url: dbUrl(['postgres:', 'postgresql:'], 'postgres://spa:secret@127.0.0.1:5432/spa').optional(),
            /** Connections this agent keeps to PostgreSQL. */
            poolSize: z.number().int().min(1).max(200).default(10),
          })
          .prefault({}),
      })
      .prefault({}),
    /** Cluster mode (`store.kind: postgres` and/or `capabilityTable.kind: redis`): this agent among the others. */
    cluster: z
      .strictObject({
        /** This agent's id among the others; unique per live process (default `<hostname>-<pid>`). */
        instanceId: z
          .string()
          .min(1)
          .max(128)
          .regex(/^[\x21-\x7e]+$/, 'visible ASCII only')
          .default(() => `${hostname()}-${process.pid}`),
        /** How long a push, outbox item or watch lease lives without renewal: the failover time. */
        leaseMs: z.number().int().min(1000).max(600_000).default(10_000),
        /** Period of the takeover and watch-ownership rounds; keep it under leaseMs / 3. */
        tickMs: z.number().int().min(100).max(60_000).default(2000),
        /** Bound on watched users taken or given back per round (a bounded SUBSCRIBE rate on failover). */
        maxMovesPerTick: z.number().int().min(1).max(100_000).default(200),
      })
      .prefault({}),
    limits: z
      .strictObject({
        /** SIP MESSAGE transactions in flight at once. */
        maxInFlight: z.number().int().min(1).max(100000).default(2000),
        /** Accepted pushes waiting for a transaction slot; past it intake answers PAP 4001. */
        maxQueued: z.number().int().min(0).max(1000000).default(20000),
        /**
         * Pushes waiting for a future deliver-after-timestamp at once (their bodies stay on disk; ≈ 100
         * bytes of memory each); past it intake answers PAP 4001.
         */
        maxScheduled: z.number().int().min(0).max(10000000).default(100000),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: logLevel.default('info'),
        /** `auto`: pretty when stdout is a terminal. */
        pretty: z.union([z.boolean(), z.literal('auto')]).default('auto'),
        /**
         * Level of the one line per push outcome (delivered, handed back sync or async, expired, cancelled)
         * with push id, user and reason. `debug` hides it at the default level; at `info` a busy agent
         * logs one line per push.
         */
        outcomes: logLevel.default('info'),
        /** Per-module levels overriding `level`, e.g. `{ sip: debug, presence: warn }`. */
        modules: z.partialRecord(z.enum(LOG_MODULES), logLevel).default({}),
      })
      .prefault({}),
    /** Who may push (PAP and the JSON API) and how fast. Both absent: open intake, no limit (README). */
    intake: z
      .strictObject({
        /** Per-PI credentials: HTTP Basic (`name` + `password`) and/or a bearer `token`. */
        auth: z
          .strictObject({
            users: z
              .array(
                z
                  .strictObject({
                    name: z
                      .string()
                      .min(1)
                      .regex(/^[^:]+$/, 'must not contain ":" (RFC 7617 user-id)')
                      .refine((name) => !RESERVED_PI_NAMES.has(name), 'anonymous and admin are reserved PI names'),
                    password: z.string().min(8).optional(),
                    token: z.string().min(16).optional(),
                    /** Where this PI may have result notifications sent (URL prefixes); default `intake.notifyPrefixes`. */
                    notifyPrefixes: notifyPrefixes.optional(),
                  })
                  .refine((u) => u.password !== undefined || u.token !== undefined, 'needs a password or a token'),
              )
              .min(1),
          })
          .optional(),
        /**
         * Where PIs may have result notifications sent (URL prefixes), for PIs without their own list.
         * Default: the origin of `ppg.handBackUrl`. Others → PAP 2001.
         */
        notifyPrefixes: notifyPrefixes.optional(),
        /** Token bucket per PI (per source address when the intake is open); over it → PAP 4001, HTTP 429. */
        rateLimit: z.strictObject({ perSecond: z.number().positive(), burst: z.number().int().min(1) }).optional(),
      })
      .prefault({}),
    admin: z
      .strictObject({
        /** Bearer token for /admin; unset disables the admin API. */
        token: z.string().min(8).optional(),
      })
      .prefault({}),
    /**
     * Where `/metrics` is served. Default: on the intake listener, open (a scrape shows volumes, not
     * pushes or credentials). `port` gives it a listener of its own (on `host`, default `http.host`), so a
     * firewall can keep scrapers and PIs apart; `requireAdminToken` asks for `Bearer <admin.token>`.
     */
    metrics: z
      .strictObject({
        port: z.number().int().min(0).max(65535).optional(),
        host: z.string().min(1).optional(),
        requireAdminToken: z.boolean().default(false),
      })
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.store.kind === 'postgres' && config.store.postgres.url === undefined) {
      ctx.addIssue({ code: 'custom', path: ['store', 'postgres', 'url'], message: 'needed when store.kind is postgres' });
    }
    if (config.capabilityTable.kind === 'redis' && config.capabilityTable.redis.url === undefined) {
      ctx.addIssue({ code: 'custom', path: ['capabilityTable', 'redis', 'url'], message: 'needed when capabilityTable.kind is redis' });
    }
    if (config.cluster.tickMs * 3 > config.cluster.leaseMs) {
      ctx.addIssue({ code: 'custom', path: ['cluster', 'tickMs'], message: 'must be at most cluster.leaseMs / 3' });
    }
    if (config.metrics.requireAdminToken && config.admin.token === undefined) {
      ctx.addIssue({ code: 'custom', path: ['metrics', 'requireAdminToken'], message: 'needs admin.token to be set' });
    }
  });

export type AgentConfig = z.infer<typeof configSchema>;
export type AgentConfigInput = z.input<typeof configSchema>;
