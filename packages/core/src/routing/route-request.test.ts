import { describe, expect, it } from 'vitest';
import type { ClusterView, InstanceInfo, ServerEntry } from '../view/server-entry.js';
import { createView } from '../view/merge-view.js';
import { routeRequest } from './route-request.js';
import { DEFAULT_ROUTE_OPTIONS, resolveRouteOptions } from './route-options.js';

function inst(serviceId: string, extra: Partial<InstanceInfo> = {}): InstanceInfo {
  return { instanceId: `${serviceId}-1`, serviceId, status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 4, capacityPerSec: 100, loadPerSec: 50, waitMs: 10, runMs: 20, ...extra };
}

function server(serverId: string, instances: InstanceInfo[], extra: Partial<ServerEntry> = {}): ServerEntry {
  return { serverId, epoch: 1, version: 1, updatedAt: 1000, alive: true, instances, load: 0.5, freeMemoryBytes: 0, arrivalRates: {}, ...extra };
}

const now = 1000;
const view: ClusterView = createView([
  server('self', [inst('seg')]),
  server('p1', [inst('seg', { waitMs: 30 })]),
  server('p2', [inst('seg', { waitMs: 5 })], { load: 0.9 }),
  server('p3', [inst('seg', { waitMs: 5 })], { load: 0.1 }),
  server('dead', [inst('seg', { waitMs: 0 })], { alive: false }),
  server('loading', [inst('seg', { waitMs: 0, status: 'loading' })]),
  server('other', [inst('cls', { waitMs: 0 })]),
]);

