/**
 * Refusals that fastify makes before a route runs answer with a catalogue code (src/errors.ts,
 * docs/errors.md) like every other error: a JSON body over `http.bodyLimitBytes` is 413 BODY_TOO_LARGE,
 * not fastify's own `FST_…` code; the PAP route keeps its PAP 2000 badmessage-response.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpStatusOf, isErrorCode } from '../../src/errors.js';
import { type OpsServer, readJson, startOpsServer } from './ops-server.js';

let server: OpsServer;
beforeAll(async () => {
  server = await startOpsServer();
});
afterAll(async () => {
  await server?.stop();
});

/** The ops server's `http.bodyLimitBytes` is 64 KiB: this is well over it. */
const OVER_LIMIT = Buffer.alloc(256 * 1024, 0x20);

describe('HTTP refusals carry catalogue codes', () => {
  it('a JSON push over the body limit: 413 BODY_TOO_LARGE, then the server keeps serving', async () => {
    const res = await fetch(`${server.url}/v1/pushes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: OVER_LIMIT,
    });
    expect(res.status).toBe(httpStatusOf('BODY_TOO_LARGE'));
    const json = await readJson(res);
    expect(json).toMatchObject({ error: 'BODY_TOO_LARGE' });
    expect(String(json.message)).toMatch(/over \d+ bytes/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('every JSON error body the server sends names a catalogue code', async () => {
    const answers = [
      await fetch(`${server.url}/v1/pushes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: OVER_LIMIT }),
      await fetch(`${server.url}/no/such/route`),
      await fetch(`${server.url}/v1/pushes/nope`),
    ];
    for (const res of answers) {
      const json = await readJson(res);
      expect(isErrorCode(json.error), `${res.status} ${JSON.stringify(json)}`).toBe(true);
      expect(res.status).toBe(httpStatusOf(json.error as Parameters<typeof httpStatusOf>[0]));
    }
  });
});
