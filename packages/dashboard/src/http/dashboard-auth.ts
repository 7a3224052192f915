import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DashboardAuth } from '../dashboard-options.js';

/** Name of the session cookie set after a token sign-in. */
export const SESSION_COOKIE = 'epara_dashboard';

/** What to do with a request, authentication-wise. */
export type AuthOutcome =
  | { readonly kind: 'ok' }
  /** The page was opened with a valid `?token=`: set the session cookie and redirect to the clean URL. */
  | { readonly kind: 'sign-in'; readonly cookie: string; readonly location: string }
  | { readonly kind: 'denied'; readonly basic: boolean };

/**
 * Checks a request against the configured credentials in constant time: a bearer token (header, session
 * cookie, or `?token=` on the page URL, which becomes a cookie) or HTTP basic auth. `auth: false` lets
 * everything through.
 */
export class DashboardAuthenticator {
  readonly #auth: DashboardAuth | false;
  readonly #prefix: string;
  readonly #expected: Buffer | undefined;
  readonly #session: string | undefined;

  constructor(auth: DashboardAuth | false, prefix: string) {
    this.#auth = auth;
    this.#prefix = prefix;
    if (auth !== false && 'token' in auth) {
      this.#expected = digest(auth.token);
      // The cookie carries a value derived from the token, not the token itself.
      this.#session = createHash('sha256').update(`epara-dashboard-session\u0000${auth.token}`).digest('base64url');
    } else if (auth !== false) {
      this.#expected = digest(`${auth.username}:${auth.password}`);
    }
  }

  check(req: IncomingMessage, url: URL): AuthOutcome {
    const auth = this.#auth;
    if (auth === false || this.#expected === undefined) return { kind: 'ok' };
    const header = req.headers.authorization ?? '';
    if (!('token' in auth)) {
      const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
      const given = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
      return m && same(digest(given), this.#expected) ? { kind: 'ok' } : { kind: 'denied', basic: true };
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (bearer !== undefined && same(digest(bearer), this.#expected)) return { kind: 'ok' };
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (cookie !== undefined && same(digest(cookie), digest(this.#session!))) return { kind: 'ok' };
    const query = url.searchParams.get('token');
    if (query !== null && same(digest(query), this.#expected)) {
      url.searchParams.delete('token');
      const cookieHeader = `${SESSION_COOKIE}=${this.#session}; Path=${this.#prefix}; HttpOnly; SameSite=Strict`;
      return { kind: 'sign-in', cookie: cookieHeader, location: url.pathname + url.search };
    }
    return { kind: 'denied', basic: false };
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
