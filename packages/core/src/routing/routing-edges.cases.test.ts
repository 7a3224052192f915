import { describe, expect, it } from 'vitest';
import { isEparaError } from '../errors/epara-error.js';
import type { InstanceInfo, ServerEntry } from '../view/server-entry.js';
import { createView, mergeEntry, mergeView, compareEntries, upsertEntry } from '../view/merge-view.js';
import { admitStream } from './admit-stream.js';
import { routeRequest } from './route-request.js';
import { invalidField } from '../testing/invalid-field.js';

function inst(instanceId: string, capacityPerSec: number, loadPerSec: number, extra: Partial<InstanceInfo> = {}): InstanceInfo {
  return { instanceId, serviceId: 'video', status: 'ready', requestStrategy: 'multi-frame', serviceStrategy: 'single', batchSize: 4, capacityPerSec, loadPerSec, waitMs: 0, runMs: 40, ...extra };
}
function server(serverId: string, instances: InstanceInfo[], extra: Partial<ServerEntry> = {}): ServerEntry {
  return { serverId, epoch: 1, version: 1, updatedAt: 0, alive: true, instances, load: 0.5, freeMemoryBytes: 0, arrivalRates: {}, ...extra };
}
const empty = createView([]);

describe('admitStream, local instances', () => {
  it('picks the local instance with the most spare rate wherever it stands in the list', () => {
    const d = admitStream({ stream: { serviceId: 'video', rateHz: 10 }, localInstances: [inst('a', 100, 50), inst('b', 100, 20), inst('c', 100, 70)], view: empty, self: 'me', now: 0 });
    expect(d).toEqual({ action: 'local', instanceId: 'b', spareRatePerSec: 80 });
  });

  it('counts a full local instance as an instance: OVERLOADED, not NO_INSTANCE', () => {
    const d = admitStream({ stream: { serviceId: 'video', rateHz: 10 }, localInstances: [inst('a', 100, 95)], view: empty, self: 'me', now: 0 });
    expect(d).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
  });

  it('names a missing instance list instead of failing on it', () => {
    try {
      admitStream({ stream: { serviceId: 'video', rateHz: 10 }, localInstances: undefined as never, view: empty, self: 'me', now: 0 });
      expect.unreachable();
    } catch (e) {
      expect(isEparaError(e) && e.code === 'INVALID_OPTIONS' && e.details['field']).toBe('localInstances');
    }
  });
});

describe('routeRequest, the local estimate', () => {
  it('queues locally when the estimate lands exactly at deadline − guard', () => {
    const d = routeRequest({ request: { serviceId: 'video', deadline: 100 }, local: { completionAt: 99, ready: true }, view: empty, self: 'me', now: 0 });
    expect(d).toEqual({ action: 'local', estimateAt: 99 });
  });
});

describe('compareEntries at equal epoch and version', () => {
  it('the later updatedAt wins by number, not by the text of the entry (9 before 10)', () => {
    const e9 = server('s', [], { updatedAt: 9 });
    const e10 = server('s', [], { updatedAt: 10 });
    expect(compareEntries(e10, e9)).toBeGreaterThan(0);
    expect(compareEntries(e9, e10)).toBeLessThan(0);
    expect(mergeEntry(e9, e10)).toBe(e10);
    expect(mergeEntry(e10, e9)).toBe(e10);
  });
});

describe('compareEntries on content alone', () => {
  it('picks the same winner in either order when only the content differs (a total order)', () => {
    const a = server('s', [], { load: 0.1, updatedAt: 5 });
    const b = server('s', [], { load: 0.2, updatedAt: 5 });
    expect(mergeEntry(a, b)).toBe(mergeEntry(b, a));
    expect(Math.sign(compareEntries(a, b))).toBe(-Math.sign(compareEntries(b, a)));
    expect(compareEntries(a, b)).not.toBe(0);
    expect(compareEntries(a, { ...a })).toBe(0);
  });
});

describe('admitStream ties between peers', () => {
  it('with equal round trips and spare rates, forwards to the lower server id whatever the view order', () => {
    for (const order of [['b', 'a'], ['a', 'b']]) {
      const view = createView(order.map((id) => server(id, [inst(`${id}1`, 100, 50)])));
      const d = admitStream({ stream: { serviceId: 'video', rateHz: 10 }, localInstances: [], view, self: 'me', now: 0 });
      expect(d).toMatchObject({ action: 'forward', serverId: 'a' });
      if (d.action === 'forward') expect(d.candidates.map((c) => c.serverId)).toEqual(['a', 'b']);
    }
  });
});

