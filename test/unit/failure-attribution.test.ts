import { describe, expect, it } from 'vitest';
import { attributeDelivery } from '../../src/capabilities/failure-attribution.js';
import type { DeliveryReport } from '../../src/capabilities/reachability-oracle.js';

// Only outcomes that speak about the user hold it down (RFC 3261 §8.1.3.1: a transport error is a 503).
const cases: Array<[string, DeliveryReport, 'none' | 'user' | 'core' | 'request', boolean]> = [
  ['200', { status: 200, coreAlive: true }, 'none', false],
  ['202 while the core is down', { status: 202, coreAlive: false }, 'none', false],
  ['404', { status: 404, coreAlive: true }, 'user', true],
  ['404 while the core is not known alive', { status: 404, coreAlive: false }, 'user', true],
  ['410', { status: 410 }, 'user', true],
  ['480', { status: 480, coreAlive: false }, 'user', true],
  ['604', { status: 604 }, 'user', true],
  ['Timer F, core alive', { failure: 'timeout', coreAlive: true }, 'user', true],
  ['Timer F, core not known alive', { failure: 'timeout', coreAlive: false }, 'core', false],
  ['Timer F, no health known', { failure: 'timeout' }, 'user', true],
  ['408 from the core, core alive', { status: 408, coreAlive: true }, 'user', true],
  ['408 after a frozen core woke up', { status: 408, coreAlive: false }, 'core', false],
  ['transport error, core alive', { failure: 'transport', coreAlive: true }, 'core', false],
  ['transport error (engine disconnected)', { failure: 'transport', coreAlive: false }, 'core', false],
  ['500', { status: 500, coreAlive: true }, 'core', false],
  ['503', { status: 503, coreAlive: true }, 'core', false],
  ['504', { status: 504, coreAlive: true }, 'core', false],
  ['403', { status: 403, coreAlive: true }, 'request', false],
  ['415', { status: 415, coreAlive: true }, 'request', false],
  ['488', { status: 488, coreAlive: true }, 'request', false],
  ['603', { status: 603, coreAlive: true }, 'request', false],
];

describe('attributeDelivery', () => {
  it.each(cases)('%s → blame %s, hold-down %s', (_name, evidence, blame, holdDown) => {
    const attribution = attributeDelivery(evidence);
    expect(attribution).toMatchObject({ blame, holdDown });
    expect(attribution.why).not.toBe('');
  });
});
