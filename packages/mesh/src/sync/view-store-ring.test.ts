import { describe, expect, it } from 'vitest';
import { ViewStore } from './view-store.js';
import type { WireEntry } from './sync-types.js';

/*
 * The ring order and the ids a round reads several times are kept until membership changes (ring sync tells
 * "nothing changed" by identity), and a copy that loses a merge is told apart before an entry is built for it.
 */

const state = { instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} };
const wire = (o: Partial<WireEntry>): WireEntry => ({ serverId: 'b', epoch: 1, version: 1, ageMs: 0, alive: true, load: 0, freeMemoryBytes: 0, instances: [], arrivalRates: {}, ...o });

describe('ViewStore: the ring order between membership changes', () => {
  it('hands out the same sorted ring until a server joins, dies, comes back or is forgotten', () => {
    const s = new ViewStore('b', 1, 0, state, undefined, { retentionMs: 100, maxDead: 10 });
    const alone = s.aliveRing();
    expect(alone).toEqual(['b']);
    s.applyEntry(wire({ serverId: 'c' }), 0);
    const two = s.aliveRing();
    expect(two).not.toBe(alone);
    expect(two).toEqual(['b', 'c']);
    // New content, a fresher age, this server's own write: the same members, the same array.
    expect(s.applyEntry(wire({ serverId: 'c', version: 2, load: 0.5 }), 1)).toBe('updated');
    expect(s.applyStub({ serverId: 'c', epoch: 1, version: 2, ageMs: 0, alive: true }, 2)).toBe('refreshed');
    s.writeSelf({ ...state, load: 0.2 }, 3);
    expect(s.aliveRing()).toBe(two);
    s.applyEntry(wire({ serverId: 'a' }), 4);
    expect(s.aliveRing()).toEqual(['a', 'b', 'c']);
    expect(s.sortedIds()).toEqual(['a', 'b', 'c']);
    const three = s.aliveRing();
    s.markDead('a', 5);
    expect(s.aliveRing()).toEqual(['b', 'c']);
    // A dead entry is still held: the sorted ids do not change until it is forgotten.
    const ids = s.sortedIds();
    expect(ids).toEqual(['a', 'b', 'c']);
    expect(s.forgetDead(200)).toEqual(['a']);
    expect(s.sortedIds()).toEqual(['b', 'c']);
    expect(s.sortedIds()).not.toBe(ids);
    expect(s.aliveRing()).not.toBe(three);
  });

  it('aliveIds stays a copy the caller may change', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire({}), 0);
    const ids = s.aliveIds();
    ids.push('z');
    expect(s.aliveIds()).toEqual(['a', 'b']);
    expect(s.aliveRing()).toEqual(['a', 'b']);
  });

  it('a losing copy is ignored as before, and still teaches the run of an entry that came without one', () => {
    const s = new ViewStore('a', 1, 1_000, state);
    // First by a path without runs (a join through a seed), then the same version with its run, older.
    expect(s.applyEntry(wire({ ageMs: 0 }), 1_000)).toBe('updated');
    expect(s.applyEntry(wire({ ageMs: 50, run: { epoch: 1, instance: 7 } }), 1_000)).toBe('ignored');
    expect(s.toWire('b', 1_000)?.run).toEqual({ epoch: 1, instance: 7 });
    // An older version or a live copy of a dead-marked entry loses, whatever it carries.
    expect(s.applyEntry(wire({ version: 2, load: 0.7 }), 1_001)).toBe('updated');
    expect(s.applyEntry(wire({ version: 1, load: 0.9 }), 1_002)).toBe('ignored');
    s.markDead('b', 1_003);
    expect(s.applyEntry(wire({ version: 2, load: 0.9, ageMs: 0 }), 1_004)).toBe('ignored');
    expect(s.get('b')).toMatchObject({ alive: false, load: 0.7 });
  });
});
