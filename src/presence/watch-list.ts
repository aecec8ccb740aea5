/**
 * The optional watch list: users to subscribe to at start-up, one AOR per line, `#` starts a comment.
 * Lines must be `sip:`, `sips:` or `tel:` URIs; a bad line stops start-up naming the line (CONFIG_INVALID).
 */
import { readFileSync } from 'node:fs';
import { AgentError, ErrorCodes } from '../errors.js';

/** Parses watch-list text (pure). Duplicates are dropped, order is kept. */
export function parseWatchList(text: string, source = 'watch list'): string[] {
  const aors: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*$/, '').trim();
    if (line === '') continue;
    if (!/^(sips?:[^\s@]+@[^\s@]+|tel:\+?[0-9][0-9\-.()]*)$/i.test(line)) {
      throw new AgentError(
        ErrorCodes.CONFIG_INVALID,
        `${source} line ${i + 1}: '${line.slice(0, 80)}' is not a sip:/sips:/tel: AOR`,
        'watchList',
      );
    }
    aors.push(line);
  }
  return [...new Set(aors)];
}

/** Reads and parses a watch-list file (once, at start-up: synchronous on purpose). */
export function readWatchList(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AgentError(ErrorCodes.CONFIG_INVALID, `cannot read watch list ${path}: ${(err as Error).message}`, 'watchList', {
      cause: err,
    });
  }
  return parseWatchList(text, path);
}
