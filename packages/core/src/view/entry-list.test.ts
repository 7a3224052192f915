import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ServerEntry } from './server-entry.js';
import { createView, mergeView } from './merge-view.js';
import { entriesOf, listView } from './entry-list.js';
import { routeRequest } from '../routing/route-request.js';

const SEED = Number(process.env.FC_SEED ?? 20251204);

function entry(serverId: string, version: number): ServerEntry {
  return { serverId, epoch: 0, version, updatedAt: 0, alive: true, instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} };
}

/** What routing read before the entry array was carried by the view: a for…in walk of the record. */
function walk(entries: Readonly<Record<string, ServerEntry>>): ServerEntry[] {
  const out: ServerEntry[] = [];
  for (const id in entries) out.push(entries[id]!);
  return out;
}

describe('entriesOf', () => {
  it('returns exactly the for…in order of the record for any ids (integer-like, duplicates, prototype names)', () => {
    const ids = fc.constantFrom('s1', 's2', 'edge-a', '7', '10', '0x1', '__proto__', 'constructor', 'toString', '2b');
    fc.assert(
      fc.property(fc.array(fc.tuple(ids, fc.integer({ min: 0, max: 3 })), { maxLength: 12 }), (pairs) => {
        const view = createView(pairs.map(([id, v]) => entry(id, v)));
        expect(entriesOf(view)).toEqual(walk(view.entries));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('keeps the carried array out of the record: keys, JSON, spread and merges see only the entries', () => {
    const view = createView([entry('a', 1), entry('b', 2)]);
    expect(Object.keys(view.entries)).toEqual(['a', 'b']);
    expect(JSON.parse(JSON.stringify(view))).toEqual({ entries: { a: entry('a', 1), b: entry('b', 2) } });
    const merged = mergeView(view, createView([entry('c', 1)]));
    expect(entriesOf(merged).map((e) => e.serverId)).toEqual(['a', 'b', 'c']);
    expect(entriesOf({ entries: { ...view.entries } })).toEqual(entriesOf(view));
  });

  it('is not affected by later changes to the array the view was built from', () => {
    const list = [entry('a', 1), entry('b', 1)];
    const view = createView(list);
    list.pop();
    expect(entriesOf(view).map((e) => e.serverId)).toEqual(['a', 'b']);
  });

  it('skips holes of a sparse array as createView always did', () => {
    const sparse: ServerEntry[] = [];
    sparse[2] = entry('z', 1);
    const view = createView(sparse);
    expect(entriesOf(view)).toEqual([entry('z', 1)]);
  });
});

describe('listView', () => {
  it('reads as createView of the same distinct entries: record, entry order, spread and JSON', () => {
    const ids = fc.constantFrom('s1', 's2', 'edge-a', '7', '10', '__proto__', 'constructor', '2b', 'b', 'a');
    fc.assert(
      fc.property(fc.uniqueArray(ids, { maxLength: 8 }), (unique) => {
        const list = unique.map((id, i) => entry(id, i));
        const lazy = listView(list);
        const eager = createView(list);
        expect(entriesOf(lazy)).toEqual(walk(eager.entries));
        expect(walk(lazy.entries)).toEqual(walk(eager.entries));
        expect(entriesOf({ entries: lazy.entries })).toEqual(walk(eager.entries));
        expect(JSON.stringify(lazy)).toBe(JSON.stringify(eager));
        expect(walk({ ...lazy }.entries)).toEqual(walk(eager.entries));
        expect(Object.keys(lazy)).toEqual(Object.keys(eager));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('routes exactly as the eager view (a forward, and a reject that reads the record)', () => {
    const inst = (waitMs: number) => ({ instanceId: 'i', serviceId: 'svc', status: 'ready' as const, requestStrategy: 'batching' as const, serviceStrategy: 'single' as const, batchSize: 1, capacityPerSec: 10, loadPerSec: 5, waitMs, runMs: 5 });
    const list: ServerEntry[] = ['s1', 's2', 's3'].map((id, i) => ({ ...entry(id, 1), instances: [inst(10 * i)] }));
    for (const deadline of [100, 1]) {
      const req = { request: { serviceId: 'svc', deadline }, local: undefined, self: 's1', now: 0 };
      const d = routeRequest({ ...req, view: listView(list) });
      expect(d.action).toBe(deadline === 100 ? 'forward' : 'reject');
      expect(d).toEqual(routeRequest({ ...req, view: createView(list) }));
    }
  });
});