describe('validation names the part', () => {

  it('a stream that is not an object, and entries with a bad epoch or version', () => {
    expect(invalidField(() => admitStream({ stream: null as never, localInstances: [], view: empty, self: 'me', now: 0 }))).toBe('stream');
    const bad = (change: Record<string, unknown>): unknown => invalidField(() => admitStream({ stream: { serviceId: 'video', rateHz: 10, ...change } as never, localInstances: [], view: empty, self: 'me', now: 0 }));
    expect(bad({ serviceId: '' })).toBe('stream.serviceId');
    expect(bad({ rateHz: Number.POSITIVE_INFINITY })).toBe('stream.rateHz');
    expect(bad({ stalenessMs: 0 })).toBe('stream.stalenessMs');
    expect(bad({ frameBytes: -1 })).toBe('stream.frameBytes');
    expect(bad({ frameBytes: '5' })).toBe('stream.frameBytes');
    expect(invalidField(() => routeRequest({ request: { serviceId: 'video', deadline: 10 }, local: undefined, view: empty, self: 'me', now: 0, options: 5 as never }))).toBe('options');
    expect(bad({ hops: 0.5 })).toBe('stream.hops');
    expect(bad({ visited: 'a' })).toBe('stream.visited');
    expect(bad({ stalenessMs: 1, frameBytes: 0, hops: 0, visited: [] })).toBeUndefined();
    expect(invalidField(() => createView([server('s', [], { epoch: -1 })]))).toBe('entries[0].epoch');
    expect(invalidField(() => createView([server('s', []), server('t', [], { version: 1.5 })]))).toBe('entries[1].version');
    expect(invalidField(() => upsertEntry(empty, null as never))).toBe('entry');
    expect(invalidField(() => upsertEntry(empty, server('', [])))).toBe('entry.serverId');
  });
});

describe('mergeEntry of equal entries', () => {
  it('keeps the first one itself', () => {
    const a = server('s', [], { updatedAt: 5 });
    const copy = { ...a };
    expect(mergeEntry(a, copy)).toBe(a);
    expect(mergeEntry(copy, a)).toBe(copy);
  });
});

describe('mergeView with nothing new', () => {
  it('returns the first view itself when the second holds only equal entries', () => {
    const a = createView([server('s', [], { updatedAt: 5 }), server('t', [])]);
    const b = createView([{ ...a.entries['s']! }]);
    expect(mergeView(a, b)).toBe(a);
  });
});

describe('admitStream and the age of peer entries', () => {
  it('considers a peer whose entry is exactly maxEntryAgeMs old, not one a millisecond older', () => {
    const view = createView([server('p', [inst('p1', 100, 0)], { updatedAt: 0 })]);
    const ask = (now: number) => admitStream({ stream: { serviceId: 'video', rateHz: 10 }, localInstances: [], view, self: 'me', now, options: { maxEntryAgeMs: 100 } });
    expect(ask(100)).toMatchObject({ action: 'forward', serverId: 'p' });
    expect(ask(101)).toMatchObject({ action: 'reject', code: 'NO_INSTANCE' });
  });
});

describe('routeRequest candidate lists', () => {
  const peer = (id: string, waits: number[], load = 0.5): ServerEntry => server(id, waits.map((w, k) => inst(`${id}${k}`, 100, 50, { serviceId: 'video', waitMs: w, runMs: 10 })), { load });
  const ask = (view: ReturnType<typeof createView>) => routeRequest({ request: { serviceId: 'video', deadline: 1000 }, local: undefined, view, self: 'me', now: 0, options: { includeReturnHop: false, defaultDelayMs: 0 } });

  it('keeps one entry per peer, its best instance, when a later instance of a listed peer is better', () => {
    const d = ask(createView([peer('q', [20]), peer('r', [30]), peer('p', [10, 5])]));
    expect(d.action).toBe('forward');
    if (d.action === 'forward') expect(d.candidates.map((c) => c.instanceId)).toEqual(['p1', 'q0', 'r0']);
  });

  it('lists the best maxCandidates of more feasible peers, ties to lower load, then lower id', () => {
    const d = ask(createView([peer('e', [50]), peer('d', [10], 0.9), peer('c', [40]), peer('b', [10], 0.2), peer('a', [10], 0.9), peer('f', [5, 60])]));
    expect(d.action).toBe('forward');
    if (d.action === 'forward') expect(d.candidates.map((c) => c.instanceId)).toEqual(['f0', 'b0', 'a0']);
  });
});

