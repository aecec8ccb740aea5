import { readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AgentError, ErrorCodes } from '../errors.js';
import { describeZodIssue } from '../profiles/load-profile.js';
import { configSchema, type AgentConfig } from './config-schema.js';
import { applyEnvOverrides, envOriginOf, type EnvOrigins } from './env-overrides.js';

export { applyEnvOverrides, ENV_PREFIX } from './env-overrides.js';

/** Fields holding file paths: a relative value in a config file is relative to that file's folder. */
const PATH_FIELDS: readonly (readonly string[])[] = [
  ['store', 'path'],
  ['presence', 'watchList'],
  ['http', 'tls', 'certPath'],
  ['http', 'tls', 'keyPath'],
  ['ppg', 'tls', 'caPath'],
  ['profile'],
];

/** A `profile` value that names a file rather than a shipped profile (same test as loadProfile). */
const looksLikePath = (value: string) => value.includes('/') || extname(value) !== '';

/**
 * Resolves the relative paths of a config file against `baseDir`, so the agent finds the same files
 * whatever its working directory. Environment values and defaults stay relative to the working directory.
 */
export function resolveConfigPaths(raw: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const path of PATH_FIELDS) {
    let node: unknown = out;
    for (const key of path.slice(0, -1))
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
    if (typeof node !== 'object' || node === null) continue;
    const holder = node as Record<string, unknown>;
    const key = path.at(-1) as string;
    const value = holder[key];
    if (typeof value !== 'string' || value === '' || value === ':memory:' || isAbsolute(value)) continue;
    if (key === 'profile' && !looksLikePath(value)) continue;
    holder[key] = resolve(baseDir, value);
  }
  return out;
}

/** Validates a raw config object; one line naming the field (and the variable that set it) on failure. */
export function validateConfig(raw: unknown, source = 'config', origins: EnvOrigins = new Map()): AgentConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const { field, line } = describeZodIssue(result.error);
    const variable = envOriginOf(field, origins);
    throw new AgentError(ErrorCodes.CONFIG_INVALID, `invalid ${source}: ${line}${variable ? ` (set by ${variable})` : ''}`, field);
  }
  return result.data;
}

/** Reads the file (optional), applies environment overrides, validates. */
export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  let raw: Record<string, unknown> = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new AgentError(ErrorCodes.CONFIG_INVALID, `cannot read config ${path}: ${(err as Error).message}`, 'config', {
        cause: err,
      });
    }
    try {
      const parsed: unknown = parseYaml(text);
      if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
        throw new Error('top level must be a mapping');
      }
      raw = resolveConfigPaths((parsed ?? {}) as Record<string, unknown>, dirname(resolve(path)));
    } catch (err) {
      throw new AgentError(ErrorCodes.CONFIG_INVALID, `config ${path} is not valid YAML/JSON: ${(err as Error).message}`, 'config', {
        cause: err,
      });
    }
  }
  const origins: EnvOrigins = new Map();
  return validateConfig(applyEnvOverrides(raw, env, origins), path ?? 'config', origins);
}
