import { describe, expect, it } from 'vitest';
import type { EntryRun } from '../protocol/view-codec.js';
import { compareMesh, INCARNATION_STEP, ViewStore } from './view-store.js';
import type { WireEntry } from './sync-types.js';

/*
 * The store's own entry coming back (a dead mark, an older echo, a newer run of this id), the ids it lists once one
 * is added, copies that tie on every stamp, and the run a losing copy may teach.
 */

const state = { instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} };
const wire = (o: Partial<WireEntry>): WireEntry => ({ serverId: 'b', epoch: 1, version: 1, ageMs: 0, alive: true, ...state, ...o });
const mine: EntryRun = { epoch: 10, instance: 1 };

describe('ViewStore: its own entry echoed back', () => {
  it('a dead mark of its incarnation is outbid by its next incarnation, past the later of the two versions', () => {
    const s = new ViewStore('a', 1, 0, state);
    expect(s.applyEntry(wire({ serverId: 'a', version: 1, alive: false }), 5)).toBe('updated');
    expect(s.self).toMatchObject({ alive: true, version: INCARNATION_STEP, updatedAt: 5 });
    // A dead mark of a later incarnation than this store holds (a previous life's refute, then its death): past it.
    const t = new ViewStore('a', 1, 0, state);
    expect(t.applyEntry(wire({ serverId: 'a', version: INCARNATION_STEP + 3, alive: false }), 5)).toBe('updated');
    expect(t.self).toMatchObject({ alive: true, version: 2 * INCARNATION_STEP });
  });

  it('a dead mark of an older epoch (a previous run) changes nothing', () => {
    const s = new ViewStore('a', 2, 0, state);
    expect(s.applyEntry(wire({ serverId: 'a', epoch: 1, version: 1, alive: false }), 5)).toBe('ignored');
    expect(s.self).toMatchObject({ epoch: 2, version: 1, alive: true, updatedAt: 0 });
  });

  it('an older live echo of its own entry changes nothing', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.writeSelf({ ...state, load: 1 }, 1);
    s.writeSelf({ ...state, load: 2 }, 2);
    expect(s.self.version).toBe(3);
    expect(s.applyEntry(wire({ serverId: 'a', version: 2 }), 3)).toBe('ignored');
    expect(s.self).toMatchObject({ version: 3, alive: true, load: 2 });
  });

  it('a dead entry of a newer epoch from another instance does not replace this run: it jumps past it', () => {
    const s = new ViewStore('a', 10, 0, state, mine);
    expect(s.applyEntry(wire({ serverId: 'a', epoch: 12, alive: false, run: { epoch: 12, instance: 2 } }), 5)).toBe('updated');
    expect(s.replacedBy).toBeUndefined();
    expect(s.self).toMatchObject({ epoch: 13, version: 1, alive: true });
  });

  it('a live entry of a larger epoch whose run is not newer than this one does not replace it', () => {
    const s = new ViewStore('a', 10, 0, state, mine);
    // Another instance, announced under a larger entry epoch, but of a run that started at the same epoch as this one.
    expect(s.applyEntry(wire({ serverId: 'a', epoch: 11, run: { epoch: 10, instance: 2 } }), 5)).toBe('updated');
    expect(s.replacedBy).toBeUndefined();
    expect(s.self.epoch).toBe(12);
    // A newer run does.
    // Nor does a newer run announced under an epoch not above this store's own entry's: the announced epoch decides.
    const u = new ViewStore('a', 10, 0, state, mine);
    expect(u.applyEntry(wire({ serverId: 'a', epoch: 10, run: { epoch: 11, instance: 2 } }), 5)).toBe('ignored');
    expect(u.replacedBy).toBeUndefined();
    u.applyEntry(wire({ serverId: 'a', epoch: 12, alive: false, run: { epoch: 12, instance: 3 } }), 6);
    expect(u.self.epoch).toBe(13);
    expect(u.applyEntry(wire({ serverId: 'a', epoch: 11, run: { epoch: 11, instance: 2 } }), 7)).toBe('ignored');
    expect(u.replacedBy).toBeUndefined();
    const t = new ViewStore('a', 10, 0, state, mine);
    const newer = { epoch: 11, instance: 2 };
    expect(t.applyEntry(wire({ serverId: 'a', epoch: 11, run: newer }), 5)).toBe('ignored');
    expect(t.replacedBy).toEqual(newer);
  });
});

describe('ViewStore: ids, ties and runs', () => {
  it('lists an id added after the sorted ids were read', () => {
    const s = new ViewStore('b', 1, 0, state);
    expect(s.sortedIds()).toEqual(['b']);
    s.applyEntry(wire({ serverId: 'a' }), 1);
    expect(s.sortedIds()).toEqual(['a', 'b']);
  });

  it('forgets nothing, and says so, while nobody is dead', () => {
    const s = new ViewStore('a', 1, 0, state, undefined, { retentionMs: 0, maxDead: 0 });
    s.applyEntry(wire({ serverId: 'b' }), 1);
    expect(s.forgetDead(1000)).toEqual([]);
  });

  it('two copies that tie on every stamp converge on the same content whatever the order they arrive in', () => {
    const low = wire({ load: 1 });
    const high = wire({ load: 2 });
    const one = new ViewStore('a', 1, 0, state);
    one.applyEntry(low, 7);
    one.applyEntry(high, 7);
    const other = new ViewStore('a', 1, 0, state);
    other.applyEntry(high, 7);
    other.applyEntry(low, 7);
    expect(one.get('b')).toEqual(other.get('b'));
  });

  it('a losing copy does not overwrite the run known for the entry', () => {
    const s = new ViewStore('a', 1, 0, state);
    const run = { epoch: 1, instance: 7 };
    s.applyEntry(wire({ version: 2, run }), 1);
    expect(s.applyEntry(wire({ version: 1 }), 2)).toBe('ignored');
    expect(s.applyEntry(wire({ version: 1, run: { epoch: 1, instance: 8 } }), 2)).toBe('ignored');
    expect(s.runOf('b')).toEqual(run);
  });
});

describe('compareMesh', () => {
  it('within an epoch and an incarnation the dead entry wins, whichever side it is on', () => {
    const alive = { serverId: 'b', epoch: 1, version: 5, updatedAt: 9, alive: true, ...state };
    const dead = { ...alive, version: 2, updatedAt: 1, alive: false };
    expect(compareMesh(alive, dead)).toBeLessThan(0);
    expect(compareMesh(dead, alive)).toBeGreaterThan(0);
  });
});
