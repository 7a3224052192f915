import { EparaError } from '@epara/core';
import { SERVER_PRESETS } from '../model/hardware.js';
import { SERVICE_CATALOG } from '../model/services.js';
import type { Scenario } from './scenario.js';

/**
 * Default co-location interference β: each of `n` batches sharing a device runs `1 + β(n − 1)` slower than
 * its fair time slice. 0.25 per co-runner is in the range reported for co-located DNN inference on one GPU.
 */
export const DEFAULT_INTERFERENCE = 0.25;

function fail(field: string, value: unknown, expected: string): never {
  throw new EparaError('INVALID_OPTIONS', `scenario.${field} must be ${expected}, got ${JSON.stringify(value)}`, { field: `scenario.${field}`, value: value as never, expected });
}

function positive(field: string, v: unknown, allowZero = false): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) fail(field, v, allowZero ? 'a finite number >= 0' : 'a finite number > 0');
}

/**
 * Validates a scenario (for instance one parsed from a JSON file) and throws on the first problem.
 *
 * @throws EparaError `INVALID_OPTIONS` with `details.field` naming the offending field, e.g.
 * `scenario.workload.requests[1].ratePerSec`.
 */
export function validateScenario(input: unknown): Scenario {
  if (typeof input !== 'object' || input === null) fail('', input, 'an object');
  const s = input as Scenario;
  positive('durationMs', s.durationMs);
  if (s.seed !== undefined && !Number.isInteger(s.seed)) fail('seed', s.seed, 'an integer');
  if (s.warmupMs !== undefined) positive('warmupMs', s.warmupMs, true);
  if (s.drainMs !== undefined) positive('drainMs', s.drainMs, true);
  if (typeof s.cluster !== 'object' || s.cluster === null || !Array.isArray(s.cluster.groups) || s.cluster.groups.length === 0) fail('cluster.groups', s.cluster?.groups, 'a non-empty array');
  s.cluster.groups.forEach((g, i) => {
    if (SERVER_PRESETS[g?.preset] === undefined) fail(`cluster.groups[${i}].preset`, g?.preset, `one of ${Object.keys(SERVER_PRESETS).join(', ')}`);
    if (!Number.isInteger(g.count) || g.count < 1) fail(`cluster.groups[${i}].count`, g.count, 'an integer >= 1');
    if (g.devicesPerServer !== undefined && (!Number.isInteger(g.devicesPerServer) || g.devicesPerServer < 1)) fail(`cluster.groups[${i}].devicesPerServer`, g.devicesPerServer, 'an integer >= 1');
  });
  if (s.cluster.zoneSize !== undefined && (!Number.isInteger(s.cluster.zoneSize) || s.cluster.zoneSize < 1)) fail('cluster.zoneSize', s.cluster.zoneSize, 'an integer >= 1');
  validateWorkload(s);
  if (s.interference !== undefined) positive('interference', s.interference, true);
  if (s.earlyWindowMs !== undefined) positive('earlyWindowMs', s.earlyWindowMs);
  validateNetwork(s);
  const kinds = ['epara', 'triton', 'centralized', 'ray-serve'];
  if (typeof s.system !== 'object' || s.system === null || !kinds.includes(s.system.kind)) fail('system.kind', s.system?.kind, `one of ${kinds.join(', ')}`);
  for (const [i, f] of (s.failures ?? []).entries()) {
    positive(`failures[${i}].atMs`, f.atMs, true);
    if (typeof f.server !== 'number' && typeof f.server !== 'string') fail(`failures[${i}].server`, f.server, 'a server index or id');
  }
  return s;
}