describe('routeRequest', () => {
  it('queues locally when the exact local estimate meets the deadline', () => {
    const d = routeRequest({ request: { serviceId: 'seg', deadline: now + 100 }, local: { completionAt: now + 50, ready: true }, view, self: 'self', now });
    expect(d).toEqual({ action: 'local', estimateAt: now + 50 });
  });

  it('forwards to the earliest peer estimate, ties to lower load, skipping dead, loading and other services', () => {
    const d = routeRequest({ request: { serviceId: 'seg', deadline: now + 100 }, local: { completionAt: now + 200, ready: true }, view, self: 'self', now });
    expect(d.action).toBe('forward');
    if (d.action !== 'forward') return;
    // p2 and p3: 1 (hop) + 5 (wait) + 20 (run) + 1 (return) = 27 ms; p3 has the lower load
    expect(d.serverId).toBe('p3');
    expect(d.estimateAt).toBe(now + 27);
    expect(d.candidates.map((c) => c.serverId)).toEqual(['p3', 'p2', 'p1']);
    expect(d.next).toEqual({ hops: 1, visited: ['self'] });
  });

  it('uses a peer\'s reported nextRunMs (the batch a newcomer would join) instead of its full batch\'s runMs', () => {
    // A lightly loaded peer: its plan batch runs 58.5 ms, but a request arriving now would ride a batch of one (8.5 ms).
    const full = inst('seg', { waitMs: 0, runMs: 58.5, loadPerSec: 10 });
    const peers = (i: InstanceInfo): ClusterView => createView([server('self', []), server('p', [i])]);
    const req = { serviceId: 'seg', deadline: now + 40 };
    // 1 (hop) + 58.5 + 1 (return) misses now + 40 − guard: even an idle instance would be too late.
    expect(routeRequest({ request: req, local: undefined, view: peers(full), self: 'self', now })).toMatchObject({ action: 'reject', code: 'DEADLINE_INFEASIBLE' });
    // 1 + 8.5 + 1 meets it.
    expect(routeRequest({ request: req, local: undefined, view: peers({ ...full, nextRunMs: 8.5 }), self: 'self', now })).toMatchObject({ action: 'forward', serverId: 'p', estimateAt: now + 10.5 });
  });

  it('lengthens a peer\'s wait by the requests sent to it since its report, one item at its capacity each', () => {
    const req = { serviceId: 'seg', deadline: now + 100 };
    const local = { completionAt: now + 200, ready: true };
    // p2 and p3 both read 27 ms (ties to p3, the lower load); three requests already on their way to p3 that
    // its entry cannot show add 3 × 1000 / 100 = 30 ms: p2 (27) now beats p3 (57), and p1 (1 + 30 + 20 + 1 = 52).
    const d = routeRequest({ request: req, local, view, self: 'self', now, sentSinceReport: { p3: 3 } });
    expect(d).toMatchObject({ action: 'forward', serverId: 'p2', estimateAt: now + 27 });
    if (d.action !== 'forward') return;
    expect(d.candidates.map((c) => [c.serverId, c.estimateAt, c.inflatedWaitMs])).toEqual([
      ['p2', now + 27, 5],
      ['p1', now + 52, 30],
      ['p3', now + 57, 35],
    ]);
    // Enough sent everywhere and no peer meets the deadline: refused, though each would if idle.
    expect(routeRequest({ request: req, local, view, self: 'self', now, sentSinceReport: { p1: 5, p2: 8, p3: 8 } })).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
    // An instance that reports no capacity is read as reported.
    const zero = createView([server('self', []), server('p', [inst('seg', { waitMs: 5, capacityPerSec: 0 })])]);
    expect(routeRequest({ request: req, local: undefined, view: zero, self: 'self', now, sentSinceReport: { p: 9 } })).toMatchObject({ action: 'forward', estimateAt: now + 27 });
  });

  it('adds payload transfer and per-peer delay from the network model', () => {
    const d = routeRequest({
      request: { serviceId: 'seg', deadline: now + 100, payloadBytes: 1_000_000, responseBytes: 10_000 },
      local: undefined, view, self: 'self', now,
      network: { delayMs: { p3: 10 }, bandwidthBytesPerMs: { p3: 100_000, p2: 1_000_000 } },
    });
    // p2: 1 + 1 + 5 + 20 + 1 + 0.01 = 28.01; p3: 10 + 10 + 5 + 20 + 10 + 0.1 = 55.1
    expect(d).toMatchObject({ action: 'forward', serverId: 'p2' });
    if (d.action === 'forward') expect(d.estimateAt).toBeCloseTo(now + 28.01);
  });

  it('inflates a stale wait by age × (overload + stalenessFactor × utilization)', () => {
    const stale = createView([server('p1', [inst('seg', { waitMs: 5 })], { updatedAt: now - 40 }), server('p2', [inst('seg', { waitMs: 20 })])]);
    // p1: 5 + 40·0.5 = 25 ms wait → 47; p2: 20 → 42
    const d = routeRequest({ request: { serviceId: 'seg', deadline: now + 100 }, local: undefined, view: stale, self: 'self', now, options: { stalenessFactor: 1 } });
    expect(d).toMatchObject({ action: 'forward', serverId: 'p2' });
    // factor 0.1: p1 waits 5 + 40·0.05 = 7 ms and wins
    const hedged = routeRequest({ request: { serviceId: 'seg', deadline: now + 100 }, local: undefined, view: stale, self: 'self', now, options: { stalenessFactor: 0.1 } });
    expect(hedged).toMatchObject({ action: 'forward', serverId: 'p1' });
    if (hedged.action === 'forward') expect(hedged.candidates[0]!.inflatedWaitMs).toBeCloseTo(7);
    // the default (0) trusts an instance that keeps up: the reported 5 ms stands
    const byDefault = routeRequest({ request: { serviceId: 'seg', deadline: now + 100 }, local: undefined, view: stale, self: 'self', now });
    if (byDefault.action === 'forward') expect(byDefault.candidates[0]).toMatchObject({ serverId: 'p1', inflatedWaitMs: 5 });
    else throw new Error(`expected a forward, got ${byDefault.action}`);
    // an overloaded peer (ρ = 2) piles up age × (ρ − 1) of backlog on top
    const overloaded = createView([server('p1', [inst('seg', { waitMs: 5, loadPerSec: 200 })], { updatedAt: now - 40 })]);
    const o = routeRequest({ request: { serviceId: 'seg', deadline: now + 200 }, local: undefined, view: overloaded, self: 'self', now, options: { stalenessFactor: 0.1 } });
    if (o.action !== 'forward') throw new Error(`expected a forward, got ${o.action}`);
    expect(o.candidates[0]!.inflatedWaitMs).toBeCloseTo(5 + 40 * (1 + 0.2));
    // with the default factor 0 the overload backlog alone remains
    const o0 = routeRequest({ request: { serviceId: 'seg', deadline: now + 200 }, local: undefined, view: overloaded, self: 'self', now });
    if (o0.action !== 'forward') throw new Error(`expected a forward, got ${o0.action}`);
    expect(o0.candidates[0]!.inflatedWaitMs).toBeCloseTo(5 + 40 * 1);
    if (d.action === 'forward') expect(d.candidates[1]).toMatchObject({ serverId: 'p1', inflatedWaitMs: 25 });
    const trusting = routeRequest({ request: { serviceId: 'seg', deadline: now + 100 }, local: undefined, view: stale, self: 'self', now, options: { stalenessFactor: 0 } });
    expect(trusting).toMatchObject({ action: 'forward', serverId: 'p1' });
    const strict = routeRequest({ request: { serviceId: 'seg', deadline: now + 100 }, local: undefined, view: stale, self: 'self', now, options: { maxEntryAgeMs: 30 } });
    expect(strict).toMatchObject({ action: 'forward', candidates: [expect.objectContaining({ serverId: 'p2' })] });
  });

  it('never revisits a server and never forwards past the hop limit', () => {
    const d = routeRequest({ request: { serviceId: 'seg', deadline: now + 100, hops: 1, visited: ['p3', 'x'] }, local: undefined, view, self: 'self', now });
    expect(d).toMatchObject({ action: 'forward', serverId: 'p2', next: { hops: 2, visited: ['p3', 'x', 'self'] } });
    const limited = routeRequest({ request: { serviceId: 'seg', deadline: now + 100, hops: 2 }, local: { completionAt: now + 500, ready: true }, view, self: 'self', now });
    expect(limited).toMatchObject({ action: 'reject', code: 'HOP_LIMIT' });
  });

  it('rejects with NO_INSTANCE, DEADLINE_INFEASIBLE or OVERLOADED as the situation says', () => {
    expect(routeRequest({ request: { serviceId: 'ghost', deadline: now + 100 }, local: undefined, view, self: 'self', now })).toMatchObject({ action: 'reject', code: 'NO_INSTANCE' });
    // even an idle peer needs 22 ms and the local run takes 20 ms
    expect(routeRequest({ request: { serviceId: 'seg', deadline: now + 15 }, local: { completionAt: now + 30, ready: true }, view, self: 'self', now })).toMatchObject({ action: 'reject', code: 'DEADLINE_INFEASIBLE' });
    // idle instances would fit, but every queue is too long
    expect(routeRequest({ request: { serviceId: 'seg', deadline: now + 26 }, local: { completionAt: now + 40, ready: true }, view, self: 'self', now })).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
  });

  it('does not queue locally when the local instance is not ready', () => {
    const d = routeRequest({ request: { serviceId: 'cls', deadline: now + 100 }, local: { completionAt: now + 1, ready: false }, view, self: 'self', now });
    expect(d).toMatchObject({ action: 'forward', serverId: 'other' });
  });

  it('validates its input and options', () => {
    const base = { local: undefined, view, self: 'self', now };
    expect(() => routeRequest({ ...base, request: { serviceId: '', deadline: 1 } })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'request.serviceId' }) }));
    expect(() => routeRequest({ ...base, request: { serviceId: 's', deadline: 1, hops: -1 } })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'request.hops' }) }));
    expect(() => routeRequest({ ...base, now: Number.NaN, request: { serviceId: 's', deadline: 1 } })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'now' }) }));
    expect(() => resolveRouteOptions({ hopLimit: 1.5 })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'hopLimit' }) }));
    expect(() => resolveRouteOptions({ defaultBandwidthBytesPerMs: 0 })).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'defaultBandwidthBytesPerMs' }) }));
    expect(resolveRouteOptions({})).toMatchObject(DEFAULT_ROUTE_OPTIONS);
  });
});
