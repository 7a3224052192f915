import { describe, expect, it } from 'vitest';
import type { EntryRun } from '../protocol/view-codec.js';
import { INCARNATION_STEP, ViewStore } from './view-store.js';
import type { EntryStub, WireEntry } from './sync-types.js';

/*
 * The store's boundaries: how long a dead entry is kept and when one is not taken back in, which run an entry that
 * is not newer teaches, the stamp that makes a copy an update, and the own entry coming back as a stub.
 */

const state = { instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} };
const wire = (o: Partial<WireEntry>): WireEntry => ({ serverId: 'b', epoch: 1, version: 1, ageMs: 0, alive: true, ...state, ...o });
const stub = (o: Partial<EntryStub>): EntryStub => ({ serverId: 'b', epoch: 1, version: 1, ageMs: 0, alive: true, ...o });

describe('ViewStore dead retention at its bounds', () => {
  it('keeps a dead entry exactly retentionMs old and forgets it one millisecond later', () => {
    const s = new ViewStore('a', 1, 0, state, undefined, { retentionMs: 1000, maxDead: Infinity });
    expect(s.applyEntry(wire({ alive: false }), 0)).toBe('updated');
    expect(s.forgetDead(1000)).toEqual([]);
    expect(s.get('b')?.alive).toBe(false);
    expect(s.forgetDead(1001)).toEqual(['b']);
    expect(s.get('b')).toBeUndefined();
  });

  it('takes in a dead entry of an unknown id up to exactly retentionMs old, and not past it', () => {
    const s = new ViewStore('a', 1, 0, state, undefined, { retentionMs: 1000, maxDead: Infinity });
    expect(s.applyEntry(wire({ serverId: 'b', alive: false, ageMs: 0 }), 5000)).toBe('updated');
    expect(s.applyEntry(wire({ serverId: 'c', alive: false, ageMs: 1000 }), 5000)).toBe('updated');
    expect(s.applyEntry(wire({ serverId: 'd', alive: false, ageMs: 1001 }), 5000)).toBe('ignored');
    expect(s.applyStub(stub({ serverId: 'e', alive: false, ageMs: 1001 }), 5000)).toBe('ignored');
    expect(s.ids().sort()).toEqual(['a', 'b', 'c']);
  });

  it('past the retention, only dead stubs of unknown ids are dropped: a live one, or one of an id held, still asks for the entry', () => {
    const s = new ViewStore('a', 1, 0, state, undefined, { retentionMs: 1000, maxDead: Infinity });
    // An alive server's stub says nothing of its age as a dead entry: the entry is missing here.
    expect(s.applyStub(stub({ serverId: 'b', alive: true, ageMs: 5000 }), 10_000)).toBe('missing');
    s.applyEntry(wire({ serverId: 'c', version: 1 }), 10_000);
    expect(s.applyStub(stub({ serverId: 'c', version: 2, alive: false, ageMs: 5000 }), 10_000)).toBe('missing');
    expect(s.applyStub(stub({ serverId: 'c', version: 2, alive: true, ageMs: 5000 }), 10_000)).toBe('missing');
  });

  it('past maxDead, the oldest-stamped dead entries are forgotten, whatever order they came in', () => {
    const s = new ViewStore('a', 1, 0, state, undefined, { retentionMs: Infinity, maxDead: 2 });
    // Stamped 300, 100, 200 (ages at 1000), in that order.
    expect(s.applyEntry(wire({ serverId: 'c', alive: false, ageMs: 700 }), 1000)).toBe('updated');
    expect(s.applyEntry(wire({ serverId: 'd', alive: false, ageMs: 900 }), 1000)).toBe('updated');
    expect(s.applyEntry(wire({ serverId: 'e', alive: false, ageMs: 800 }), 1000)).toBe('updated');
    expect(s.forgetDead(1000)).toEqual(['d']);
    expect(s.ids().sort()).toEqual(['a', 'c', 'e']);
  });

  it('with room for maxDead dead entries, takes one in unless every dead entry held is at least as new', () => {
    const s = new ViewStore('a', 1, 0, state, undefined, { retentionMs: Infinity, maxDead: 2 });
    // Dead c stamped at 100 and d at 300 (ages at 1000).
    expect(s.applyEntry(wire({ serverId: 'c', alive: false, ageMs: 900 }), 1000)).toBe('updated');
    expect(s.applyEntry(wire({ serverId: 'd', alive: false, ageMs: 700 }), 1000)).toBe('updated');
    // Older than both: it would be the first forgotten, so it is not taken in.
    expect(s.applyEntry(wire({ serverId: 'e', alive: false, ageMs: 950 }), 1000)).toBe('ignored');
    // As old as the oldest held: the store keeps what it holds rather than trading it for an equal one.
    expect(s.applyEntry(wire({ serverId: 'f', alive: false, ageMs: 900 }), 1000)).toBe('ignored');
    // Newer than c, older than d: taken in, and c (now the oldest of three) goes.
    expect(s.applyEntry(wire({ serverId: 'b', alive: false, ageMs: 800 }), 1000)).toBe('updated');
    expect(s.forgetDead(1000)).toEqual(['c']);
    expect(s.ids().sort()).toEqual(['a', 'b', 'd']);
  });

  it('with no limit on dead entries, takes in every dead entry within the retention', () => {
    const s = new ViewStore('a', 1, 0, state, undefined, { retentionMs: 10_000, maxDead: Infinity });
    for (const [i, id] of ['b', 'c', 'd'].entries()) expect(s.applyEntry(wire({ serverId: id, alive: false, ageMs: 100 * i }), 1000)).toBe('updated');
    expect(s.forgetDead(1000)).toEqual([]);
  });
});

