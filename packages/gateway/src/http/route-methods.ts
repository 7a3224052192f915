/**
 * The methods each route of the HTTP front takes, by path pattern (Fastify's `/v2/models/:name`, `/v2/x/*`), so
 * that a request whose path is served but whose method is not is answered 405 with `Allow` (RFC 9110 §15.5.6),
 * and OPTIONS with the methods its path takes, rather than the 404 a client reads as a wrong URL.
 */
export class RouteMethods {
  readonly #routes: { readonly pattern: RegExp; readonly methods: Set<string> }[] = [];
  /** The methods of routes that take specific methods (not every one, as Fastify's `all` does). */
  readonly #specific = new Set<string>(['OPTIONS']);
  readonly #byPath = new Map<string, Set<string>>();

  /** Records a route (as Fastify's `onRoute` hook sees it). A `GET` route answers `HEAD` too. */
  add(method: string | readonly string[], path: string): void {
    let methods = this.#byPath.get(path);
    if (!methods) {
      methods = new Set();
      this.#byPath.set(path, methods);
      this.#routes.push({ pattern: patternOf(path), methods });
    }
    const list = typeof method === 'string' ? [method] : method;
    for (const m of list) {
      methods.add(m);
      if (m === 'GET') methods.add('HEAD');
    }
    if (list.length <= 2) for (const m of methods) this.#specific.add(m);
  }

  /**
   * The methods the request target's path takes, OPTIONS included and in a stable order (`GET, HEAD, POST, …,
   * OPTIONS`), or `undefined` when no route serves the path.
   */
  allowed(url: string): string[] | undefined {
    const q = url.search(/[?#]/);
    const path = q < 0 ? url : url.slice(0, q);
    const all = new Set<string>();
    for (const r of this.#routes) if (r.pattern.test(path)) for (const m of r.methods) all.add(m);
    if (all.size === 0) return undefined;
    all.add('OPTIONS');
    return [...all].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  }

  /** The methods the server's routes take, for `OPTIONS *` (not every method a catch-all route answers 501). */
  any(): string[] {
    return [...this.#specific].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  }
}

const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

function rank(method: string): number {
  if (method === 'OPTIONS') return ORDER.length + 1;
  const i = ORDER.indexOf(method);
  return i < 0 ? ORDER.length : i;
}

/**
 * A Fastify path as a regular expression over a request path: `:param` is one segment (not empty: the router does
 * not match `/v2/models/m/versions/` as a version), `*` the rest; a trailing slash is taken, as the router takes it.
 */
function patternOf(path: string): RegExp {
  const source = path
    .split(/(:[A-Za-z0-9_]+|\*)/)
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}/?$`);
}

/** The scheme and authority of an absolute-form request target (`GET http://host:8000/v2/health/ready HTTP/1.1`). */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * The path of a request target without its empty segments (`//v2/health/ready`, `/v2/models/m/versions//ready`:
 * repeated slashes), or `undefined` when it has none. No route of the protocol has an empty segment, and neither
 * Triton nor KServe's server merges slashes: such a path is a 404 that names the path a client likely meant.
 */
export function withoutEmptySegments(url: string): string | undefined {
  const target = url.charCodeAt(0) === 0x2f ? url : url.replace(ABSOLUTE_FORM, '');
  const q = target.search(/[?#]/);
  const path = q < 0 ? target : target.slice(0, q);
  if (!path.includes('//')) return undefined;
  return path.replace(/\/{2,}/g, '/');
}
