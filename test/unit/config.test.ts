/**
 * Config validation: defaults that run on one machine, `SPA__a__b` overrides, one
 * error naming the field and its allowed values, per-module log levels.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { applyEnvOverrides, loadConfig, validateConfig } from '../../src/config/load-config.js';
import { agentErrorOf } from '../support/error-code.js';
import { REDACT_PATHS, loggerForModule } from '../../src/lib/logger.js';

describe('validateConfig', () => {
  it('refuses credentials in configured URLs naming the field, without echoing the password', () => {
    const handBack = agentErrorOf(() => validateConfig({ ppg: { handBackUrl: 'http://ppg:s3cret-pw@127.0.0.1:8181/pap' } }));
    expect(handBack.code).toBe('CONFIG_INVALID');
    expect(handBack.field).toBe('ppg.handBackUrl');
    expect(handBack.message).toContain('credentials');
    expect(handBack.message).not.toContain('s3cret-pw');
    expect(agentErrorOf(() => validateConfig({ intake: { notifyPrefixes: ['https://u:p@ppg.example/'] } })).field).toBe(
      'intake.notifyPrefixes.0',
    );
    const users = [{ name: 'pi', password: 'password-1', notifyPrefixes: ['http://x:y@ppg.example/n/'] }];
    expect(agentErrorOf(() => validateConfig({ intake: { auth: { users } } })).field).toBe('intake.auth.users.0.notifyPrefixes.0');
    expect(validateConfig({ ppg: { handBackUrl: 'https://ppg.example/pap' } }).ppg.handBackUrl).toBe('https://ppg.example/pap');
  });

  it('reserves the PI names anonymous and admin', () => {
    for (const name of ['anonymous', 'admin']) {
      expect(agentErrorOf(() => validateConfig({ intake: { auth: { users: [{ name, password: 'password-1' }] } } })).field).toBe(
        'intake.auth.users.0.name',
      );
    }
  });

  it('fills documented defaults for an empty config', () => {
    const config = validateConfig({});
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 8180, papPath: '/pap' });
    expect(config.sip.listen[0]).toEqual({ host: '127.0.0.2', port: 5070, transport: 'udp' });
    expect(config.log).toEqual({ level: 'info', outcomes: 'info', pretty: 'auto', modules: {} });
    expect(config.admin.token).toBeUndefined();
  });

  it('names the field and the allowed values for a bad enum', () => {
    const err = agentErrorOf(() => validateConfig({ log: { level: 'loud' } }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.field).toBe('log.level');
    expect(err.message).toContain('"debug"');
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('names an unknown field', () => {
    const err = agentErrorOf(() => validateConfig({ http: { prot: 1 } }));
    expect(err.field).toBe('http.prot');
  });

  it('accepts per-module log levels and refuses an unknown module or level', () => {
    expect(validateConfig({ log: { modules: { sip: 'debug', presence: 'warn' } } }).log.modules).toEqual({
      sip: 'debug',
      presence: 'warn',
    });
    expect(agentErrorOf(() => validateConfig({ log: { modules: { sipp: 'debug' } } })).field).toMatch(/^log\.modules/);
    expect(agentErrorOf(() => validateConfig({ log: { modules: { sip: 'chatty' } } })).field).toBe('log.modules.sip');
  });

  it('refuses a short admin token', () => {
    expect(agentErrorOf(() => validateConfig({ admin: { token: 'short' } })).field).toBe('admin.token');
  });
});

describe('ppg section', () => {
  it('defaults to the most compatible PPG: PAP 1.0, no PPG notifications, SMS routed by number, a 24 h give-up', () => {
    const { ppg } = validateConfig({});
    expect(ppg).toMatchObject({
      papVersion: '1.0',
      sendsResultNotifications: false,
      numberBearers: ['SMS'],
      msisdns: {},
      notifyConcurrency: 8,
    });
    expect(ppg.giveUp).toEqual({ maxAgeMs: 86_400_000 });
    expect(ppg.auth).toBeUndefined();
  });

  it('refuses credentials in handBackUrl, naming the field, without echoing the password', () => {
    const err = agentErrorOf(() => validateConfig({ ppg: { handBackUrl: 'http://psa:hunter22@ppg.example.com/pap' } }));
    expect(err.field).toBe('ppg.handBackUrl');
    expect(err.message).toContain('ppg.auth');
    expect(err.message).not.toContain('hunter22');
  });

  it('takes Basic or Bearer credentials, refuses a user-id with ":" and a PAP version it cannot write', () => {
    expect(validateConfig({ ppg: { auth: { username: 'psa', password: 'p' } } }).ppg.auth).toEqual({ username: 'psa', password: 'p' });
    expect(validateConfig({ ppg: { auth: { token: 'abc.def' } } }).ppg.auth).toEqual({ token: 'abc.def' });
    expect(agentErrorOf(() => validateConfig({ ppg: { auth: { username: 'a:b', password: 'p' } } })).field).toMatch(/^ppg\.auth/);
    expect(agentErrorOf(() => validateConfig({ ppg: { papVersion: '2.3' } })).field).toBe('ppg.papVersion');
  });
});

describe('environment overrides', () => {
  it('SPA__a__b=v sets nested fields with numbers and booleans coerced', () => {
    const raw = applyEnvOverrides({ http: { host: '127.0.0.1' } }, { SPA__http__port: '8181', SPA__log__pretty: 'false', OTHER: 'x' });
    expect(raw).toEqual({ http: { host: '127.0.0.1', port: 8181 }, log: { pretty: false } });
  });

  it('loadConfig applies overrides after the file and validates the result', () => {
    expect(loadConfig(undefined, { SPA__http__port: '9000' }).http.port).toBe(9000);
    expect(agentErrorOf(() => loadConfig(undefined, { SPA__http__port: '99999' })).field).toBe('http.port');
  });

  it('a missing file is CONFIG_INVALID naming the config', () => {
    expect(agentErrorOf(() => loadConfig('/nonexistent/spa.yaml', {})).code).toBe('CONFIG_INVALID');
  });
});

describe('logging', () => {
  function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    return {
      stream,
      lines: () =>
        chunks
          .join('')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
    };
  }

  it('a module level below the root level lets that module (and its children) log at it', () => {
    const out = capture();
    const root = pino({ level: 'info' }, out.stream);
    const sip = loggerForModule(root, 'sip', { sip: 'debug' }).child({ component: 'sip' });
    const push = loggerForModule(root, 'push', { sip: 'debug' }).child({ component: 'push' });
    sip.debug('sip detail');
    push.debug('push detail');
    expect(out.lines().map((l) => l.msg)).toEqual(['sip detail']);
  });

  it('redacts the admin token, authorization headers and bodies', () => {
    const out = capture();
    const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, out.stream);
    log.info({ config: { admin: { token: 'secret-token-123' } }, req: { headers: { authorization: 'Bearer abc' } }, body: 'payload' }, 'x');
    const text = JSON.stringify(out.lines());
    expect(text).not.toContain('secret-token-123');
    expect(text).not.toContain('Bearer abc');
    expect(text).not.toContain('payload');
  });
});
