/** A port already taken at start → one line naming the config field and the variable that sets it. */
import type { AgentConfig } from '../config/config-schema.js';
import { AgentError, ErrorCodes } from '../errors.js';

/** A listen failure because the port is taken → one line naming the config field and its variable. */
export function portInUse(err: unknown, field: string, envVar: string, what: string): unknown {
  const e = bindError(err);
  if (e?.code !== 'EADDRINUSE') return err;
  const where = e.address !== undefined && e.port !== undefined ? `${String(e.address)}:${String(e.port)}` : what;
  return new AgentError(ErrorCodes.PORT_IN_USE, `${where} is already in use (${field}); set ${field} or ${envVar}`, field, { cause: err });
}

/** The Node bind error itself (transports wrap it as `cause`). */
export function bindError(err: unknown): { code?: unknown; address?: unknown; port?: unknown } | undefined {
  const e = err as { code?: unknown; cause?: unknown } | undefined;
  if (e?.code === undefined && e?.cause !== undefined) return bindError(e.cause);
  return e as { code?: unknown; address?: unknown; port?: unknown } | undefined;
}

/** Which `sip.listen` entry a bind error is about (index into the config list; UDP first on a tie). */
export function listenIndex(config: AgentConfig, err: unknown): number {
  const e = bindError(err);
  const i = config.sip.listen.findIndex((l) => l.host === e?.address && l.port === e?.port);
  return Math.max(i, 0);
}
