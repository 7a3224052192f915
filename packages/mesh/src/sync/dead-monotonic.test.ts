import { describe, expect, it } from 'vitest';
import { INCARNATION_STEP, ViewStore, incarnationOf } from './view-store.js';
import type { EntryStub, WireEntry } from './sync-types.js';

/*
 * Death is monotonic per incarnation (the high part of the entry's version, within its epoch): once an entry is
 * held dead, no copy of that incarnation brings it back, whatever its version — a stale live copy written before
 * the death (carried round the ring by a server that had not heard of it yet) used to outbid a dead mark that kept
 * an older version, and the closed server read alive again. Only the server itself brings its entry back, under
 * its next incarnation (or a restart, under a new epoch).
 */

const state = { instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} };
const wire = (o: Partial<WireEntry>): WireEntry => ({ serverId: 'b', epoch: 1, version: 1, ageMs: 0, alive: true, load: 0, freeMemoryBytes: 0, instances: [], arrivalRates: {}, ...o });
const stub = (o: Partial<EntryStub>): EntryStub => ({ serverId: 'b', epoch: 1, version: 1, ageMs: 0, alive: true, ...o });

describe('ViewStore: death is monotonic per incarnation', () => {
  it('a dead mark at version 3 is not undone by a live copy of version 4 of the same incarnation, full or stub', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire({ version: 3 }), 0);
    expect(s.markDead('b', 10)).toBe(true);
    // The peer's last write before it closed, still going round: newer by version, older than the death.
    expect(s.applyEntry(wire({ version: 4, load: 0.5 }), 20)).toBe('ignored');
    expect(s.applyStub(stub({ version: 5 }), 30)).toBe('ignored');
    expect(s.get('b')).toMatchObject({ alive: false, version: 3 });
    expect(s.aliveIds()).toEqual(['a']);
    // Its next incarnation (the server itself, refuting) brings it back; so does a new epoch (a restart).
    expect(s.applyStub(stub({ version: INCARNATION_STEP }), 40)).toBe('missing');
    expect(s.applyEntry(wire({ version: INCARNATION_STEP }), 40)).toBe('updated');
    expect(s.get('b')).toMatchObject({ alive: true, epoch: 1 });
    s.markDead('b', 50);
    expect(s.applyEntry(wire({ epoch: 2, version: 1 }), 60)).toBe('updated');
    expect(s.get('b')).toMatchObject({ alive: true, epoch: 2 });
  });

  it('a dead copy of an older version still kills a live entry of the same incarnation, and dead copies converge on the highest version', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire({ version: 6 }), 0);
    expect(s.applyEntry(wire({ version: 4, alive: false }), 10)).toBe('updated');
    expect(s.get('b')).toMatchObject({ alive: false });
    expect(s.applyEntry(wire({ version: 7, alive: false }), 20)).toBe('updated');
    expect(s.get('b')).toMatchObject({ alive: false, version: 7 });
    expect(s.applyEntry(wire({ version: 5, alive: false }), 30)).toBe('ignored');
    const t = new ViewStore('a', 1, 0, state);
    t.applyEntry(wire({ version: 6 }), 0);
    expect(t.applyStub(stub({ version: 2, alive: false }), 10)).toBe('updated');
    expect(t.get('b')).toMatchObject({ alive: false });
    // A dead copy of an older incarnation does not kill a later one.
    const u = new ViewStore('a', 1, 0, state);
    u.applyEntry(wire({ version: INCARNATION_STEP + 2 }), 0);
    expect(u.applyEntry(wire({ version: 9, alive: false }), 10)).toBe('ignored');
    expect(u.applyStub(stub({ version: 9, alive: false }), 10)).toBe('ignored');
    expect(u.get('b')!.alive).toBe(true);
  });

  it('its own dead echo, of any version of its incarnation, moves this server to its next incarnation, same epoch', () => {
    const s = new ViewStore('a', 5, 0, state);
    s.writeSelf({ ...state, load: 0.1 }, 1);
    expect(s.self.version).toBe(2);
    expect(s.applyEntry(wire({ serverId: 'a', epoch: 5, version: 1, alive: false }), 10)).toBe('updated');
    expect(s.self).toMatchObject({ epoch: 5, version: INCARNATION_STEP, alive: true });
    // An echo of the mark it already outbid is ignored.
    expect(s.applyStub(stub({ serverId: 'a', epoch: 5, version: 2, alive: false }), 11)).toBe('ignored');
    // What it wrote wins everywhere over the dead mark it outbid.
    const peer = new ViewStore('p', 1, 0, state);
    peer.applyEntry(wire({ serverId: 'a', epoch: 5, version: 2, alive: false }), 0);
    expect(peer.applyEntry(s.toWire('a', 10)!, 10)).toBe('updated');
    expect(peer.get('a')!.alive).toBe(true);
  });

  it('refute (a late timer: it may have been marked dead) moves to the next incarnation, same epoch', () => {
    const s = new ViewStore('a', 5, 0, state);
    s.refute(10);
    expect(s.self).toMatchObject({ epoch: 5, version: INCARNATION_STEP, alive: true, updatedAt: 10 });
    s.writeSelf({ ...state, load: 0.3 }, 11);
    expect(incarnationOf(s.self.version)).toBe(1);
    s.refute(12);
    expect(s.self.version).toBe(2 * INCARNATION_STEP);
  });
});
