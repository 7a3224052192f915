import { describe, expect, it } from 'vitest';
import { ViewStore } from './view-store.js';
import type { EntryStub, WireEntry } from './sync-types.js';

/*
 * Death is monotonic per incarnation (the entry's epoch): once an entry of epoch E is held dead, no copy of
 * epoch E brings it back, whatever its version — a stale live copy written before the death (carried round the
 * ring by a server that had not heard of it yet) used to outbid a dead mark that kept an older version, and the
 * closed server read alive again. Only the server itself brings its entry back, under a newer epoch.
 */

const state = { instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} };
const wire = (o: Partial<WireEntry>): WireEntry => ({ serverId: 'b', epoch: 1, version: 1, ageMs: 0, alive: true, load: 0, freeMemoryBytes: 0, instances: [], arrivalRates: {}, ...o });
const stub = (o: Partial<EntryStub>): EntryStub => ({ serverId: 'b', epoch: 1, version: 1, ageMs: 0, alive: true, ...o });

describe('ViewStore: death is monotonic per epoch', () => {
  it('a dead mark at version 3 is not undone by a live copy of version 4 of the same epoch, full or stub', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire({ version: 3 }), 0);
    expect(s.markDead('b', 10)).toBe(true);
    // The peer's last write before it closed, still going round: newer by version, older than the death.
    expect(s.applyEntry(wire({ version: 4, load: 0.5 }), 20)).toBe('ignored');
    expect(s.applyStub(stub({ version: 5 }), 30)).toBe('ignored');
    expect(s.get('b')).toMatchObject({ alive: false });
    expect(s.aliveIds()).toEqual(['a']);
    // A newer epoch (the server itself, refuting or restarted) brings it back.
    expect(s.applyEntry(wire({ epoch: 2, version: 1 }), 40)).toBe('updated');
    expect(s.get('b')).toMatchObject({ alive: true, epoch: 2 });
  });

  it('a dead copy of an older version still kills a live entry of the same epoch, and dead copies converge on the highest version', () => {
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
  });

  it('its own dead echo, of any version, moves this server to a newer epoch (a version bump would not win)', () => {
    const s = new ViewStore('a', 5, 0, state);
    s.writeSelf({ ...state, load: 0.1 }, 1);
    expect(s.applyEntry(wire({ serverId: 'a', epoch: 5, version: 1, alive: false }), 10)).toBe('updated');
    expect(s.self).toMatchObject({ epoch: 6, version: 1, alive: true });
    // And what it wrote wins everywhere over the dead mark it outbid.
    const peer = new ViewStore('p', 1, 0, state);
    peer.applyEntry(wire({ serverId: 'a', epoch: 5, version: 2, alive: false }), 0);
    expect(peer.applyEntry(s.toWire('a', 10)!, 10)).toBe('updated');
    expect(peer.get('a')!.alive).toBe(true);
  });

  it('refute (a late timer: it may have been marked dead) moves to a newer epoch', () => {
    const s = new ViewStore('a', 5, 0, state);
    s.refute(10);
    expect(s.self).toMatchObject({ epoch: 6, version: 1, alive: true, updatedAt: 10 });
  });
});
