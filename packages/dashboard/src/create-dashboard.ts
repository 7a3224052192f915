import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClusterCollector } from './collect/cluster-collector.js';
import type { TickMessage } from './collect/snapshot-types.js';
import { resolveDashboardOptions } from './dashboard-options.js';
import type { DashboardOptions, ResolvedDashboardOptions } from './dashboard-options.js';
import { loadAssets } from './http/assets.js';
import type { DashboardAssets } from './http/assets.js';
import { DashboardAuthenticator } from './http/dashboard-auth.js';
import { pageHtml, signInHtml } from './http/page-html.js';
import { EventStream } from './http/event-stream.js';

/** A live dashboard of one node, served by any `node:http` server through {@link Dashboard.handle}. */
export interface Dashboard {
  /** The path the page is served under, e.g. `/dashboard`. */
  readonly prefix: string;
  /**
   * Serves a request if its path is under {@link prefix} (the page, its script and styles, the live event
   * stream `<prefix>/events`, a JSON snapshot `<prefix>/snapshot.json`) and returns `true`; returns `false`
   * and leaves the response alone otherwise. Read-only: only GET and HEAD are answered (others get 405).
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** How many browsers are connected to the live stream. */
  readonly clients: number;
  /** Stops the updates, ends every live stream and stops listening to the node. Idempotent. */
  close(): void;
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

class DashboardServer implements Dashboard {
  readonly #o: ResolvedDashboardOptions;
  readonly #assets: DashboardAssets;
  readonly #auth: DashboardAuthenticator;
  readonly #collector: ClusterCollector;
  readonly #stream = new EventStream();
  readonly #timer: ReturnType<typeof setInterval>;
  #last: TickMessage | undefined;
  #closed = false;

  constructor(o: ResolvedDashboardOptions) {
    this.#o = o;
    this.#assets = loadAssets();
    this.#auth = new DashboardAuthenticator(o.auth, o.prefix);
    this.#collector = new ClusterCollector(o);
    this.#timer = setInterval(() => this.#tick(), o.intervalMs);
    this.#timer.unref?.();
  }

  get prefix(): string {
    return this.#o.prefix;
  }

  get clients(): number {
    return this.#stream.size;
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = URL.canParse(req.url ?? '/', 'http://dashboard.invalid') ? new URL(req.url ?? '/', 'http://dashboard.invalid') : undefined;
    // A target that is no URL (`GET //[ HTTP/1.1`; new URL threw out of handle, into the host's server) is not
    // the dashboard's: the host answers it.
    if (url === undefined) return false;
    const prefix = this.#o.prefix;
    if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) return false;
    try {
      this.#route(req, res, url, url.pathname.slice(prefix.length));
    } catch {
      // A bad request must not take the host server down; the details stay in the server.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('dashboard error');
    }
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#collector.close();
    this.#stream.close();
  }

  #route(req: IncomingMessage, res: ServerResponse, url: URL, sub: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'read-only', { allow: 'GET, HEAD' });
    if (sub === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', this.#assets.js, { 'cache-control': 'no-cache' });
    if (sub === '/stream.js') return send(res, 200, 'text/javascript; charset=utf-8', this.#assets.worker, { 'cache-control': 'no-cache' });
    if (sub === '/app.css') return send(res, 200, 'text/css; charset=utf-8', this.#assets.css, { 'cache-control': 'no-cache' });
    if (this.#closed) return send(res, 503, 'text/plain', 'dashboard closed');
    const auth = this.#auth.check(req, url);
    if (auth.kind === 'sign-in') return send(res, 303, 'text/plain', 'signed in', { 'set-cookie': auth.cookie, location: auth.location });
    if (auth.kind === 'denied') {
      if (auth.basic) return send(res, 401, 'text/plain', 'authentication required', { 'www-authenticate': 'Basic realm="EPARA dashboard", charset="UTF-8"' });
      return send(res, 401, 'text/html; charset=utf-8', sub === '' || sub === '/' ? signInHtml(this.#o.prefix) : 'authentication required');
    }
    if (sub === '' || sub === '/') return send(res, 200, 'text/html; charset=utf-8', pageHtml(this.#o.prefix));
    if (sub === '/events') return this.#stream.add(req, res, this.#collector.history(), this.#last);
    if (sub === '/snapshot.json') return send(res, 200, 'application/json', JSON.stringify({ history: this.#collector.history(), tick: this.#last ?? this.#tick() }));
    return send(res, 404, 'text/plain', 'not found');
  }

  #tick(): TickMessage {
    const t = this.#collector.tick();
    this.#last = t;
    this.#stream.broadcast('tick', t);
    return t;
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * Creates the live dashboard of a node: collects from its public API (typed events, `view()`, `stats()`) on
 * any transport and pushes an update to every open page each `intervalMs` over server-sent events. Mount
 * `handle` in a `node:http` server, or use {@link mountDashboard}.
 *
 * @throws EparaError `INVALID_OPTIONS` for bad options, and when the node authenticates its peers but no
 * `auth` was given; `INTERNAL` when the package's assets were not built.
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createDashboard } from '@epara/dashboard';
 * const dashboard = createDashboard({ node, auth: { token: process.env.DASHBOARD_TOKEN! } });
 * createServer((req, res) => {
 *   if (!dashboard.handle(req, res)) res.writeHead(404).end();
 * }).listen(8080);
 * ```
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  return new DashboardServer(resolveDashboardOptions(options));
}
