import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { AgentError, ErrorCodes } from '../errors.js';
import { describeZodIssue } from '../profiles/load-profile.js';
import { configSchema, type AgentConfig } from './config-schema.js';

/** Environment overrides: `SPA__http__port=8181` sets `http.port` (double underscore separates levels). */
export const ENV_PREFIX = 'SPA__';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function coerce(value: string): Json {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value.startsWith('[') || value.startsWith('{')) {
    try {
      return JSON.parse(value) as Json;
    } catch {
      return value;
    }
  }
  return value;
}

/** Applies `SPA__a__b=v` variables onto a raw config object. */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(raw);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').filter(Boolean);
    let node: Record<string, unknown> = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    const last = path.at(-1);
    if (last) node[last] = coerce(value);
  }
  return out;
}

/** Validates a raw config object; one line naming the field on failure. */
export function validateConfig(raw: unknown, source = 'config'): AgentConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const { field, line } = describeZodIssue(result.error);
    throw new AgentError(ErrorCodes.CONFIG_INVALID, `invalid ${source}: ${line}`, field);
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
      raw = (parsed ?? {}) as Record<string, unknown>;
    } catch (err) {
      throw new AgentError(ErrorCodes.CONFIG_INVALID, `config ${path} is not valid YAML/JSON: ${(err as Error).message}`, 'config', {
        cause: err,
      });
    }
  }
  return validateConfig(applyEnvOverrides(raw, env), path ?? 'config');
}