describe('ViewStore: the run of an entry that is not newer', () => {
  const R5: EntryRun = { epoch: 5, instance: 1 };
  const R5b: EntryRun = { epoch: 5, instance: 2 };
  const R4: EntryRun = { epoch: 4, instance: 3 };

  it('a copy of an older epoch teaches nothing, and a run known is neither replaced nor cleared by a copy that is not newer', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire({ epoch: 5, version: 3 }), 10);
    // A stale copy of a previous life, with that life's run: not this entry's run.
    expect(s.applyEntry(wire({ epoch: 4, version: 9, run: R4 }), 10)).toBe('ignored');
    expect(s.toWire('b', 10)?.run).toBeUndefined();
    expect(s.applyEntry(wire({ epoch: 5, version: 3, run: R5 }), 10)).toBe('ignored');
    expect(s.toWire('b', 10)?.run).toEqual(R5);
    // The same entry again, relayed without its run or with another: the run learned stays.
    expect(s.applyEntry(wire({ epoch: 5, version: 3 }), 10)).toBe('ignored');
    expect(s.toWire('b', 10)?.run).toEqual(R5);
    expect(s.applyEntry(wire({ epoch: 5, version: 2, run: R5b }), 10)).toBe('ignored');
    expect(s.toWire('b', 10)?.run).toEqual(R5);
  });
});

describe('ViewStore: what makes a copy an update', () => {
  it('a new epoch at the same version and liveness is an update (a restart), not a refresh', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire({ epoch: 1, version: 1 }), 100);
    expect(s.applyEntry(wire({ epoch: 2, version: 1 }), 200)).toBe('updated');
    expect(s.changedSince('b', 200)).toBe(true);
    expect(s.get('b')?.epoch).toBe(2);
  });
});

describe('ViewStore: its own entry echoed as a stub', () => {
  it('with a run, a stub of its own epoch is settled here: a dead mark is outbid, the same stamp ignored — the full entry is asked for only past its epoch', () => {
    const run: EntryRun = { epoch: 7, instance: 1 };
    const s = new ViewStore('a', 7, 0, state, run);
    const v = s.self.version;
    expect(s.applyStub(stub({ serverId: 'a', epoch: 7, version: v, alive: true }), 5)).toBe('ignored');
    expect(s.applyStub(stub({ serverId: 'a', epoch: 7, version: v, alive: false }), 10)).toBe('updated');
    // Outbid under its next incarnation: within one, no version beats the dead mark.
    expect(s.self).toMatchObject({ epoch: 7, version: INCARNATION_STEP, alive: true, updatedAt: 10 });
    expect(s.applyStub(stub({ serverId: 'a', epoch: 8, version: 1 }), 20)).toBe('missing');
  });

  it('a dead mark of an older version of its own incarnation is outbid too: within one no version beats a death', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.writeSelf({ ...state, load: 0.5 }, 1);
    s.writeSelf({ ...state, load: 0.6 }, 2);
    expect(s.self.version).toBe(3);
    expect(s.applyStub(stub({ serverId: 'a', epoch: 1, version: 2, alive: false }), 10)).toBe('updated');
    expect(s.self).toMatchObject({ epoch: 1, version: INCARNATION_STEP, alive: true, load: 0.6, updatedAt: 10 });
    const me = s.self;
    // The same mark again (or as a full entry) is of an older incarnation now: ignored.
    expect(s.applyEntry(wire({ serverId: 'a', epoch: 1, version: 2, alive: false }), 11)).toBe('ignored');
    expect(s.self).toEqual(me);
  });
});
