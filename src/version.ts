/**
 * The agent's version, read once from package.json (two levels up from this file in `src/` and in a
 * compiled `dist/` alike): the `User-Agent: sip-push-agent/<version>` of every outbox POST.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const AGENT_VERSION = readVersion();
export const USER_AGENT = `sip-push-agent/${AGENT_VERSION}`;