describe('routeRequest reject codes with a ready local instance', () => {
  it('says OVERLOADED when the local instance would meet the deadline idle though its estimate misses, with no entry of its own in the view', () => {
    const d = routeRequest({ request: { serviceId: 'video', deadline: 100 }, local: { completionAt: 150, ready: true }, view: empty, self: 'me', now: 0 });
    expect(d).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
  });

  it('says DEADLINE_INFEASIBLE when its own reported run alone would miss, and OVERLOADED when it would not', () => {
    const own = (runMs: number) => createView([server('me', [inst('m0', 100, 50, { runMs })])]);
    expect(routeRequest({ request: { serviceId: 'video', deadline: 100 }, local: { completionAt: 150, ready: true }, view: own(120), self: 'me', now: 0 })).toMatchObject({ code: 'DEADLINE_INFEASIBLE' });
    expect(routeRequest({ request: { serviceId: 'video', deadline: 100 }, local: { completionAt: 150, ready: true }, view: own(99), self: 'me', now: 0 })).toMatchObject({ code: 'OVERLOADED' });
  });
});

describe('more option and entry fields', () => {
  const route = (options: Record<string, unknown>) => () => routeRequest({ request: { serviceId: 'video', deadline: 10 }, local: undefined, view: empty, self: 'me', now: 0, options });

  it('names each malformed part of a request', () => {
    const req = (request: unknown) => () => routeRequest({ request: request as never, local: undefined, view: empty, self: 'me', now: 0 });
    expect(invalidField(req(null))).toBe('request');
    expect(invalidField(req({ serviceId: 'video', deadline: Number.NaN }))).toBe('request.deadline');
    expect(invalidField(req({ serviceId: 'video', deadline: 10, visited: 'a' }))).toBe('request.visited');
    expect(invalidField(req({ serviceId: 'video', deadline: 10, payloadBytes: -1 }))).toBe('request.payloadBytes');
    expect(invalidField(req({ serviceId: 'video', deadline: 10, responseBytes: Number.POSITIVE_INFINITY }))).toBe('request.responseBytes');
  });

  it('names each route option out of range', () => {
    expect(invalidField(route({ maxEntryAgeMs: 0 }))).toBe('maxEntryAgeMs');
    expect(invalidField(route({ maxCandidates: 0 }))).toBe('maxCandidates');
    expect(invalidField(route({ includeReturnHop: 'yes' }))).toBe('includeReturnHop');
    expect(invalidField(route({ spareMarginFraction: 1 }))).toBe('spareMarginFraction');
    expect(invalidField(route({ spareMarginFraction: -0.1 }))).toBe('spareMarginFraction');
    expect(invalidField(route({ spareMarginFraction: 0, maxEntryAgeMs: Number.POSITIVE_INFINITY, maxCandidates: 1 }))).toBeUndefined();
  });

  it('rejects an entry list holding undefined (a hole is skipped)', () => {
    expect(invalidField(() => createView([undefined as never]))).toBe('entries[0]');
    const holey = [server('a', []), , server('b', [])] as ServerEntry[];
    expect(Object.keys(createView(holey).entries).sort()).toEqual(['a', 'b']);
  });
});

describe('stream staleness at the edge', () => {
  it('admits a peer whose round trip and run end exactly at staleness − guard', () => {
    // Default delay 1 ms each way, run 40 ms: 42 ms; guard 1 ms.
    const view = createView([server('p', [inst('p1', 100, 0)])]);
    const ask = (stalenessMs: number) => admitStream({ stream: { serviceId: 'video', rateHz: 10, stalenessMs }, localInstances: [], view, self: 'me', now: 0 });
    expect(ask(43)).toMatchObject({ action: 'forward', serverId: 'p' });
    expect(ask(42.9)).toMatchObject({ action: 'reject', code: 'DEADLINE_INFEASIBLE' });
  });
});

describe('routeRequest OVERLOADED from peers alone', () => {
  it('says OVERLOADED, not DEADLINE_INFEASIBLE, when an idle peer would fit but its wait makes it miss', () => {
    const view = createView([server('p', [inst('p1', 100, 50, { waitMs: 500, runMs: 10 })])]);
    expect(routeRequest({ request: { serviceId: 'video', deadline: 100 }, local: undefined, view, self: 'me', now: 0 })).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
  });
});

