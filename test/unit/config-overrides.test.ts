/**
 * Config that does what it says: environment overrides typed by the schema (a string field stays a
 * string), errors naming the variable, one listen address's port by index, relative paths against the
 * config file's folder, a strict sip-profile schema with extraHeaders checked at load, and profile
 * fields overridable like the rest (`profileOverrides`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { agentErrorOf } from '../support/error-code.js';
import { loadProfile, validateProfile } from '../../src/profiles/load-profile.js';
import { makeTempDir } from '../support/repo-paths.js';

describe('environment overrides follow the schema types', () => {
  it('a string field stays a string even when it looks like a number', () => {
    const config = loadConfig(undefined, { SPA__admin__token: '12345678', SPA__sip__drachtio__secret: '4711' });
    expect(config.admin.token).toBe('12345678');
    expect(config.sip.drachtio.secret).toBe('4711');
  });

  it('numbers, booleans, enums and the boolean-or-"auto" union are read as their types', () => {
    const config = loadConfig(undefined, {
      SPA__http__port: '9001',
      SPA__log__pretty: 'false',
      SPA__store__synchronous: 'NORMAL',
      SPA__log__level: 'warn',
    });
    expect(config.http.port).toBe(9001);
    expect(config.log.pretty).toBe(false);
    expect(config.store.synchronous).toBe('NORMAL');
    expect(loadConfig(undefined, { SPA__log__pretty: 'auto' }).log.pretty).toBe('auto');
  });

  it('a value not of the field type is an error naming the variable', () => {
    const err = agentErrorOf(() => loadConfig(undefined, { SPA__http__port: 'eighty' }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('SPA__http__port');
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('a variable naming no field is an error naming the variable', () => {
    const err = agentErrorOf(() => loadConfig(undefined, { SPA__htttp__port: '9000' }));
    expect(err.message).toContain('SPA__htttp__port');
    expect(err.message).toContain('htttp.port');
  });

  it('a range error on an overridden field names the variable as well as the field', () => {
    const err = agentErrorOf(() => loadConfig(undefined, { SPA__http__port: '99999' }));
    expect(err.field).toBe('http.port');
    expect(err.message).toContain('set by SPA__http__port');
  });

  it('SPA__sip__listen__0__port sets the first listen address port and keeps the rest of the list', () => {
    const config = loadConfig(undefined, { SPA__sip__listen__0__port: '5099', SPA__sip__listen__1__port: '5099' });
    expect(config.sip.listen).toEqual([
      { host: '127.0.0.2', port: 5099, transport: 'udp' },
      { host: '127.0.0.2', port: 5099, transport: 'tcp' },
    ]);
  });

  it('an index into a list from the file changes that entry only', () => {
    const dir = makeTempDir('spa-config-');
    const file = join(dir, 'agent.yaml');
    writeFileSync(
      file,
      'sip:\n  listen:\n    - { host: 10.0.0.1, port: 5060, transport: udp }\n    - { host: 10.0.0.1, port: 5060, transport: tcp }\n',
    );
    expect(loadConfig(file, { SPA__sip__listen__1__host: '10.0.0.2' }).sip.listen.map((l) => l.host)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('JSON values for list fields', () => {
    const config = loadConfig(undefined, { SPA__sip__trustedPeers: '["10.0.0.0/8","192.0.2.1"]' });
    expect(config.sip.trustedPeers).toEqual(['10.0.0.0/8', '192.0.2.1']);
    expect(agentErrorOf(() => loadConfig(undefined, { SPA__sip__trustedPeers: '10.0.0.0/8' })).message).toContain('SPA__sip__trustedPeers');
  });
});

describe('relative paths in a config file', () => {
  it('resolve against the file folder, not the working directory', () => {
    const dir = makeTempDir('spa-config-');
    mkdirSync(join(dir, 'etc'));
    const file = join(dir, 'etc', 'agent.yaml');
    writeFileSync(
      file,
      [
        'profile: ./my-profile.yaml',
        'store: { path: ../var/pushes.sqlite }',
        'presence: { watchList: watch.txt }',
        'http: { tls: { certPath: tls/cert.pem, keyPath: /abs/key.pem } }',
        'ppg: { tls: { caPath: ca/ppg.pem } }',
      ].join('\n'),
    );
    const config = loadConfig(file, {});
    expect(config.profile).toBe(join(dir, 'etc', 'my-profile.yaml'));
    expect(config.store.path).toBe(join(dir, 'var', 'pushes.sqlite'));
    expect(config.presence.watchList).toBe(join(dir, 'etc', 'watch.txt'));
    expect(config.http.tls).toEqual({ certPath: join(dir, 'etc', 'tls', 'cert.pem'), keyPath: '/abs/key.pem' });
    expect(config.ppg.tls?.caPath).toBe(join(dir, 'etc', 'ca', 'ppg.pem'));
  });

  it('leave profile names, :memory: and environment values alone', () => {
    const dir = makeTempDir('spa-config-');
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, 'profile: ims\nstore: { path: ":memory:" }\n');
    const config = loadConfig(file, { SPA__presence__watchList: 'here.txt' });
    expect(config.profile).toBe('ims');
    expect(config.store.path).toBe(':memory:');
    expect(config.presence.watchList).toBe('here.txt');
  });
});

describe('the sip-profile schema', () => {
  const base = () => structuredClone(loadProfile('kamailio-lab')) as unknown as Record<string, Record<string, unknown>>;

  it('is strict at every level: a misspelt nested key names the key', () => {
    const raw = base();
    raw.message = { ...raw.message, requireExplict: true };
    const err = agentErrorOf(() => validateProfile(raw));
    expect(err.code).toBe('PROFILE_INVALID');
    expect(err.field).toBe('message.requireExplict');
    for (const section of ['identity', 'outboundProxy', 'presence', 'capabilities', 'handBack', 'addressing']) {
      const bad = base();
      bad[section] = { ...bad[section], typo: 1 };
      expect(agentErrorOf(() => validateProfile(bad)).field).toBe(`${section}.typo`);
    }
  });

  it('checks message.extraHeaders at load: reserved names, non-token names, multi-line values', () => {
    for (const [headers, needle] of [
      [{ Contact: '<sip:x@y>' }, 'set by the agent'],
      [{ 'call-id': 'x' }, 'set by the agent'],
      [{ 'X Bad': 'x' }, 'token'],
      [{ 'X-Inject': 'a\r\nVia: SIP/2.0/UDP evil' }, 'one line'],
    ] as const) {
      const raw = base();
      raw.message = { ...raw.message, extraHeaders: headers };
      const err = agentErrorOf(() => validateProfile(raw));
      expect(err.code).toBe('PROFILE_INVALID');
      expect(err.field).toMatch(/^message\.extraHeaders/);
      expect(err.message).toContain(needle);
    }
    const ok = base();
    ok.message = { ...ok.message, extraHeaders: { 'X-Site': 'east-1', 'P-Preferred-Service': 'urn:urn-7:3gpp-service.ims.icsi.oma.push' } };
    expect(validateProfile(ok).message.extraHeaders['X-Site']).toBe('east-1');
  });
});

describe('profile overrides', () => {
  it('SPA__profileOverrides__… sets profile fields, typed by the profile schema, the rest of the profile kept', () => {
    const config = loadConfig(undefined, {
      SPA__profileOverrides__outboundProxy__host: '10.0.0.5',
      SPA__profileOverrides__outboundProxy__port: '5080',
      SPA__profileOverrides__identity__uri: 'sip:push@ims.example.net',
      SPA__profileOverrides__handBack__defaultBearer: '123',
    });
    const profile = loadProfile(config.profile, config.profileOverrides);
    expect(profile.outboundProxy).toEqual({ host: '10.0.0.5', port: 5080, transport: 'udp' });
    expect(profile.identity).toMatchObject({ uri: 'sip:push@ims.example.net', displayName: 'Push Agent' });
    expect(profile.handBack.defaultBearer).toBe('123');
    expect(profile.name).toBe('kamailio-lab');
  });

  it('a misspelt or mistyped profile override names the variable; an invalid merged profile names the field', () => {
    expect(agentErrorOf(() => loadConfig(undefined, { SPA__profileOverrides__outboundProxy__hots: 'x' })).message).toContain(
      'SPA__profileOverrides__outboundProxy__hots',
    );
    expect(agentErrorOf(() => loadConfig(undefined, { SPA__profileOverrides__outboundProxy__port: 'x' })).message).toContain(
      'SPA__profileOverrides__outboundProxy__port',
    );
    const config = loadConfig(undefined, { SPA__profileOverrides__identity__uri: 'http://not-sip' });
    const err = agentErrorOf(() => loadProfile(config.profile, config.profileOverrides));
    expect(err.field).toBe('identity.uri');
    expect(err.message).toContain('profileOverrides');
  });
});
