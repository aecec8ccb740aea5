/**
 * Who is pushing: per-PI credentials for the intake routes (config `intake.auth.users`). A PI presents
 * either HTTP Basic (RFC 7617 §2: `name:password`, base64) or a bearer token (RFC 6750 §2.1). Every
 * comparison hashes both sides and uses a constant-time compare, and every user is checked, so neither
 * which user exists nor how much of a secret matched leaks through timing. Without users the intake is
 * open (README: say so to operators) and every caller is the anonymous PI.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface IntakeUser {
  /** The PI's name: the Basic user-id, the rate-limit key, what logs and metrics show. */
  name: string;
  /** For `Authorization: Basic`. */
  password?: string;
  /** For `Authorization: Bearer`. */
  token?: string;
}

/** The challenge sent with 401 (RFC 7235 §4.1): both schemes this agent takes. */
export const INTAKE_CHALLENGE = 'Basic realm="sip-push-agent", charset="UTF-8", Bearer realm="sip-push-agent"';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
const same = (a: Buffer, b: Buffer) => timingSafeEqual(a, b);

export class IntakeAuthenticator {
  private readonly users: ReadonlyArray<{ name: string; password?: Buffer; token?: Buffer; nameDigest: Buffer }>;

  constructor(users: readonly IntakeUser[] = []) {
    this.users = users.map((u) => ({
      name: u.name,
      nameDigest: digest(u.name),
      password: u.password === undefined ? undefined : digest(u.password),
      token: u.token === undefined ? undefined : digest(u.token),
    }));
  }

  /** True when no users are configured: anyone may push. */
  get open(): boolean {
    return this.users.length === 0;
  }

  /**
   * The PI name for an `Authorization` header value, or undefined when it is missing, malformed or wrong.
   * With an open intake every caller is `anonymous`.
   */
  authenticate(authorization: string | undefined): string | undefined {
    if (this.open) return 'anonymous';
    const basic = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
    const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    let found: string | undefined;
    if (basic) {
      const decoded = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return undefined;
      const name = digest(decoded.slice(0, colon));
      const password = digest(decoded.slice(colon + 1));
      for (const user of this.users) {
        const nameOk = same(name, user.nameDigest);
        const passwordOk = same(password, user.password ?? user.nameDigest) && user.password !== undefined;
        if (nameOk && passwordOk) found = user.name;
      }
    } else if (bearer) {
      const token = digest(bearer[1] ?? '');
      for (const user of this.users) {
        if (same(token, user.token ?? user.nameDigest) && user.token !== undefined) found = user.name;
      }
    }
    return found;
  }
}
