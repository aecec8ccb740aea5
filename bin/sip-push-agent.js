#!/usr/bin/env node
// The installed command. In a development checkout (src/ and the dev dependency tsx present) it runs the
// TypeScript source through tsx, so it never runs a stale build; otherwise the compiled dist/cli.js
// (`npm run build`; the container image and `npm start` build it).
import { existsSync } from 'node:fs';

const source = new URL('../src/cli.ts', import.meta.url);
const compiled = new URL('../dist/cli.js', import.meta.url);

async function tsxRegister() {
  try {
    return (await import('tsx/esm/api')).register;
  } catch {
    return undefined;
  }
}

const register = existsSync(source) ? await tsxRegister() : undefined;
if (register) {
  register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  console.error('sip-push-agent: dist/cli.js is missing; run `npm run build` first');
  process.exit(1);
}
