import { invalidOption } from '@epara/core';
import type { ServiceSpec } from '@epara/core';
import type { MeshNode } from '@epara/mesh';

/** What the dashboard reads from a node: its public API only (typed events, `view()`, `stats()`). */
export type DashboardNode = Pick<MeshNode, 'id' | 'on' | 'off' | 'view' | 'stats' | 'address'> & { readonly authenticatesPeers?: boolean };

/** Credentials a browser must present: a bearer token, or HTTP basic auth. */
export type DashboardAuth =
  | {
      /**
       * A secret (≥ 16 characters). The browser opens `<prefix>?token=…` once (or sends
       * `Authorization: Bearer …`); the dashboard answers with an HttpOnly session cookie and drops the token
       * from the address bar.
       */
      readonly token: string;
    }
  | {
      readonly username: string;
      /** ≥ 8 characters. */
      readonly password: string;
    };

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /** The node whose view the page shows (`createNode(...)`); any transport. */
  readonly node: DashboardNode;
  /**
   * Who may look. Required when the node authenticates its peers (a PSK, or mutual TLS on its transport):
   * the page then never shows cluster detail to a browser without these credentials. `false` serves it to
   * anyone, and must be spelled out on such a node. @default none (open) on a node without peer authentication
   */
  readonly auth?: DashboardAuth | false;
  /** URL path the page is served under. @default '/dashboard' */
  readonly prefix?: string;
  /** How often the page is updated (and a point is added to each chart), ms, 100–1000. @default 1000 */
  readonly intervalMs?: number;
  /** How much history the charts keep, ms. @default 300000 (5 minutes) */
  readonly windowMs?: number;
  /** An alive server whose view entry is older than this is shown as suspected, ms. @default 3000 */
  readonly suspectAfterMs?: number;
  /**
   * The service catalog (as given to the node): names each service's category from its declared sensitivity.
   * Without it the category is inferred from its instances (multi-frame ⇒ frequency). @default []
   */
  readonly services?: readonly ServiceSpec[];
  /** Most placement changes listed. @default 40 */
  readonly maxPlacements?: number;
  /** Clock of the node (the view's `updatedAt` is in it). @default Date.now */
  readonly now?: () => number;
}

/** Defaults of {@link DashboardOptions}. */
export const DASHBOARD_DEFAULTS = {
  prefix: '/dashboard',
  intervalMs: 1000,
  windowMs: 300_000,
  suspectAfterMs: 3000,
  maxPlacements: 40,
} as const;

/** {@link DashboardOptions} after defaults and validation. */
export interface ResolvedDashboardOptions {
  readonly node: DashboardNode;
  readonly auth: DashboardAuth | false;
  readonly prefix: string;
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly suspectAfterMs: number;
  readonly services: readonly ServiceSpec[];
  readonly maxPlacements: number;
  readonly now: () => number;
}

/**
 * Fills defaults and validates once.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field, value and expected type; also when the node
 * authenticates its peers and no `auth` was given.
 */
export function resolveDashboardOptions(options: DashboardOptions): ResolvedDashboardOptions {
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  const node = options.node as Partial<DashboardNode> | undefined;
  if (!node || typeof node.on !== 'function' || typeof node.off !== 'function' || typeof node.view !== 'function' || typeof node.stats !== 'function') {
    invalidOption('node', options.node, 'a MeshNode (on, off, view, stats)');
  }
  const prefix = options.prefix ?? DASHBOARD_DEFAULTS.prefix;
  if (typeof prefix !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(prefix) || prefix.endsWith('/') || prefix.includes('//')) {
    invalidOption('prefix', prefix, "a URL path starting with '/' and not ending with '/' (e.g. '/dashboard')");
  }
  const num = (field: 'intervalMs' | 'windowMs' | 'suspectAfterMs' | 'maxPlacements', min: number, max: number): number => {
    const v = options[field] ?? DASHBOARD_DEFAULTS[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) invalidOption(field, v, `a number in [${min}, ${max}]`);
    return v;
  };
  const intervalMs = num('intervalMs', 100, 1000);
  const windowMs = num('windowMs', intervalMs * 10, 3_600_000);
  const services = options.services ?? [];
  if (!Array.isArray(services)) invalidOption('services', services, 'an array of ServiceSpec');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') invalidOption('now', now, 'a function returning ms');
  return {
    node: options.node,
    auth: resolveAuth(options.auth, options.node.authenticatesPeers === true),
    prefix,
    intervalMs,
    windowMs,
    suspectAfterMs: num('suspectAfterMs', 0, 3_600_000),
    services,
    maxPlacements: Math.floor(num('maxPlacements', 1, 1000)),
    now,
  };
}

function resolveAuth(auth: DashboardOptions['auth'], nodeIsSecured: boolean): DashboardAuth | false {
  if (auth === undefined) {
    if (nodeIsSecured) {
      invalidOption('auth', auth, "{ token } or { username, password }: the node authenticates its peers, so the dashboard needs credentials too (or `auth: false` to serve it open on purpose)");
    }
    return false;
  }
  if (auth === false) return false;
  if (typeof auth !== 'object' || auth === null) invalidOption('auth', auth, '{ token }, { username, password } or false');
  if ('token' in auth) {
    if (typeof auth.token !== 'string' || auth.token.length < 16) invalidOption('auth.token', '(hidden)', 'a string of at least 16 characters');
    return { token: auth.token };
  }
  const { username, password } = auth as { username?: unknown; password?: unknown };
  if (typeof username !== 'string' || username === '' || username.includes(':')) invalidOption('auth.username', username, 'a non-empty string without ":"');
  if (typeof password !== 'string' || password.length < 8) invalidOption('auth.password', '(hidden)', 'a string of at least 8 characters');
  return { username, password };
}
