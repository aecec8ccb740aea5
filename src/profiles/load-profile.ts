import { readFileSync } from 'node:fs';
import { extname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { AgentError, ErrorCodes } from '../errors.js';
import { profileSchema, type SipProfile } from './schema.js';

/** Where the shipped profiles live (sip-profiles/ at the project root). */
export const PROFILES_DIR = new URL('../../sip-profiles/', import.meta.url).pathname;

/** Formats the first zod issue as one line: `field.path: message`. */
export function describeZodIssue(error: z.ZodError, prefix = ''): { field: string; line: string } {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)];
  let message = issue?.message ?? 'invalid';
  if (issue && issue.code === 'invalid_key') message = issue.issues[0]?.message ?? message;
  if (issue && issue.code === 'unrecognized_keys') {
    path.push(issue.keys[0] ?? '');
    message = 'unknown field (check the spelling against the documented fields)';
  }
  const field = path.filter(Boolean).join('.');
  if (issue && issue.code === 'invalid_value' && 'values' in issue) {
    message = `must be one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return { field, line: `${field || '(root)'}: ${message}` };
}

/** Validates an already-parsed profile object. */
export function validateProfile(raw: unknown, source = 'profile'): SipProfile {
  const result = profileSchema.safeParse(raw);
  if (!result.success) {
    const { field, line } = describeZodIssue(result.error);
    throw new AgentError(ErrorCodes.PROFILE_INVALID, `invalid sip-profile ${source}: ${line}`, field);
  }
  return result.data;
}

/** Lays `over` onto `base`: objects merge key by key, anything else (arrays too) replaces. */
export function mergeOverrides(base: unknown, over: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = mergeOverrides(base[key], value);
  return out;
}

/**
 * Loads a profile by name (`oma-sip-push` → sip-profiles/oma-sip-push.yaml) or by path (relative to the
 * working directory), lays `overrides` (config `profileOverrides`) over it and validates the result.
 */
export function loadProfile(nameOrPath: string, overrides: Record<string, unknown> = {}): SipProfile {
  const looksLikePath = nameOrPath.includes('/') || extname(nameOrPath) !== '';
  const path = looksLikePath
    ? isAbsolute(nameOrPath)
      ? nameOrPath
      : join(process.cwd(), nameOrPath)
    : join(PROFILES_DIR, `${nameOrPath}.yaml`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AgentError(ErrorCodes.PROFILE_INVALID, `cannot read sip-profile ${path}: ${(err as Error).message}`, 'profile', {
      cause: err,
    });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new AgentError(ErrorCodes.PROFILE_INVALID, `sip-profile ${path} is not valid YAML/JSON: ${(err as Error).message}`, 'profile', {
      cause: err,
    });
  }
  const overridden = Object.keys(overrides).length > 0;
  return validateProfile(overridden ? mergeOverrides(raw, overrides) : raw, overridden ? `${path} with profileOverrides` : path);
}