function validateWorkload(s: Scenario): void {
  const w = s.workload;
  if (typeof w !== 'object' || w === null) fail('workload', w, 'an object');
  const known = (field: string, id: unknown): void => {
    if (typeof id !== 'string' || SERVICE_CATALOG[id] === undefined) fail(field, id, `one of ${Object.keys(SERVICE_CATALOG).join(', ')}`);
  };
  (w.requests ?? []).forEach((r, i) => {
    known(`workload.requests[${i}].service`, r?.service);
    positive(`workload.requests[${i}].ratePerSec`, r.ratePerSec, true);
    const p = r.process;
    if (p === undefined || p.kind === 'poisson') return;
    if (p.kind === 'gamma') return positive(`workload.requests[${i}].process.cv`, p.cv);
    if (p.kind === 'diurnal') {
      positive(`workload.requests[${i}].process.periodMs`, p.periodMs);
      if (!(p.amplitude >= 0 && p.amplitude < 1)) fail(`workload.requests[${i}].process.amplitude`, p.amplitude, 'a number in [0, 1)');
      return;
    }
    if (p.kind === 'bursts') {
      positive(`workload.requests[${i}].process.periodMs`, p.periodMs);
      if (!(p.burstMs > 0 && p.burstMs < p.periodMs)) fail(`workload.requests[${i}].process.burstMs`, p.burstMs, 'a number in (0, periodMs)');
      if (!(p.factor >= 1 && Number.isFinite(p.factor))) fail(`workload.requests[${i}].process.factor`, p.factor, 'a finite number >= 1');
      return;
    }
    fail(`workload.requests[${i}].process.kind`, (p as { kind: unknown }).kind, "'poisson', 'gamma', 'diurnal' or 'bursts'");
  });
  (w.streams ?? []).forEach((r, i) => {
    known(`workload.streams[${i}].service`, r?.service);
    if (SERVICE_CATALOG[r.service]!.spec.slo.kind !== 'frequency') fail(`workload.streams[${i}].service`, r.service, 'a frequency service');
    positive(`workload.streams[${i}].concurrentStreams`, r.concurrentStreams, true);
  });
  (w.trace ?? []).forEach((r, i) => {
    known(`workload.trace[${i}].service`, r?.service);
    positive(`workload.trace[${i}].timeMs`, r.timeMs, true);
    if (r.promptTokens !== undefined && !(Number.isInteger(r.promptTokens) && r.promptTokens >= 0)) fail(`workload.trace[${i}].promptTokens`, r.promptTokens, 'an integer >= 0');
    if (r.outputTokens !== undefined && !(Number.isInteger(r.outputTokens) && r.outputTokens >= 0)) fail(`workload.trace[${i}].outputTokens`, r.outputTokens, 'an integer >= 0');
  });
  const o = w.origins;
  if (o !== undefined && o !== 'uniform' && o !== 'clients') {
    if (typeof o !== 'object' || o === null || o.kind !== 'zipf') fail('workload.origins', o, "'uniform', 'clients' or { kind: 'zipf', … }");
    if (o.exponent !== undefined) positive('workload.origins.exponent', o.exponent, true);
    if (o.shiftEveryMs !== undefined) positive('workload.origins.shiftEveryMs', o.shiftEveryMs);
    if (o.base !== undefined && o.base !== 'uniform' && o.base !== 'clients') fail('workload.origins.base', o.base, "'uniform' or 'clients'");
  }
}

function validateNetwork(s: Scenario): void {
  const n = s.network;
  if (n === undefined) return;
  if (typeof n !== 'object' || n === null) fail('network', n, 'an object');
  for (const k of ['sameSiteMs', 'sameSiteSpreadMs'] as const) if (n[k] !== undefined) positive(`network.${k}`, n[k], true);
  if (n.siteSize !== undefined && !(Number.isInteger(n.siteSize) && n.siteSize >= 1)) fail('network.siteSize', n.siteSize, 'an integer >= 1');
  for (const k of ['metroMs', 'crossZoneMs'] as const) {
    const r = n[k];
    if (r !== undefined && !(Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === 'number' && x >= 0) && r[0]! <= r[1]!)) fail(`network.${k}`, r, 'a range [min, max] of numbers >= 0');
  }
  if (n.contention !== undefined && typeof n.contention !== 'boolean') fail('network.contention', n.contention, 'a boolean');
}
