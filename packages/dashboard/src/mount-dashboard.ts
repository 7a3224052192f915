import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { invalidOption } from '@epara/core';
import { createDashboard } from './create-dashboard.js';
import type { Dashboard } from './create-dashboard.js';
import type { DashboardOptions } from './dashboard-options.js';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serves a node's dashboard on a host's own `node:http` (or `node:https`) server in one call: requests under
 * the prefix go to the dashboard, every other request to the server's existing `request` listeners,
 * unchanged. Attach your own handler before mounting (or call `dashboard.handle` from it instead). `close()`
 * restores the server's listeners; the host still owns the server (listen, close).
 *
 * @throws EparaError `INVALID_OPTIONS` as {@link createDashboard}, and when `server` is not an http server.
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { mountDashboard } from '@epara/dashboard';
 * const server = createServer((req, res) => res.writeHead(404).end());
 * const dashboard = mountDashboard(server, { node, auth: { username: 'ops', password: process.env.DASHBOARD_PASSWORD! } });
 * server.listen(8080);
 * ```
 */
export function mountDashboard(server: Server, options: DashboardOptions): Dashboard {
  if (typeof server !== 'object' || server === null || typeof server.listeners !== 'function' || typeof server.on !== 'function') {
    invalidOption('server', server, 'a node:http Server');
  }
  const dashboard = createDashboard(options);
  const previous = server.listeners('request') as RequestListener[];
  const listener: RequestListener = (req, res) => {
    if (dashboard.handle(req, res)) return;
    if (previous.length === 0) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    for (const l of previous) l.call(server, req, res);
  };
  server.removeAllListeners('request');
  server.on('request', listener);
  return {
    get prefix() {
      return dashboard.prefix;
    },
    get clients() {
      return dashboard.clients;
    },
    handle: (req, res) => dashboard.handle(req, res),
    close: () => {
      dashboard.close();
      if (!server.listeners('request').includes(listener)) return;
      server.off('request', listener);
      for (const l of previous) server.on('request', l);
    },
  };
}
