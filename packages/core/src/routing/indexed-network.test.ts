import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isEparaError } from '../errors/epara-error.js';
import type { InstanceInfo, ServerEntry } from '../view/server-entry.js';
import { createView } from '../view/merge-view.js';
import { listView, slotsOf } from '../view/entry-list.js';
import { indexedNetwork, indexedOf } from './indexed-network.js';
import { routeRequest, routeRequestInto } from './route-request.js';
import { RoutePlan } from './route-plan.js';
import type { NetworkModel } from './route-options.js';

/** Fixed seed: the suite is deterministic (set FC_SEED to explore other cases). */
const SEED = Number(process.env.FC_SEED ?? 20261205);

const ids = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'];

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isEparaError(e) ? e.code : 'not an EparaError';
  }
  return undefined;
}

describe('indexedNetwork', () => {
  it('holds each figure densely by slot and in records keyed by id', () => {
    const n = indexedNetwork({ ids: ['a', 'b', 'c'], delayMs: [0, 2.5, 7], bandwidthBytesPerMs: [Infinity, 125_000, 10] });
    expect(indexedOf(n)).toBe(n);
    expect([...n.figures]).toEqual([0, Infinity, 2.5, 125_000, 7, 10]);
    // Strictly: no key beyond the ids (a record a reader iterates over, as a server list).
    expect(n.delayMs).toStrictEqual({ a: 0, b: 2.5, c: 7 });
    expect(n.bandwidthBytesPerMs).toStrictEqual({ a: Infinity, b: 125_000, c: 10 });
    expect(indexedOf({ delayMs: { a: 1 } })).toBeUndefined();
    expect(indexedOf(undefined)).toBeUndefined();
  });

  it('copies its input', () => {
    const ids = ['a', 'b'];
    const delayMs = [1, 2];
    const n = indexedNetwork({ ids, delayMs, bandwidthBytesPerMs: [3, 4] });
    ids[0] = 'z';
    delayMs[0] = 9;
    expect([n.ids[0], n.figures[0], n.delayMs['a']]).toEqual(['a', 1, 1]);
    const frozen = Object.freeze(['a', 'b']);
    expect(indexedNetwork({ ids: frozen, delayMs, bandwidthBytesPerMs: [3, 4] }).ids).toBe(frozen);
  });

  it('rejects repeated or empty ids, arrays of another length and figures out of range', () => {
    const ok = { ids: ['a', 'b'], delayMs: [1, 2], bandwidthBytesPerMs: [3, 4] };
    expect(codeOf(() => indexedNetwork({ ...ok, ids: ['a', 'a'] }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => indexedNetwork({ ...ok, ids: ['a', ''] }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => indexedNetwork({ ...ok, ids: ['a', '__proto__'] }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => indexedNetwork({ ...ok, delayMs: [1] }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => indexedNetwork({ ...ok, bandwidthBytesPerMs: [1, 2, 3] }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => indexedNetwork({ ...ok, delayMs: [1, -1] }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => indexedNetwork({ ...ok, delayMs: [1, Number.NaN] }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => indexedNetwork({ ...ok, bandwidthBytesPerMs: [0, 4] }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => indexedNetwork(ok))).toBeUndefined();
  });

  it('names the field at fault, also for input that is not an array or not there at all', () => {
    const ok = { ids: ['a', 'b'], delayMs: [1, 2], bandwidthBytesPerMs: [3, 4] };
    const fieldOf = (init: unknown): unknown => {
      try {
        indexedNetwork(init as Parameters<typeof indexedNetwork>[0]);
      } catch (e) {
        return isEparaError(e) ? [e.code, (e.details as { field?: unknown } | undefined)?.field] : e;
      }
      return undefined;
    };
    // A string has a length and string items, as an id list would: it is still not one.
    expect(fieldOf({ ...ok, ids: 'ab' })).toEqual(['INVALID_OPTIONS', 'ids']);
    expect(fieldOf({ ...ok, ids: { length: 2, 0: 'a', 1: 'b' } })).toEqual(['INVALID_OPTIONS', 'ids']);
    expect(fieldOf({ ...ok, ids: ['a', 5] })).toEqual(['INVALID_OPTIONS', 'ids[1]']);
    expect(fieldOf({ ...ok, ids: ['a', 'a'] })).toEqual(['INVALID_OPTIONS', 'ids[1]']);
    expect(fieldOf({ ids: ok.ids, bandwidthBytesPerMs: ok.bandwidthBytesPerMs })).toEqual(['INVALID_OPTIONS', 'delayMs']);
    expect(fieldOf({ ...ok, delayMs: [1] })).toEqual(['INVALID_OPTIONS', 'delayMs']);
    expect(fieldOf({ ids: ok.ids, delayMs: ok.delayMs })).toEqual(['INVALID_OPTIONS', 'bandwidthBytesPerMs']);
    expect(fieldOf({ ...ok, bandwidthBytesPerMs: [3] })).toEqual(['INVALID_OPTIONS', 'bandwidthBytesPerMs']);
    expect(fieldOf({ ...ok, delayMs: [1, -1] })).toEqual(['INVALID_OPTIONS', 'delayMs[1]']);
    expect(fieldOf({ ...ok, delayMs: [1, '2'] })).toEqual(['INVALID_OPTIONS', 'delayMs[1]']);
    expect(fieldOf({ ...ok, bandwidthBytesPerMs: [3, 0] })).toEqual(['INVALID_OPTIONS', 'bandwidthBytesPerMs[1]']);
    expect(fieldOf({ ...ok, bandwidthBytesPerMs: [3, '4'] })).toEqual(['INVALID_OPTIONS', 'bandwidthBytesPerMs[1]']);
  });

  it('listView keeps the slots it was given and rejects slots of another length', () => {
    const entry = (serverId: string): ServerEntry => ({ serverId, epoch: 1, version: 1, updatedAt: 0, alive: true, instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} });
    const slots = [4, 1];
    expect(slotsOf(listView([entry('a'), entry('b')], slots))).toBe(slots);
    expect(slotsOf(listView([entry('a')]))).toBeUndefined();
    expect(slotsOf(createView([entry('a')]))).toBeUndefined();
    expect(codeOf(() => listView([entry('a')], [0, 1]))).toBe('INVALID_OPTIONS');
  });
});

const instanceArb: fc.Arbitrary<InstanceInfo> = fc.record({
  instanceId: fc.constantFrom('i1', 'i2'),
  serviceId: fc.constantFrom('a', 'b'),
  status: fc.constantFrom('loading', 'ready', 'draining'),
  requestStrategy: fc.constant('batching'),
  serviceStrategy: fc.constant('single'),
  batchSize: fc.integer({ min: 1, max: 8 }),
  capacityPerSec: fc.double({ min: 0, max: 200, noNaN: true }),
  loadPerSec: fc.double({ min: 0, max: 200, noNaN: true }),
  waitMs: fc.double({ min: 0, max: 30, noNaN: true }),
  runMs: fc.double({ min: 0.1, max: 20, noNaN: true }),
});
const entryArb = (serverId: string): fc.Arbitrary<ServerEntry> =>
  fc.record({
    serverId: fc.constant(serverId),
    epoch: fc.constant(1),
    version: fc.constant(1),
    updatedAt: fc.integer({ min: 900, max: 1000 }),
    alive: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    instances: fc.array(instanceArb, { minLength: 1, maxLength: 3 }),
    load: fc.constantFrom(0, 0.5, 1),
    freeMemoryBytes: fc.constant(0),
    arrivalRates: fc.constant({}),
  });

/** A topology: the network's servers (a shuffled subset of ids) with figures, and a view's entries in another order. */
const topologyArb = fc
  .record({
    netIds: fc.shuffledSubarray(ids, { minLength: 0 }),
    viewIds: fc.shuffledSubarray(ids, { minLength: 0 }),
  })
  .chain(({ netIds, viewIds }) =>
    fc.record({
      netIds: fc.constant(netIds),
      delays: fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 40, noNaN: true })), { minLength: netIds.length, maxLength: netIds.length }),
      bandwidths: fc.array(fc.oneof(fc.constant(Infinity), fc.double({ min: 1, max: 200_000, noNaN: true })), { minLength: netIds.length, maxLength: netIds.length }),
      entries: fc.tuple(...viewIds.map(entryArb)),
      // Per entry: its true slot (most often), a wrong one, or none.
      hints: fc.array(fc.oneof({ weight: 6, arbitrary: fc.constant('true' as const) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 9 }) }), { minLength: viewIds.length, maxLength: viewIds.length }),
    }),
  );

describe('routing on an indexed network', () => {
  const entry = (serverId: string): ServerEntry => ({
    serverId, epoch: 1, version: 1, updatedAt: 1000, alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {},
    instances: [{ instanceId: 'i', serviceId: 'a', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 0, waitMs: 0, runMs: 10 }],
  });
  const route = (view: ReturnType<typeof listView>, network: NetworkModel): number => {
    const d = routeRequest({ request: { serviceId: 'a', deadline: 2000 }, local: undefined, view, self: 'x', now: 1000, network });
    return d.action === 'forward' ? d.estimateAt : Number.NaN;
  };

  it('reads a peer at its slot when the model holds that peer there, by id otherwise', () => {
    const network = indexedNetwork({ ids: ['p', 'q'], delayMs: [5, 7], bandwidthBytesPerMs: [Infinity, Infinity] });
    // Only the dense figures change: a decision that moves with them was read by slot.
    network.figures[2] = 2;
    expect(route(listView([entry('q')], [1]), network)).toBe(1000 + 2 + 10 + 2);
    expect(route(listView([entry('q')]), network)).toBe(1000 + 7 + 10 + 7);
    expect(route(listView([entry('q')], [0]), network)).toBe(1000 + 7 + 10 + 7);
    expect(route(listView([entry('q')], [9]), network)).toBe(1000 + 7 + 10 + 7);
    expect(route(listView([entry('r')], [1]), network)).toBe(1000 + 1 + 10 + 1);
  });

  it('reads the first slot by slot too, and a view\'s slots with a plain network by id', () => {
    const network = indexedNetwork({ ids: ['p', 'q'], delayMs: [5, 7], bandwidthBytesPerMs: [Infinity, Infinity] });
    network.figures[0] = 3;
    expect(route(listView([entry('p')], [0]), network)).toBe(1000 + 3 + 10 + 3);
    // Slots index an indexed model only: with records alone they are not read.
    expect(route(listView([entry('q')], [1]), { delayMs: { q: 4 } })).toBe(1000 + 4 + 10 + 4);
  });
});

describe('routing on an indexed network (property)', () => {
  it('decides exactly as on the same figures in plain records, whatever slots the view gives', () => {
    const plan = new RoutePlan();
    fc.assert(
      fc.property(
        topologyArb,
        fc.constantFrom(...ids),
        fc.subarray(ids, { maxLength: 2 }),
        fc.option(fc.record({ completionAt: fc.double({ min: 1000, max: 1100, noNaN: true }), ready: fc.boolean() }), { nil: undefined }),
        fc.double({ min: 1000, max: 1100, noNaN: true }),
        fc.record({ payloadBytes: fc.integer({ min: 0, max: 1e6 }), responseBytes: fc.integer({ min: 0, max: 1e5 }) }),
        fc.boolean(),
        ({ netIds, delays, bandwidths, entries, hints }, self, visited, local, deadline, bytes, includeReturnHop) => {
          const indexed = indexedNetwork({ ids: netIds, delayMs: delays, bandwidthBytesPerMs: bandwidths });
          const plain: NetworkModel = {
            delayMs: Object.fromEntries(netIds.map((id, i) => [id, delays[i]!])),
            bandwidthBytesPerMs: Object.fromEntries(netIds.map((id, i) => [id, bandwidths[i]!])),
          };
          const slots = entries.map((e, i) => (hints[i] === 'true' ? netIds.indexOf(e.serverId) : (hints[i] as number)));
          const now = 1000;
          const request = { serviceId: 'a', deadline, hops: 0, visited, ...bytes };
          const options = { maxCandidates: 3, includeReturnHop, defaultDelayMs: 3, defaultBandwidthBytesPerMs: 1000 };
          const want = routeRequest({ request, local, view: createView(entries), self, now, network: plain, options });
          const input = { request, local, view: listView(entries, slots), self, now, network: indexed, options };
          expect(routeRequest(input)).toEqual(want);
          routeRequestInto(input, plan);
          expect(plan.action).toBe(want.action);
          if (want.action === 'forward') expect([plan.serverId, plan.estimateAt]).toEqual([want.serverId, want.estimateAt]);
          return true;
        },
      ),
      { numRuns: 1000, seed: SEED },
    );
  });
});
