import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ClusterView, ServerEntry } from './server-entry.js';
import { compareEntries, createView, entryAge, markDead, mergeEntry, mergeView, upsertEntry } from './merge-view.js';
import { applyDelta, versionVector, viewDelta } from './view-delta.js';

/** Fixed seed: the suite is deterministic (set FC_SEED to explore other cases). */
const SEED = Number(process.env.FC_SEED ?? 20251126);

function entry(serverId: string, epoch: number, version: number, extra: Partial<ServerEntry> = {}): ServerEntry {
  return { serverId, epoch, version, updatedAt: 100, alive: true, instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {}, ...extra };
}

const entryArb: fc.Arbitrary<ServerEntry> = fc.record({
  serverId: fc.constantFrom('a', 'b', 'c'),
  epoch: fc.integer({ min: 0, max: 2 }),
  version: fc.integer({ min: 0, max: 3 }),
  updatedAt: fc.integer({ min: 0, max: 3 }),
  alive: fc.boolean(),
  instances: fc.constant([]),
  load: fc.constantFrom(0, 0.5),
  freeMemoryBytes: fc.constantFrom(0, 1),
  arrivalRates: fc.constantFrom<Record<string, number>>({}, { s: 1 }),
});
const viewArb: fc.Arbitrary<ClusterView> = fc.array(entryArb, { maxLength: 5 }).map((es) => createView(es));

/** Entries as servers really write them: one content per (server, epoch, version); only a dead mark differs. */
const writtenEntryArb: fc.Arbitrary<ServerEntry> = fc
  .record({ serverId: fc.constantFrom('a', 'b', 'c'), epoch: fc.integer({ min: 0, max: 2 }), version: fc.integer({ min: 0, max: 3 }), alive: fc.boolean() })
  .map(({ serverId, epoch, version, alive }) => entry(serverId, epoch, version, { alive, updatedAt: epoch * 10 + version, load: version / 4 }));
const writtenViewArb: fc.Arbitrary<ClusterView> = fc.array(writtenEntryArb, { maxLength: 5 }).map((es) => createView(es));

describe('mergeView', () => {
  it('keeps per server the higher (epoch, version)', () => {
    const a = createView([entry('x', 1, 5), entry('y', 2, 1)]);
    const b = createView([entry('x', 1, 6), entry('y', 1, 9), entry('z', 0, 0)]);
    const m = mergeView(a, b);
    expect(m.entries['x']!.version).toBe(6);
    expect(m.entries['y']!.epoch).toBe(2);
    expect(Object.keys(m.entries).sort()).toEqual(['x', 'y', 'z']);
  });

  it('returns the first view itself when the second adds nothing', () => {
    const a = createView([entry('x', 1, 5)]);
    expect(mergeView(a, createView([entry('x', 1, 4)]))).toBe(a);
  });

  it('a dead mark wins at the same version, loses to the next write and to a new epoch', () => {
    const v = createView([entry('x', 1, 5)]);
    const dead = markDead(v, 'x');
    expect(dead.entries['x']!.alive).toBe(false);
    expect(mergeView(v, dead).entries['x']!.alive).toBe(false);
    expect(mergeView(dead, createView([entry('x', 1, 6)])).entries['x']!.alive).toBe(true);
    expect(mergeView(dead, createView([entry('x', 2, 0)])).entries['x']!.alive).toBe(true);
    expect(markDead(dead, 'x')).toBe(dead);
    expect(markDead(v, 'unknown')).toBe(v);
  });

  it('is commutative, associative and idempotent (property)', () => {
    fc.assert(
      fc.property(viewArb, viewArb, viewArb, (a, b, c) => {
        expect(mergeView(a, b)).toEqual(mergeView(b, a));
        expect(mergeView(mergeView(a, b), c)).toEqual(mergeView(a, mergeView(b, c)));
        expect(mergeView(a, a)).toEqual(a);
        expect(mergeView(mergeView(a, b), b)).toEqual(mergeView(a, b));
        return true;
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it('compareEntries is a total order consistent with mergeEntry (property)', () => {
    fc.assert(
      fc.property(entryArb, entryArb, (x, y) => {
        const xy = compareEntries(x, y);
        expect(Math.sign(xy) + Math.sign(compareEntries(y, x))).toBe(0);
        if (xy === 0) expect(x).toEqual(y);
        expect(mergeEntry(x, y)).toEqual(mergeEntry(y, x));
        return true;
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});

describe('view helpers', () => {
  it('createView merges duplicate servers and validates entries', () => {
    const v = createView([entry('x', 0, 1), entry('x', 0, 3), entry('x', 0, 2)]);
    expect(v.entries['x']!.version).toBe(3);
    expect(() => createView([entry('', 0, 0)])).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'entries[0].serverId' }) }));
    expect(() => createView([entry('x', 0, 1.5)])).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: 'entries[0].version' }) }));
  });

  it('upsertEntry replaces only with a newer entry', () => {
    const v = createView([entry('x', 0, 2)]);
    expect(upsertEntry(v, entry('x', 0, 1))).toBe(v);
    expect(upsertEntry(v, entry('x', 0, 3)).entries['x']!.version).toBe(3);
  });

  it('entryAge is now − updatedAt, never negative', () => {
    expect(entryAge(entry('x', 0, 0, { updatedAt: 100 }), 250)).toBe(150);
    expect(entryAge(entry('x', 0, 0, { updatedAt: 100 }), 50)).toBe(0);
  });

  it('viewDelta sends exactly what the peer lacks; applying it catches the peer up (property)', () => {
    fc.assert(
      fc.property(writtenViewArb, writtenViewArb, (mine, theirs) => {
        const delta = viewDelta(mine, versionVector(theirs));
        const caughtUp = applyDelta(theirs, delta);
        expect(caughtUp).toEqual(mergeView(theirs, mine));
        for (const e of delta) {
          const known = theirs.entries[e.serverId];
          expect(known === undefined || compareEntries(e, known) > 0).toBe(true);
        }
        return true;
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});
