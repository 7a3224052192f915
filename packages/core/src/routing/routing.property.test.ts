import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { InstanceInfo, ServerEntry } from '../view/server-entry.js';
import { createView } from '../view/merge-view.js';
import { inflateWait, routeRequest, routeRequestInto } from './route-request.js';
import { RoutePlan } from './route-plan.js';
import { DEFAULT_ROUTE_OPTIONS } from './route-options.js';
import type { RouteCandidate } from './route-request.js';
import { admitStream } from './admit-stream.js';

/** Fixed seed: the suite is deterministic (set FC_SEED to explore other cases). */
const SEED = Number(process.env.FC_SEED ?? 20251126);

const ids = ['s0', 's1', 's2', 's3', 's4', 's5'];
const instanceArb: fc.Arbitrary<InstanceInfo> = fc.record({
  instanceId: fc.constantFrom('i1', 'i2'),
  serviceId: fc.constantFrom('a', 'b'),
  status: fc.constantFrom('loading', 'ready', 'draining'),
  requestStrategy: fc.constant('batching'),
  serviceStrategy: fc.constant('single'),
  batchSize: fc.integer({ min: 1, max: 8 }),
  capacityPerSec: fc.double({ min: 0, max: 200, noNaN: true }),
  loadPerSec: fc.double({ min: 0, max: 200, noNaN: true }),
  waitMs: fc.double({ min: 0, max: 100, noNaN: true }),
  runMs: fc.double({ min: 0.1, max: 50, noNaN: true }),
});
const entryArb = (serverId: string): fc.Arbitrary<ServerEntry> =>
  fc.record({
    serverId: fc.constant(serverId),
    epoch: fc.constant(1),
    version: fc.constant(1),
    updatedAt: fc.integer({ min: 0, max: 1000 }),
    alive: fc.boolean(),
    instances: fc.array(instanceArb, { maxLength: 3 }),
    load: fc.double({ min: 0, max: 1, noNaN: true }),
    freeMemoryBytes: fc.constant(0),
    arrivalRates: fc.constant({}),
  });
const viewArb = fc.subarray(ids, { minLength: 0 }).chain((present) => fc.tuple(...present.map(entryArb))).map((entries) => createView(entries));

describe('routing decisions (property)', () => {
  it('routeRequest never forwards to a visited, dead, non-hosting or self server, never past the hop limit, never queues a local miss', () => {
    fc.assert(
      fc.property(
        viewArb,
        fc.constantFrom(...ids),
        fc.subarray(ids),
        fc.integer({ min: 0, max: 3 }),
        fc.option(fc.record({ completionAt: fc.double({ min: 1000, max: 1200, noNaN: true }), ready: fc.boolean() }), { nil: undefined }),
        fc.double({ min: 1000, max: 1200, noNaN: true }),
        fc.integer({ min: 0, max: 3 }),
        (view, self, visited, hops, local, deadline, hopLimit) => {
          const now = 1000;
          const d = routeRequest({ request: { serviceId: 'a', deadline, hops, visited }, local, view, self, now, options: { hopLimit } });
          const latest = deadline - 1;
          if (d.action === 'local') {
            expect(local?.ready).toBe(true);
            expect(local!.completionAt).toBeLessThanOrEqual(latest);
          } else if (d.action === 'forward') {
            expect(hops).toBeLessThan(hopLimit);
            expect(d.serverId).not.toBe(self);
            expect(visited).not.toContain(d.serverId);
            const target = view.entries[d.serverId]!;
            expect(target.alive).toBe(true);
            expect(target.instances.some((i) => i.serviceId === 'a' && i.status === 'ready')).toBe(true);
            expect(d.estimateAt).toBeLessThanOrEqual(latest);
            expect(d.next.hops).toBe(hops + 1);
            expect(d.next.visited).toContain(self);
            for (const c of d.candidates) expect(visited.includes(c.serverId) || c.serverId === self).toBe(false);
          } else if (local !== undefined && local.ready && local.completionAt <= latest) {
            throw new Error('rejected a request the local estimate says fits');
          }
          return true;
        },
      ),
      { numRuns: 500, seed: SEED },
    );
  });

  it('admitStream pins only to ready instances with spare rate, never to visited/dead/self peers or past the hop limit', () => {
    fc.assert(
      fc.property(viewArb, fc.constantFrom(...ids), fc.subarray(ids), fc.integer({ min: 0, max: 3 }), fc.array(instanceArb, { maxLength: 3 }), fc.double({ min: 1, max: 100, noNaN: true }), (view, self, visited, hops, localInstances, rateHz) => {
        const d = admitStream({ stream: { serviceId: 'a', rateHz, hops, visited }, localInstances, view, self, now: 1000 });
        const room = (i: InstanceInfo): boolean => i.serviceId === 'a' && i.status === 'ready' && i.capacityPerSec - i.loadPerSec >= rateHz + 0.05 * i.capacityPerSec;
        if (d.action === 'local') expect(localInstances.some((i) => i.instanceId === d.instanceId && room(i))).toBe(true);
        else if (d.action === 'forward') {
          expect(localInstances.some(room)).toBe(false);
          expect(hops).toBeLessThan(2);
          expect(d.serverId).not.toBe(self);
          expect(visited).not.toContain(d.serverId);
          const target = view.entries[d.serverId]!;
          expect(target.alive).toBe(true);
          expect(target.instances.some((i) => i.instanceId === d.instanceId && room(i))).toBe(true);
        } else expect(localInstances.some(room)).toBe(false);
        return true;
      }),
      { numRuns: 500, seed: SEED },
    );
  });
});

