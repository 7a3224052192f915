import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '@epara/core';
import { createFaultInjector } from './sync-faults.js';
import type { FaultInjector } from './sync-faults.js';
import type { SyncToken, WireEntry } from './sync-types.js';
import { deadBefore, mergeToken, ringSuccessor, stampToken } from './token-ops.js';
import { ViewStore } from './view-store.js';

const state = { instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} };
const wire = (id: string, o: Partial<WireEntry> = {}): WireEntry => ({ serverId: id, epoch: 1, version: 1, ageMs: 0, alive: true, load: 0, freeMemoryBytes: 0, instances: [], arrivalRates: {}, ...o });
const token = (o: Partial<SyncToken> = {}): SyncToken => ({ origin: 'b', epoch: 1, round: 1, full: false, wantFull: false, entries: [], stubs: [], ...o });
const noFaults = createFaultInjector({}, createSeededRandom(1));

/** A store for `self` knowing `others` (alive unless listed in `dead`). */
function store(self: string, others: string[], dead: string[] = []): ViewStore {
  const s = new ViewStore(self, 1, 0, state);
  for (const id of others) s.applyEntry(wire(id), 0);
  for (const id of dead) s.markDead(id, 0);
  return s;
}

describe('mergeToken', () => {
  it('reports a change only when an entry was updated, and nothing missing when the sender is known', () => {
    const s = store('a', ['b']);
    expect(mergeToken(s, token({ entries: [wire('b')] }), 'b', 10, noFaults)).toEqual({ changed: false, missing: false });
    expect(mergeToken(s, token({ entries: [wire('b', { version: 2 }), wire('c')] }), 'b', 10, noFaults)).toEqual({ changed: true, missing: false });
  });

  it('misses content when asked for a full round, when a stub is newer, or when the sender is unknown', () => {
    const s = store('a', ['b']);
    expect(mergeToken(s, token({ wantFull: true }), 'b', 0, noFaults).missing).toBe(true);
    expect(mergeToken(s, token({ stubs: [{ serverId: 'b', epoch: 1, version: 3, ageMs: 0, alive: true }] }), 'b', 0, noFaults).missing).toBe(true);
    // a newer stub first, then a current one: still missing
    expect(mergeToken(s, token({ stubs: [{ serverId: 'b', epoch: 1, version: 3, ageMs: 0, alive: true }, { serverId: 'b', epoch: 1, version: 1, ageMs: 0, alive: true }] }), 'b', 0, noFaults).missing).toBe(true);
    expect(mergeToken(s, token(), 'zz', 0, noFaults).missing).toBe(true);
    // its own id as sender (the token came back) is not unknown
    expect(mergeToken(s, token(), 'a', 0, noFaults).missing).toBe(false);
  });

  it("perturbs peers' entries but never its own echo", () => {
    const seen: string[] = [];
    const spy: FaultInjector = { delayMs: 0, drop: () => false, perturb: (e) => (seen.push(e.serverId), e) };
    const s = store('a', []);
    mergeToken(s, token({ entries: [wire('a'), wire('b')] }), 'b', 0, spy);
    expect(seen).toEqual(['b']);
  });
});

describe('stampToken', () => {
  it('carries entries changed within deltaMs in full and the rest as stubs, or all in full when the token is full', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire('b'), 100);
    s.applyEntry(wire('c'), 400);
    const t = stampToken(s, token({ round: 7 }), 500, true, 100);
    expect(t).toMatchObject({ origin: 'b', round: 7, wantFull: true });
    expect(t.entries.map((e) => e.serverId)).toEqual(['c']);
    expect(t.stubs.map((e) => e.serverId)).toEqual(['a', 'b']);
    expect(t.stubs[1]).toEqual({ serverId: 'b', epoch: 1, version: 1, alive: true, ageMs: 400 });
    // changed exactly deltaMs ago still counts as recent
    expect(stampToken(s, token(), 500, false, 400).entries.map((e) => e.serverId)).toEqual(['b', 'c']);
    const full = stampToken(s, token({ full: true }), 500, false, 100);
    expect(full.entries.map((e) => e.serverId)).toEqual(['a', 'b', 'c']);
    expect(full.stubs).toEqual([]);
    expect(full.wantFull).toBe(false);
  });
});

describe('ringSuccessor and deadBefore', () => {
  it('the successor is the next alive id after this one, wrapping, skipping the given ids; none when alone', () => {
    expect(ringSuccessor(store('b', ['a', 'c', 'd']), new Set())).toBe('c');
    expect(ringSuccessor(store('d', ['a', 'c', 'b']), new Set())).toBe('a');
    expect(ringSuccessor(store('b', ['a', 'c', 'd']), new Set(['c']))).toBe('d');
    expect(ringSuccessor(store('b', ['a', 'c', 'd'], ['c']), new Set())).toBe('d');
    // skipping itself is impossible
    expect(ringSuccessor(store('b', ['c']), new Set(['b']))).toBe('c');
    expect(ringSuccessor(store('b', ['c']), new Set(['c']))).toBeUndefined();
    expect(ringSuccessor(store('b', []), new Set())).toBeUndefined();
  });

  it('lists the dead-marked servers strictly between this one and the next, in ring order, or all when there is no next', () => {
    const s = store('b', ['a', 'c', 'd', 'e'], ['c', 'd', 'a']);
    expect(deadBefore(s, 'e')).toEqual(['c', 'd']);
    expect(deadBefore(s, 'c')).toEqual([]);
    expect(deadBefore(s, undefined)).toEqual(['c', 'd', 'a']);
    expect(deadBefore(store('e', ['a', 'b'], ['a']), 'b')).toEqual(['a']);
  });
});
