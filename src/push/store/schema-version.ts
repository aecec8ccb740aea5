import { AgentError, ErrorCodes } from '../../errors.js';

/**
 * Both stores refuse a database a newer agent wrote (its tables may mean something this agent does not
 * know); downgrades are not supported. @throws AgentError STORE_SCHEMA_UNSUPPORTED
 */
export function refuseNewerSchema(found: number, known: number): void {
  if (found <= known) return;
  throw new AgentError(
    ErrorCodes.STORE_SCHEMA_UNSUPPORTED,
    `push store schema version ${found} is newer than this agent understands (${known}); refusing to open it (downgrade not supported)`,
  );
}
