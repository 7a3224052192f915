/**
 * `@epara/dashboard`: a live page of an EPARA cluster as one node sees it — nodes and their health, devices
 * and instances, per-service and per-category rates, goodput, SLO attainment, latency and drops, offload
 * flows and placement changes — pushed over server-sent events every second. Self-contained (uPlot is
 * bundled into the package; nothing is fetched from the internet), read-only, behind a token or basic auth.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { mountDashboard } from '@epara/dashboard';
 * const server = createServer();
 * mountDashboard(server, { node, auth: { token: process.env.DASHBOARD_TOKEN! } });
 * server.listen(8080); // http://127.0.0.1:8080/dashboard?token=…
 * ```
 *
 * @packageDocumentation
 */

export { createDashboard } from './create-dashboard.js';
export type { Dashboard } from './create-dashboard.js';
export { mountDashboard } from './mount-dashboard.js';
export { resolveDashboardOptions, DASHBOARD_DEFAULTS } from './dashboard-options.js';
export type { DashboardOptions, DashboardAuth, DashboardNode, ResolvedDashboardOptions } from './dashboard-options.js';
export type {
  TickMessage,
  HistoryMessage,
  NodeRow,
  NodeHealth,
  DeviceRow,
  InstanceRow,
  FlowCell,
  PlacementRow,
  SeriesPoint,
  SeriesInfo,
  MetricValues,
} from './collect/snapshot-types.js';
