import type { ServerResponse } from 'node:http';
import type { HttpHandler } from '../gateway-options.js';

/** What the handler needs of a prom-client `Registry`. */
interface MetricsRegistry {
  readonly contentType: string;
  metrics(): Promise<string>;
}

const ALLOW = 'GET, HEAD, OPTIONS';

/**
 * The Prometheus exposition at `path` as a gateway HTTP handler: `GET` answers the registry's text, `HEAD` the
 * same head without the body (what `curl -I` and load balancers' health checks send), `OPTIONS` a 204 with
 * `Allow`, and another method a 405 in the protocol's error form; every other path is left to the next handler.
 */
export function metricsHandler(registry: MetricsRegistry, path: string): HttpHandler {
  return (req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== path) return false;
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      res.writeHead(204, { allow: ALLOW }).end();
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      sendJson(res, 405, { error: `${method} is not allowed on ${path} (allowed: ${ALLOW})`, code: 'METHOD_NOT_ALLOWED' }, { allow: ALLOW });
      return true;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(method === 'HEAD' ? undefined : text);
      },
      () => sendJson(res, 500, { error: 'the metrics could not be collected', code: 'INTERNAL' }),
    );
    return true;
  };
}

function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
