/**
 * Environment overrides: `SPA__http__port=9000` sets `http.port` (a double underscore separates levels).
 *
 * Each value is read as the type the schema declares at that path, so a string field stays a string
 * (`SPA__admin__token=12345678` is a token, not a number) and a number field must look like one. A
 * numeric level indexes an array: `SPA__sip__listen__0__port=5080` changes the port of the first listen
 * address and keeps the rest of the default list. A variable naming no field, or a value that is not of
 * the field's type, is an error naming the variable. Under `profileOverrides` the sip-profile schema
 * gives the types (`SPA__profileOverrides__outboundProxy__host=10.0.0.5`).
 */
import type { z } from 'zod';
import { AgentError, ErrorCodes } from '../errors.js';
import { profileSchema } from '../profiles/schema.js';
import { configSchema } from './config-schema.js';

export const ENV_PREFIX = 'SPA__';

/** Where a field's value came from: dotted field path → the environment variable that set it. */
export type EnvOrigins = Map<string, string>;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Node = { def: Record<string, unknown> & { type: string } };

/** Strips wrappers (default, optional, pipe …) down to the node that says what the value is. */
function unwrap(schema: Node): Node {
  let node = schema;
  for (let i = 0; i < 20; i += 1) {
    const def = node.def;
    if (def.type === 'pipe') node = def.in as Node;
    else if (
      def.innerType !== undefined &&
      ['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type)
    ) {
      node = def.innerType as Node;
    } else return node;
  }
  return node;
}

/** The schema node at `path` under `root`, or undefined when no such field exists. */
function schemaAt(root: Node, path: string[]): Node | undefined {
  // profileOverrides is typed loosely in the config schema; the profile schema knows its fields.
  if (root === CONFIG && path[0] === 'profileOverrides' && path.length > 1) return schemaAt(PROFILE, path.slice(1));
  let node: Node | undefined = root;
  for (const key of path) {
    if (!node) return undefined;
    const def: Node['def'] = unwrap(node).def;
    if (def.type === 'object') {
      const shape = def.shape as Record<string, Node>;
      node = Object.hasOwn(shape, key) ? shape[key] : undefined;
    } else if (def.type === 'array') node = /^\d+$/.test(key) ? (def.element as Node) : undefined;
    else if (def.type === 'record') node = def.valueType as Node;
    else return undefined;
  }
  return node;
}

const CONFIG = configSchema as unknown as Node;
const PROFILE = profileSchema as unknown as Node;

/** Kinds a leaf can be read as, in the order a union tries them. */
function leafKinds(node: Node): string[] {
  const def = unwrap(node).def;
  if (def.type === 'union') return (def.options as Node[]).flatMap(leafKinds);
  if (def.type === 'literal') return (def.values as unknown[]).map((v) => typeof v);
  if (def.type === 'enum') return ['string'];
  return [def.type];
}

function coerce(variable: string, value: string, node: Node): Json {
  const kinds = leafKinds(node);
  const fail = (what: string): never => {
    throw new AgentError(ErrorCodes.CONFIG_INVALID, `${variable}=${JSON.stringify(value)}: ${what}`, variable);
  };
  if (kinds.includes('boolean') && (value === 'true' || value === 'false')) return value === 'true';
  if ((kinds.includes('number') || kinds.includes('int')) && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  if (kinds.includes('string')) return value;
  if (kinds.some((k) => ['object', 'array', 'record', 'unknown', 'any'].includes(k))) {
    try {
      return JSON.parse(value) as Json;
    } catch {
      return fail(`must be JSON (${kinds.join(' or ')})`);
    }
  }
  return fail(`must be ${kinds.map((k) => (k === 'int' ? 'number' : k)).join(' or ')}`);
}

/**
 * Applies every `SPA__…` variable onto a copy of `raw`. `origins` (optional) collects which variable
 * set which field, so a later validation error can name it; `schema` gives the field types.
 */
export function applyEnvOverrides(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  origins: EnvOrigins = new Map(),
  schema: z.ZodType = configSchema,
): Record<string, unknown> {
  const root = schema as unknown as Node;
  const out: Record<string, unknown> = structuredClone(raw);
  // Sorted so that `…__listen__0__…` and `…__listen__1__…` apply in a stable order.
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__');
    if (path.some((key) => key === '')) {
      throw new AgentError(ErrorCodes.CONFIG_INVALID, `${name}: empty level in the name (levels are separated by "__")`, name);
    }
    const leaf = schemaAt(root, path);
    if (!leaf)
      throw new AgentError(
        ErrorCodes.CONFIG_INVALID,
        `${name}: no field ${path.join('.')} (check the spelling against the documented fields)`,
        name,
      );
    let node: Record<string, unknown> | unknown[] = out;
    for (const [i, key] of path.slice(0, -1).entries()) {
      const container = node as Record<string, unknown>;
      let next = container[key];
      if (typeof next !== 'object' || next === null) {
        // An array not given in the file starts from its schema default, so one index can be changed.
        const here = schemaAt(root, path.slice(0, i + 1));
        const fallback = here && unwrap(here).def.type === 'array' ? (here as unknown as z.ZodType).safeParse(undefined).data : undefined;
        next = Array.isArray(fallback) ? structuredClone(fallback) : /^\d+$/.test(path[i + 1] ?? '') ? [] : {};
        container[key] = next;
      }
      node = next as Record<string, unknown> | unknown[];
    }
    (node as Record<string, unknown>)[path.at(-1) as string] = coerce(name, value, leaf);
    origins.set(path.join('.'), name);
  }
  return out;
}

/** The variable that set `field` or one of its parents, if any. */
export function envOriginOf(field: string, origins: EnvOrigins): string | undefined {
  for (const [path, variable] of origins) {
    if (field === path || field.startsWith(`${path}.`) || path.startsWith(`${field}.`)) return variable;
  }
  return undefined;
}
