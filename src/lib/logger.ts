import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths never logged in full: credentials and push bodies (a log line must never carry a secret or a push body). */
export const REDACT_PATHS = [
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'body',
  '*.body',
  'content',
  '*.content',
  // The admin bearer token, wherever a config or request object is logged.
  'token',
  '*.token',
  'admin.token',
  '*.admin.token',
  'req.headers.authorization',
  // Stored PAP request bytes (push records).
  'requestBody',
  '*.requestBody',
];

export interface LoggerSettings {
  level?: string;
  pretty?: boolean;
}

/** The root logger: JSON by default, pretty when asked (a terminal). */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'sip-push-agent' },
  };
  if (settings.pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(options);
}

/** A silent logger for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * The logger one module gets: a child with its own level when `levels` names the module (config
 * `log.modules`), else the root itself. The module's own `child({ component })` loggers inherit that level.
 */
export function loggerForModule(root: Logger, module: string, levels: Partial<Record<string, string>> = {}): Logger {
  const level = levels[module];
  return level === undefined ? root : root.child({}, { level });
}