describe('routing short list and caller-owned plan (property)', () => {
  /** Few distinct figures, so that estimates and loads tie often (the order's tie-breakers). */
  const coarseInstanceArb: fc.Arbitrary<InstanceInfo> = fc.record({
    instanceId: fc.constantFrom('i1', 'i2'),
    serviceId: fc.constantFrom('a', 'b'),
    status: fc.constantFrom('loading', 'ready'),
    requestStrategy: fc.constant('batching'),
    serviceStrategy: fc.constant('single'),
    batchSize: fc.constant(1),
    capacityPerSec: fc.constant(100),
    loadPerSec: fc.constant(0),
    waitMs: fc.constantFrom(0, 5, 10),
    runMs: fc.constantFrom(1, 2),
  });
  const coarseViewArb = fc
    .subarray(ids, { minLength: 0 })
    .chain((present) =>
      fc.tuple(
        ...present.map((serverId) =>
          fc.record({
            serverId: fc.constant(serverId),
            epoch: fc.constant(1),
            version: fc.constant(1),
            updatedAt: fc.constant(1000),
            alive: fc.constant(true),
            instances: fc.array(coarseInstanceArb, { maxLength: 3 }),
            load: fc.constantFrom(0, 0.5),
            freeMemoryBytes: fc.constant(0),
            arrivalRates: fc.constant({}),
          }),
        ),
      ),
    )
    .map((entries) => createView(entries));
  const order = (a: RouteCandidate, b: RouteCandidate): number =>
    a.estimateAt !== b.estimateAt ? a.estimateAt - b.estimateAt : a.load !== b.load ? a.load - b.load : a.serverId < b.serverId ? -1 : a.serverId > b.serverId ? 1 : 0;

  /** Every feasible peer's best instance (a later one of equal rank replaces an earlier one), best first, at most `max`. */
  function reference(view: ReturnType<typeof createView>, self: string, visited: readonly string[], now: number, latest: number, max: number): RouteCandidate[] {
    const o = DEFAULT_ROUTE_OPTIONS;
    const best = new Map<string, RouteCandidate>();
    for (const entry of Object.values(view.entries)) {
      const age = now - entry.updatedAt;
      if (!entry.alive || age > o.maxEntryAgeMs || entry.serverId === self || visited.includes(entry.serverId)) continue;
      for (const inst of entry.instances) {
        if (inst.serviceId !== 'a' || inst.status !== 'ready') continue;
        const travel = 2 * o.defaultDelayMs;
        const inflatedWaitMs = inflateWait(inst, Math.max(0, age), o);
        const estimateAt = now + travel + inflatedWaitMs + (inst.nextRunMs ?? inst.runMs);
        if (estimateAt > latest) continue;
        const c = { serverId: entry.serverId, instanceId: inst.instanceId, estimateAt, inflatedWaitMs, load: entry.load };
        const had = best.get(entry.serverId);
        if (had === undefined || order(had, c) >= 0) best.set(entry.serverId, c);
      }
    }
    return [...best.values()].sort(order).slice(0, max);
  }

  it('forwards to the best feasible peers in order (one per peer), and routeRequestInto decides as routeRequest', () => {
    const plan = new RoutePlan();
    fc.assert(
      fc.property(
        fc.oneof(viewArb, coarseViewArb),
        fc.constantFrom(...ids),
        fc.subarray(ids),
        fc.integer({ min: 0, max: 2 }),
        fc.option(fc.record({ completionAt: fc.double({ min: 1000, max: 1200, noNaN: true }), ready: fc.boolean() }), { nil: undefined }),
        fc.double({ min: 1000, max: 1200, noNaN: true }),
        fc.integer({ min: 1, max: 3 }),
        (view, self, visited, hops, local, deadline, maxCandidates) => {
          const now = 1000;
          const input = { request: { serviceId: 'a', deadline, hops, visited }, local, view, self, now, options: { hopLimit: 2, maxCandidates } };
          const d = routeRequest(input);
          const into = routeRequestInto(input, plan);
          expect(into).toBe(plan);
          expect(plan.action).toBe(d.action);
          if (d.action === 'forward') {
            expect(d.candidates).toEqual(reference(view, self, visited, now, deadline - 1, maxCandidates));
            expect([plan.serverId, plan.estimateAt, plan.code]).toEqual([d.serverId, d.estimateAt, undefined]);
          } else if (d.action === 'local') {
            expect([plan.serverId, plan.estimateAt, plan.code]).toEqual([self, d.estimateAt, undefined]);
          } else {
            expect([plan.serverId, plan.estimateAt, plan.code]).toEqual(['', Number.NaN, d.code]);
          }
          return true;
        },
      ),
      { numRuns: 800, seed: SEED },
    );
  });
});
