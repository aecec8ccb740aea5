import { describe, expect, it } from 'vitest';
import { formatPapAddress, mapAddressToAor, papAddressForAor, parsePapAddress, toE164 } from '../../src/push/address.js';
import { loadProfile, validateProfile } from '../../src/profiles/load-profile.js';
import { codeOf } from '../support/error-code.js';

const oma = loadProfile('oma-sip-push');
const withAddressing = (addressing: Record<string, unknown>) =>
  validateProfile({ name: 't', identity: { uri: 'sip:push@example.com' }, addressing: { homeDomain: 'example.com', ...addressing } });

describe('parsePapAddress', () => {
  it('reads an escaped USER address with a PPG specifier', () => {
    expect(parsePapAddress('WAPPUSH=sip%3Aalice%40example.com/TYPE=USER@ppg.example.com')).toEqual({
      raw: 'WAPPUSH=sip%3Aalice%40example.com/TYPE=USER@ppg.example.com',
      value: 'sip:alice@example.com',
      type: 'USER',
      ppg: 'ppg.example.com',
    });
  });
  it('reads PLMN, IPv4, lower-case keywords and no PPG specifier', () => {
    expect(parsePapAddress('WAPPUSH=+15551234567/TYPE=PLMN@ppg')).toMatchObject({ value: '+15551234567', type: 'PLMN', ppg: 'ppg' });
    expect(parsePapAddress('wappush=alice/type=user')).toMatchObject({ value: 'alice', type: 'USER' });
    expect(parsePapAddress('WAPPUSH=213.243.140.102/TYPE=IPv4@ppg.carrier.com').type).toBe('IPv4');
    expect(parsePapAddress('WAPPUSH=alice/TYPE=USER').ppg).toBeUndefined();
  });
  it.each([
    '+15551234567',
    'WAPPUSH=/TYPE=USER',
    'WAPPUSH=a/TYPE=',
    'WAPPUSH=a%ZZ/TYPE=USER',
    'WAPPUSH=a%20b/TYPE=USER',
    'WAPPUSH=a/TYPE=USER@x@y',
  ])('refuses %s with ADDRESS_INVALID', (address) => expect(codeOf(() => parsePapAddress(address))).toBe('ADDRESS_INVALID'));
});

describe('toE164', () => {
  it('handles international, 00-prefixed, national and separated numbers', () => {
    expect(toE164('+1 (555) 123-4567')).toBe('+15551234567');
    expect(toE164('00358408201681')).toBe('+358408201681');
    expect(toE164('0408201681', '358')).toBe('+358408201681');
    expect(toE164('5551234567', '1')).toBe('+15551234567');
  });
  it('refuses national numbers without a country code and non-numbers', () => {
    expect(codeOf(() => toE164('0408201681'))).toBe('ADDRESS_INVALID');
    expect(codeOf(() => toE164('+12ab'))).toBe('ADDRESS_INVALID');
    expect(codeOf(() => toE164('+1234567890123456'))).toBe('ADDRESS_INVALID');
  });
});

describe('mapAddressToAor', () => {
  it('maps PLMN numbers per plmnForm', () => {
    expect(mapAddressToAor('WAPPUSH=+15551234567/TYPE=PLMN@ppg', oma)).toEqual({
      aor: 'sip:+15551234567@example.com;user=phone',
      kind: 'plmn',
    });
    expect(mapAddressToAor('WAPPUSH=+15551234567/TYPE=PLMN', withAddressing({ plmnForm: 'tel' }))).toEqual({
      aor: 'tel:+15551234567',
      kind: 'plmn',
    });
    expect(mapAddressToAor('WAPPUSH=0408201681/TYPE=PLMN', withAddressing({ defaultCountryCode: '358' })).aor).toBe(
      'sip:+358408201681@example.com;user=phone',
    );
  });
  it('maps USER addresses: SIP URI as is, user@host, bare name, tel URI', () => {
    expect(mapAddressToAor('WAPPUSH=sip%3Aalice%40example.org/TYPE=USER@ppg.example.com', oma)).toEqual({
      aor: 'sip:alice@example.org',
      kind: 'user',
    });
    expect(mapAddressToAor('WAPPUSH=alice/TYPE=USER', oma)).toEqual({ aor: 'sip:alice@example.com', kind: 'user' });
    expect(mapAddressToAor('WAPPUSH=aisha.wahl%40blackberry.com%3A7874/TYPE=USER@rim.net', oma).aor).toBe(
      'sip:aisha.wahl@blackberry.com:7874',
    );
    expect(mapAddressToAor('WAPPUSH=tel%3A%2B15551234567/TYPE=USER', oma)).toEqual({
      aor: 'sip:+15551234567@example.com;user=phone',
      kind: 'plmn',
    });
    expect(mapAddressToAor('WAPPUSH=a%3Cb%3E/TYPE=USER', oma).aor).toBe('sip:a%3Cb%3E@example.com');
  });
  it.each([
    'WAPPUSH=213.243.140.102/TYPE=IPv4@ppg.carrier.com',
    'WAPPUSH=sip%3Aexample.com/TYPE=USER',
    'WAPPUSH=alice%40bad_host!/TYPE=USER',
    'WAPPUSH=0408201681/TYPE=PLMN',
    'WAPPUSH=x/TYPE=GSM_SMS',
  ])('refuses %s with ADDRESS_INVALID', (address) => {
    expect(codeOf(() => mapAddressToAor(address, oma))).toBe('ADDRESS_INVALID');
  });
});

describe('reverse mapping for hand-back', () => {
  it('formats addresses that parse back to the same value', () => {
    const formatted = formatPapAddress({ value: 'sip:alice@example.com', type: 'USER', ppg: 'ppg.example.com' });
    expect(formatted).toBe('WAPPUSH=sip%3Aalice%40example.com/TYPE=USER@ppg.example.com');
    expect(parsePapAddress(formatted).value).toBe('sip:alice@example.com');
  });
  it('turns phone AORs into PLMN and other AORs into USER', () => {
    expect(papAddressForAor('sip:+15551234567@example.com;user=phone')).toBe('WAPPUSH=+15551234567/TYPE=PLMN');
    expect(papAddressForAor('tel:+15551234567', 'ppg')).toBe('WAPPUSH=+15551234567/TYPE=PLMN@ppg');
    expect(papAddressForAor('sip:bob@example.com')).toBe('WAPPUSH=sip%3Abob%40example.com/TYPE=USER');
  });
});
