/**
 * The JSON push API over a real socket: outcomes mirror PAP, validation errors name the
 * field, and the persisted bytes are a PAP push-message a resume can re-parse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePapRequest } from '../../src/push/pap/pap-parser.js';
import { startOpsServer, type OpsServer, readJson } from './ops-server.js';

let server: OpsServer;
beforeAll(async () => {
  server = await startOpsServer({ reachable: ['sip:bob@127.0.0.1'] });
});
afterAll(async () => {
  await server?.stop();
});

const later = () => new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function post(body: unknown, contentType = 'application/json'): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${server.url}/v1/pushes`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await readJson(response) };
}

describe('POST /v1/pushes outcomes', () => {
  it('hands back an unreachable user: 200, PAP 3010, the bearer hint, nothing stored', async () => {
    const { status, json } = await post({
      target: 'sip:carol@127.0.0.1',
      content: { text: 'hi' },
      contentType: 'text/plain',
      pushId: 'json-hb',
    });
    expect(status).toBe(200);
    expect(json).toMatchObject({ pushId: 'json-hb', outcome: 'handed-back', papCode: 3010, bearerHint: 'SMS' });
    expect(json.reason).toContain('stub: presence closed');
    expect(server.store.get('json-hb')).toBeUndefined();
  });

  it('accepts a reachable user (202, PAP 1001) and stores a PAP push-message equal to the request', async () => {
    const deliverAfter = later();
    const { status, json } = await post({
      target: 'sip:bob@127.0.0.1',
      content: { base64: Buffer.from([0x02, 0x05, 0x6a, 0x00]).toString('base64') },
      contentType: 'application/vnd.wap.sic',
      appId: 'x-wap-application:wml.ua',
      notifyUrl: 'http://127.0.0.1:9/notify',
      deliverAfter,
      bearer: 'SMS',
    });
    expect(status).toBe(202);
    expect(json).toMatchObject({ outcome: 'accepted', papCode: 1001 });
    const pushId = String(json.pushId);
    expect(pushId).toMatch(/^json-/);

    const record = server.store.get(pushId);
    expect(record).toMatchObject({ state: 'accepted', source: 'json', aor: 'sip:bob@127.0.0.1', notifyTo: 'http://127.0.0.1:9/notify' });
    const reparsed = parsePapRequest(record?.requestContentType ?? '', record?.requestBody ?? Buffer.alloc(0));
    if (reparsed.kind !== 'push') throw new Error('stored request is not a push-message');
    expect(reparsed.push.pushId).toBe(pushId);
    expect(reparsed.push.addresses).toEqual(['WAPPUSH=sip%3Abob%40127.0.0.1/TYPE=USER']);
    expect(reparsed.push.content.body.equals(Buffer.from([0x02, 0x05, 0x6a, 0x00]))).toBe(true);
    expect(reparsed.push.content.headers['x-wap-application-id']).toBe('x-wap-application:wml.ua');
    expect(reparsed.push.deliverAfter?.toISOString().replace(/\.\d{3}Z$/, 'Z')).toBe(deliverAfter);
    expect(reparsed.push.qos).toMatchObject({ bearer: 'SMS', bearerRequired: false });

    const state = await fetch(`${server.url}/v1/pushes/${encodeURIComponent(pushId)}`);
    expect(state.status).toBe(200);
    expect(await readJson(state)).toMatchObject({ pushId, state: 'accepted', messageState: 'pending', papCode: 1001, source: 'json' });
  });

  it('rejects a reused push-id with 409 and PAP 2007', async () => {
    const body = {
      target: 'sip:bob@127.0.0.1',
      content: { text: 'x' },
      contentType: 'text/plain',
      pushId: 'json-dup',
      deliverAfter: later(),
    };
    expect((await post(body)).status).toBe(202);
    const again = await post(body);
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ pushId: 'json-dup', outcome: 'rejected', papCode: 2007 });
  });

  it('maps a phone number to a PLMN address', async () => {
    const { json } = await post({ target: '+1 555 0100', content: { text: 'x' }, contentType: 'text/plain', pushId: 'json-plmn' });
    expect(json).toMatchObject({ outcome: 'handed-back', papCode: 3010 });
  });

  it('GET /v1/pushes/:pushId answers 404 PUSH_NOT_FOUND for an unknown push', async () => {
    const response = await fetch(`${server.url}/v1/pushes/unknown-id`);
    expect(response.status).toBe(404);
    expect((await readJson(response)).error).toBe('PUSH_NOT_FOUND');
  });
});

describe('POST /v1/pushes validation names the field', () => {
  const valid = { target: 'sip:carol@127.0.0.1', content: { text: 'hi' }, contentType: 'text/plain' };
  it.each([
    ['target', { ...valid, target: undefined }],
    ['target', { ...valid, target: 'carol' }],
    ['content', { ...valid, content: {} }],
    ['content.base64', { ...valid, content: { base64: 'not base64!' } }],
    ['contentType', { ...valid, contentType: 'plain' }],
    ['notifyUrl', { ...valid, notifyUrl: 'ftp://127.0.0.1/x' }],
    ['deliverBefore', { ...valid, deliverBefore: 'tomorrow' }],
    ['pushId', { ...valid, pushId: 'has space' }],
    ['colour', { ...valid, colour: 'red' }],
  ])('400 JSON_PUSH_INVALID naming %s', async (field, body) => {
    const { status, json } = await post(body);
    expect(status).toBe(400);
    expect(json).toMatchObject({ error: 'JSON_PUSH_INVALID', field });
  });

  it('400 for a body that is not JSON and 415 for a non-JSON Content-Type', async () => {
    expect(await post('{"target":')).toMatchObject({ status: 400, json: { error: 'JSON_PUSH_INVALID', field: '(body)' } });
    expect(await post(JSON.stringify(valid), 'text/plain')).toMatchObject({ status: 415, json: { field: 'Content-Type' } });
  });

  it('records JSON intake latency in /metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/spa_intake_duration_seconds_count\{api="json",outcome="handed-back"\} [1-9]/);
  });
});