describe('routeRequest: a full candidate list and a newcomer tied with its last', () => {
  const peer = (id: string, wait: number, load: number): ServerEntry => server(id, [inst(`${id}0`, 100, 50, { serviceId: 'video', waitMs: wait, runMs: 10 })], { load });
  const ask = (entries: ServerEntry[]) => {
    const d = routeRequest({ request: { serviceId: 'video', deadline: 1000 }, local: undefined, view: createView(entries), self: 'me', now: 0, options: { includeReturnHop: false, defaultDelayMs: 0, maxCandidates: 2 } });
    return d.action === 'forward' ? d.candidates.map((c) => c.serverId) : d;
  };

  it('enters on a lower load, then on a lower id at equal load, and stays out otherwise', () => {
    expect(ask([peer('x', 10, 0.5), peer('y', 20, 0.5), peer('z', 20, 0.4)])).toEqual(['x', 'z']);
    expect(ask([peer('x', 10, 0.5), peer('y', 20, 0.5), peer('z', 20, 0.6)])).toEqual(['x', 'y']);
    expect(ask([peer('x', 10, 0.5), peer('y', 20, 0.5), peer('b', 20, 0.5)])).toEqual(['x', 'b']);
    expect(ask([peer('x', 10, 0.5), peer('b', 20, 0.5), peer('y', 20, 0.5)])).toEqual(['x', 'b']);
    expect(ask([peer('x', 10, 0.5), peer('y', 20, 0.5), peer('w', 19, 0.9)])).toEqual(['x', 'w']);
    expect(ask([peer('x', 10, 0.5), peer('y', 20, 0.5), peer('w', 21, 0.1)])).toEqual(['x', 'y']);
  });
});

describe('edges of room, age and idle fit', () => {
  it('admits a stream onto exactly the spare rate the margin leaves', () => {
    // 100/s capacity, 45/s load: 55 spare = 50 + 5 % of 100.
    expect(admitStream({ stream: { serviceId: 'video', rateHz: 50 }, localInstances: [inst('a', 100, 45)], view: empty, self: 'me', now: 0 })).toMatchObject({ action: 'local', instanceId: 'a' });
    expect(admitStream({ stream: { serviceId: 'video', rateHz: 50.5 }, localInstances: [inst('a', 100, 45)], view: empty, self: 'me', now: 0 })).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
  });

  it('lists at most maxCandidates peers for a stream', () => {
    const view = createView(['a', 'b', 'c', 'd'].map((id) => server(id, [inst(`${id}1`, 100, 0)])));
    const d = admitStream({ stream: { serviceId: 'video', rateHz: 10 }, localInstances: [], view, self: 'me', now: 0, options: { maxCandidates: 2 } });
    expect(d.action === 'forward' && d.candidates.map((c) => c.serverId)).toEqual(['a', 'b']);
  });

  it('routes to a peer whose entry is exactly maxEntryAgeMs old', () => {
    const view = createView([server('p', [inst('p1', 100, 50, { waitMs: 0, runMs: 10 })], { updatedAt: 0 })]);
    const ask = (now: number) => routeRequest({ request: { serviceId: 'video', deadline: now + 100 }, local: undefined, view, self: 'me', now, options: { maxEntryAgeMs: 100 } });
    expect(ask(100)).toMatchObject({ action: 'forward', serverId: 'p' });
    expect(ask(101)).toMatchObject({ action: 'reject', code: 'NO_INSTANCE' });
  });

  it('counts a peer as fitting when idle it would end exactly at deadline − guard', () => {
    // Travel 1 + 1 ms, run 97 ms: 99 = 100 − 1. Its wait makes it miss: OVERLOADED, not DEADLINE_INFEASIBLE.
    const view = createView([server('p', [inst('p1', 100, 50, { waitMs: 500, runMs: 97 })])]);
    expect(routeRequest({ request: { serviceId: 'video', deadline: 100 }, local: undefined, view, self: 'me', now: 0 })).toMatchObject({ code: 'OVERLOADED' });
    const slower = createView([server('p', [inst('p1', 100, 50, { waitMs: 500, runMs: 97.5 })])]);
    expect(routeRequest({ request: { serviceId: 'video', deadline: 100 }, local: undefined, view: slower, self: 'me', now: 0 })).toMatchObject({ code: 'DEADLINE_INFEASIBLE' });
  });
});
