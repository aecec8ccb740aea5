import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths never logged in full: credentials and push bodies (style.md: no secrets or bodies in logs). */
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
