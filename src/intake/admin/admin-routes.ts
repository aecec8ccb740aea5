/**
 * The admin API under `/admin`, behind `Authorization: Bearer <admin.token>`:
 *
 * - `GET  /admin/users/:aor`          a user's capability entry (state, reason, sources, age)
 * - `POST /admin/users/:aor/refresh`  force a presence refresh (202; the SUBSCRIBE runs in background)
 * - `DELETE /admin/users/:aor/hold-down` lift a user's hold-down (200 with the decision now; 404 when the
 *                                     user is not held down)
 * - `GET  /admin/pushes/:pushId`      a push's state and history
 * - `GET  /admin/table`               capability table (and presence watcher) counters
 *
 * No token configured → every admin route answers 404 ADMIN_DISABLED; a wrong or missing token → 401.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { CapabilityEntryView } from '../../capabilities/capability-entry.js';
import { ErrorCodes } from '../../errors.js';
import type { PushHistoryEntry, PushRecord } from '../../push/store/push-record.js';
import { bearerMatches } from '../guard/bearer-auth.js';
import { sendError } from '../http/http-errors.js';
import type { PresenceStatsSource, TableStatsSource } from '../../ops/metrics-sources.js';
import { pushView } from '../json/push-view.js';

export interface AdminDependencies {
  /** `admin.token`; undefined disables the admin API. */
  token: string | undefined;
  table: TableStatsSource & { entry(aor: string): CapabilityEntryView | undefined; clearHoldDown(aor: string): boolean };
  presence?: PresenceStatsSource & { refresh(aor: string): Promise<void> };
  pushes: { get(pushId: string): Promise<PushRecord | undefined>; history(pushId: string): Promise<PushHistoryEntry[]> };
}

const AOR = /^(?:sips?|tel):\S+$/i;

export function registerAdminRoutes(app: FastifyInstance, deps: AdminDependencies, logger: Logger): void {
  const log = logger.child({ module: 'admin' });
  const { token } = deps;

  app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request, reply) => {
        if (token === undefined) return sendError(reply, 404, ErrorCodes.ADMIN_DISABLED, 'admin API disabled (set admin.token)');
        if (!bearerMatches(request.headers.authorization, token)) {
          reply.header('WWW-Authenticate', 'Bearer realm="sip-push-agent admin"');
          return sendError(reply, 401, ErrorCodes.ADMIN_UNAUTHORIZED, 'missing or wrong bearer token');
        }
        return undefined;
      });

      admin.get<{ Params: { aor: string } }>('/users/:aor', async (request, reply) => {
        const view = deps.table.entry(request.params.aor);
        if (!view) return sendError(reply, 404, ErrorCodes.NOT_FOUND, `no capability entry for ${request.params.aor}`, 'aor');
        return {
          aor: view.aor,
          state: view.decision.reachability,
          reason: view.decision.reason,
          rule: view.decision.rule,
          bearerHint: view.decision.bearerHint,
          acceptedApps: view.decision.acceptedApps,
          fresh: view.fresh,
          sources: view.sources,
          createdAt: new Date(view.createdAt).toISOString(),
          ageMs: view.ageMs,
        };
      });

      admin.post<{ Params: { aor: string } }>('/users/:aor/refresh', async (request, reply) => {
        const { aor } = request.params;
        if (!AOR.test(aor)) return sendError(reply, 400, ErrorCodes.ADDRESS_INVALID, 'aor must be a sip:, sips: or tel: URI', 'aor');
        const presence = deps.presence;
        if (!presence) return sendError(reply, 404, ErrorCodes.NOT_FOUND, 'presence watching is not running', 'aor');
        presence.refresh(aor).catch((err: unknown) => log.warn({ err, aor }, 'forced presence refresh failed'));
        log.info({ aor }, 'presence refresh forced');
        return reply.code(202).send({ aor, status: 'refresh-requested' });
      });

      admin.delete<{ Params: { aor: string } }>('/users/:aor/hold-down', async (request, reply) => {
        const { aor } = request.params;
        if (!deps.table.clearHoldDown(aor)) return sendError(reply, 404, ErrorCodes.NOT_FOUND, `${aor} is not held down`, 'aor');
        log.info({ aor }, 'hold-down cleared by an operator');
        const view = deps.table.entry(aor);
        return { aor, holdDown: 'cleared', state: view?.decision.reachability, reason: view?.decision.reason, rule: view?.decision.rule };
      });

      admin.get<{ Params: { pushId: string } }>('/pushes/:pushId', async (request, reply) => {
        const record = await deps.pushes.get(request.params.pushId);
        if (!record) return sendError(reply, 404, ErrorCodes.PUSH_NOT_FOUND, `no push ${request.params.pushId}`, 'pushId');
        return pushView(record, await deps.pushes.history(record.pushId));
      });

      admin.get('/table', async () => ({
        table: deps.table.stats(),
        ...(deps.presence ? { presence: deps.presence.stats() } : {}),
      }));
    },
    { prefix: '/admin' },
  );
}
