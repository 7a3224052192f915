import { describe, expect, it } from 'vitest';
import { INCARNATION_STEP, ViewStore } from './view-store.js';
import type { EntryStub, WireEntry } from './sync-types.js';

const state = { instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} };
const wire = (o: Partial<WireEntry>): WireEntry => ({ serverId: 'b', epoch: 1, version: 1, ageMs: 0, alive: true, load: 0, freeMemoryBytes: 0, instances: [], arrivalRates: {}, ...o });
const stub = (o: Partial<EntryStub>): EntryStub => ({ serverId: 'b', epoch: 1, version: 1, ageMs: 0, alive: true, ...o });

describe('ViewStore merge rules', () => {
  it('starts with its own entry at version 1, alive, stamped now', () => {
    const s = new ViewStore('a', 3, 50, { ...state, load: 0.2 });
    expect(s.self).toEqual({ serverId: 'a', epoch: 3, version: 1, updatedAt: 50, alive: true, ...state, load: 0.2 });
    expect(s.ids()).toEqual(['a']);
    expect(s.changedSince('a', 50)).toBe(true);
    expect(s.changedSince('a', 51)).toBe(false);
    expect(s.changedSince('zz', 0)).toBe(false);
  });

  it('an equal version with a fresher age only refreshes: the time moves, the change time does not', () => {
    const s = new ViewStore('a', 1, 0, state);
    expect(s.applyEntry(wire({ ageMs: 0 }), 100)).toBe('updated');
    expect(s.applyEntry(wire({ ageMs: 0 }), 200)).toBe('refreshed');
    expect(s.get('b')!.updatedAt).toBe(200);
    expect(s.changedSince('b', 100)).toBe(true);
    expect(s.changedSince('b', 101)).toBe(false);
    // the same copy again (not fresher) is ignored
    expect(s.applyEntry(wire({ ageMs: 0 }), 200)).toBe('ignored');
    // a negative age counts as 0
    expect(s.applyEntry(wire({ ageMs: -500 }), 300)).toBe('refreshed');
    expect(s.get('b')!.updatedAt).toBe(300);
  });

  it("a full entry that kills a live one at the same version is an update (it changes the entry's stamp)", () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire({}), 0);
    expect(s.applyEntry(wire({ alive: false }), 10)).toBe('updated');
    expect(s.get('b')!.alive).toBe(false);
    expect(s.changedSince('b', 10)).toBe(true);
    expect(s.aliveIds()).toEqual(['a']);
  });

  it('stubs: older ignored, same-stamp fresher refreshes, a dead stub kills a live entry, a live stub never revives a dead one', () => {
    const s = new ViewStore('a', 2, 0, state);
    s.applyEntry(wire({ epoch: 2, version: 3, ageMs: 0 }), 100);
    expect(s.applyStub(stub({ epoch: 1, version: 9 }), 200)).toBe('ignored');
    expect(s.applyStub(stub({ epoch: 2, version: 2 }), 200)).toBe('ignored');
    expect(s.applyStub(stub({ epoch: 3, version: 1 }), 200)).toBe('missing');
    expect(s.applyStub(stub({ serverId: 'c' }), 200)).toBe('missing');
    // same stamp, age 150 at 200 → seen at 50, older than the 100 held: ignored
    expect(s.applyStub(stub({ epoch: 2, version: 3, ageMs: 150 }), 200)).toBe('ignored');
    expect(s.get('b')!.updatedAt).toBe(100);
    // age 100 at 200 → 100, not newer: ignored; age 99 → 101: refreshed
    expect(s.applyStub(stub({ epoch: 2, version: 3, ageMs: 100 }), 200)).toBe('ignored');
    expect(s.applyStub(stub({ epoch: 2, version: 3, ageMs: 99 }), 200)).toBe('refreshed');
    expect(s.get('b')!.updatedAt).toBe(101);
    expect(s.changedSince('b', 101)).toBe(false);
    expect(s.applyStub(stub({ epoch: 2, version: 3, ageMs: -5, alive: false }), 300)).toBe('updated');
    expect(s.get('b')!.alive).toBe(false);
    expect(s.changedSince('b', 300)).toBe(true);
    expect(s.applyStub(stub({ epoch: 2, version: 3, ageMs: 0, alive: true }), 400)).toBe('ignored');
    expect(s.get('b')!.alive).toBe(false);
    // a negative stub age counts as 0
    const t = new ViewStore('a', 1, 0, state);
    t.applyEntry(wire({}), 0);
    expect(t.applyStub(stub({ ageMs: -50 }), 10)).toBe('refreshed');
    expect(t.get('b')!.updatedAt).toBe(10);
  });

  it('its own entry from a newer epoch moves it to the next epoch at version 1; an older or equal live echo is ignored', () => {
    const s = new ViewStore('a', 2, 0, state);
    expect(s.applyEntry(wire({ serverId: 'a', epoch: 1, version: 50 }), 5)).toBe('ignored');
    expect(s.applyStub(stub({ serverId: 'a', epoch: 2, version: 1, alive: true }), 5)).toBe('ignored');
    expect(s.applyEntry(wire({ serverId: 'a', epoch: 4, version: 7, alive: false }), 10)).toBe('updated');
    expect(s.self).toMatchObject({ epoch: 5, version: 1, alive: true, updatedAt: 10 });
    expect(s.changedSince('a', 10)).toBe(true);
    // a higher version of the same epoch: jump one past it
    expect(s.applyStub(stub({ serverId: 'a', epoch: 5, version: 4, alive: true }), 20)).toBe('updated');
    expect(s.self).toMatchObject({ epoch: 5, version: 5, alive: true, updatedAt: 20 });
  });

  it('markDead: only a live known peer, never itself; the version is kept', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire({ version: 4 }), 0);
    expect(s.markDead('a', 1)).toBe(false);
    expect(s.markDead('zz', 1)).toBe(false);
    expect(s.markDead('b', 7)).toBe(true);
    expect(s.get('b')).toMatchObject({ alive: false, version: 4 });
    expect(s.changedSince('b', 7)).toBe(true);
    expect(s.markDead('b', 8)).toBe(false);
    expect(s.changedSince('b', 8)).toBe(false);
  });

  it('writeSelf bumps the version on a content change or after a dead mark, and refute moves to the next incarnation', () => {
    const s = new ViewStore('a', 1, 0, state);
    expect(s.writeSelf({ ...state, address: 'x:1' }, 1)).toBe(true);
    expect(s.writeSelf({ ...state, address: 'x:1', freeMemoryBytes: 5 }, 2)).toBe(true);
    expect(s.writeSelf({ ...state, address: 'x:1', freeMemoryBytes: 5, arrivalRates: { s: 1 } }, 3)).toBe(true);
    const inst = [{ instanceId: 'a/s', serviceId: 's', status: 'ready' as const, requestStrategy: 'batching' as const, serviceStrategy: 'single' as const, batchSize: 1, capacityPerSec: 1, loadPerSec: 0, waitMs: 0, runMs: 1 }];
    expect(s.writeSelf({ ...state, address: 'x:1', freeMemoryBytes: 5, arrivalRates: { s: 1 }, instances: inst }, 4)).toBe(true);
    expect(s.self.version).toBe(5);
    expect(s.writeSelf({ ...state, address: 'x:1', freeMemoryBytes: 5, arrivalRates: { s: 1 }, instances: inst }, 9)).toBe(false);
    expect(s.self).toMatchObject({ version: 5, updatedAt: 9 });
    expect(s.changedSince('a', 5)).toBe(false);
    s.refute(10);
    expect(s.self).toMatchObject({ epoch: 1, version: INCARNATION_STEP, alive: true, updatedAt: 10 });
    expect(s.changedSince('a', 10)).toBe(true);
  });

  it('wire forms carry the age as of now, never negative; unknown ids have none', () => {
    const s = new ViewStore('a', 1, 100, state);
    s.applyEntry(wire({ ageMs: 20, load: 0.5 }), 100);
    expect(s.toWire('b', 130)).toEqual({ ...wire({ load: 0.5 }), ageMs: 50 });
    expect(s.toWire('b', 0)!.ageMs).toBe(0);
    expect(s.toStub('b', 130)).toEqual({ serverId: 'b', epoch: 1, version: 1, alive: true, ageMs: 50 });
    expect(s.toStub('b', 0)!.ageMs).toBe(0);
    expect(s.toWire('zz', 0)).toBeUndefined();
    expect(s.toStub('zz', 0)).toBeUndefined();
    expect(Object.keys(s.view().entries).sort()).toEqual(['a', 'b']);
    expect(s.view().entries['b']).toBe(s.get('b'));
  });
});
