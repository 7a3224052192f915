import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import type { Logger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { EntryRun } from '../protocol/view-codec.js';
import { RingSync } from './ring-sync.js';
import type { SyncTarget } from './ring-sync.js';
import { createFaultInjector } from './sync-faults.js';
import type { EntryStub, WireEntry } from './sync-types.js';
import { ViewStore } from './view-store.js';

/*
 * One run per server id in the ring's view: a server restarted under its id while its old process still runs
 * (stopped and resumed, or cut off and back) must not trade the view entry with its new run — each seeing its
 * own id with a larger epoch and jumping past it. Entries carry the run that wrote them; a run that sees its id
 * written by a newer run does not outbid it.
 */

const state = { instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} };
const OLD: EntryRun = { epoch: 1000, instance: 11 };
const NEW: EntryRun = { epoch: 2000, instance: 22 };
const wire = (o: Partial<WireEntry>): WireEntry => ({ serverId: 'x', epoch: 1, version: 1, ageMs: 0, alive: true, ...state, ...o });
const stub = (o: Partial<EntryStub>): EntryStub => ({ serverId: 'x', epoch: 1, version: 1, ageMs: 0, alive: true, ...o });

describe('ViewStore: its own id written by another run', () => {
  it('does not outbid the live entry of a newer run: it is replaced, for good', () => {
    const s = new ViewStore('x', OLD.epoch, 0, state, OLD);
    expect(s.applyEntry(wire({ epoch: NEW.epoch, run: NEW }), 10)).toBe('ignored');
    expect(s.self.epoch).toBe(OLD.epoch);
    expect(s.replacedBy).toEqual(NEW);
    // The new run's entry later marked dead (or an older life's) does not hand the id back to this run.
    expect(s.applyEntry(wire({ epoch: NEW.epoch, version: 5, alive: false, run: NEW }), 20)).toBe('ignored');
    expect(s.applyStub(stub({ epoch: NEW.epoch + 1 }), 30)).toBe('ignored');
    expect(s.self.epoch).toBe(OLD.epoch);
  });

  it('outbids an older run, a dead newer one (a restart whose clock stepped back) and an entry without a run', () => {
    const older = new ViewStore('x', NEW.epoch, 0, state, NEW);
    expect(older.applyEntry(wire({ epoch: 2500, run: OLD }), 10)).toBe('updated'); // a previous life that jumped
    expect(older.self.epoch).toBe(2501);
    const stepped = new ViewStore('x', OLD.epoch, 0, state, OLD);
    expect(stepped.applyEntry(wire({ epoch: NEW.epoch, alive: false, run: NEW }), 10)).toBe('updated');
    expect(stepped.self.epoch).toBe(NEW.epoch + 1);
    const unknown = new ViewStore('x', OLD.epoch, 0, state, OLD);
    expect(unknown.applyEntry(wire({ epoch: NEW.epoch }), 10)).toBe('updated'); // from a build without runs
    expect(unknown.replacedBy).toBeUndefined();
  });

  it('asks for the full entry when a stub of its id has a larger epoch (a stub carries no run)', () => {
    const s = new ViewStore('x', OLD.epoch, 0, state, OLD);
    expect(s.applyStub(stub({ epoch: NEW.epoch }), 10)).toBe('missing');
    expect(s.self.epoch).toBe(OLD.epoch);
    // A store given no run (the ring without runs) outbids as before.
    const bare = new ViewStore('x', OLD.epoch, 0, state);
    expect(bare.applyStub(stub({ epoch: NEW.epoch }), 10)).toBe('updated');
  });

  it('learns the run of an entry it holds without one when the same entry comes again with it (an idle server joined through a seed)', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire({ epoch: NEW.epoch }), 10);
    expect(s.toWire('x', 10)?.run).toBeUndefined();
    expect(s.applyEntry(wire({ epoch: NEW.epoch, run: NEW }), 10)).toBe('ignored');
    expect(s.toWire('x', 10)?.run).toEqual(NEW);
  });

  it('carries the run with the entry it relays, and keeps it across a relay that dropped it at the same epoch', () => {
    const s = new ViewStore('a', 1, 0, state);
    s.applyEntry(wire({ epoch: NEW.epoch, run: NEW }), 10);
    expect(s.toWire('x', 10)?.run).toEqual(NEW);
    s.applyEntry(wire({ epoch: NEW.epoch, version: 2 }), 20);
    expect(s.toWire('x', 20)?.run).toEqual(NEW);
    expect(s.toWire('a', 20)?.run).toBeUndefined();
  });
});

/**
 * A ring over a manual clock where each process has a label; `route` picks which process a message for a
 * server id reaches (two runs of one id live side by side), `cut` drops everything to or from a label.
 */
function createTwoRunRing() {
  const clock = createManualClock(1000);
  const timers = createManualTimers(clock);
  const procs = new Map<string, RingSync>();
  const cut = new Set<string>();
  /** Which run of `x` each peer's links reach: the peers the new run linked to reach it, the others the old one. */
  const xLinkOf = new Map<string, string>();
  const target = (from: string, to: SyncTarget): string => (to.id === 'x' ? (xLinkOf.get(from) ?? 'x-old') : (to.id ?? to.address!));
  const make = (label: string, id: string, run: EntryRun, seeds: string[], logger: Logger = silentLogger): RingSync => {
    const sync = new RingSync({
      selfId: id,
      epoch: run.epoch,
      run,
      clock,
      timers,
      periodMs: 100,
      ackTimeoutMs: 20,
      attempts: 2,
      fullEvery: 10,
      seeds,
      faults: createFaultInjector({}, createSeededRandom(label.length)),
      logger,
      readSelf: () => ({ ...state, address: label }),
      send: (to, message) => {
        const dest = target(label, to);
        timers.setTimeout(() => {
          if (cut.has(dest) || cut.has(label)) return;
          procs.get(dest)?.receive(message, (reply) => timers.setTimeout(() => !cut.has(label) && !cut.has(dest) && procs.get(label)?.receive(reply, () => undefined), 1));
        }, 1);
      },
    });
    procs.set(label, sync);
    sync.start();
    return sync;
  };
  return { timers, procs, cut, xLinkOf, make };
}

describe('RingSync: an old run resumed beside its restart', () => {
  it('does not outbid the new run: every view keeps the new run once it learned it', () => {
    const ring = createTwoRunRing();
    const n0 = ring.make('n0', 'n0', { epoch: 1, instance: 1 }, []);
    const n2 = ring.make('n2', 'n2', { epoch: 1, instance: 2 }, ['n0']);
    const old = ring.make('x-old', 'x', OLD, ['n0']);
    ring.timers.advance(3000);
    expect(n0.store.get('x')?.address).toBe('x-old');

    // The old process hangs; the server restarts under its id, and n0 links the new run (n2 never does).
    ring.cut.add('x-old');
    ring.xLinkOf.set('n0', 'x-new');
    ring.xLinkOf.set('x-new', 'x-new');
    const fresh = ring.make('x-new', 'x', NEW, ['n0']);
    ring.timers.advance(3000);
    expect([n0, n2].map((s) => s.store.get('x')?.address)).toEqual(['x-new', 'x-new']);

    // The old process resumes: n2's tokens reach it, and it reaches everyone.
    const shown: string[] = [];
    for (const s of [n0, n2]) s.on('viewUpdated', () => shown.push(s.store.get('x')?.address ?? ''));
    ring.cut.delete('x-old');
    ring.timers.advance(5000);

    expect(shown.length).toBeGreaterThan(0);
    expect(shown.filter((a) => a !== 'x-new')).toEqual([]);
    expect(old.store.replacedBy).toEqual(NEW);
    expect([n0, n2].map((s) => s.store.get('x')?.address)).toEqual(['x-new', 'x-new']);
    expect(fresh.store.self.epoch).toBe(NEW.epoch);
    expect(old.store.self.epoch).toBe(OLD.epoch);
  });
});

describe('RingSync: the replaced run says so once', () => {
  it('warns once, naming both runs, when it learns a newer run holds its id — not on every token after', () => {
    const ring = createTwoRunRing();
    // Its other warnings (peers it holds dead while cut off) are not this one.
    const warnings: unknown[] = [];
    const logger: Logger = { ...silentLogger, warn: (o) => void (typeof o === 'object' && o !== null && 'newerRun' in o && warnings.push(o)) };
    ring.make('n0', 'n0', { epoch: 1, instance: 1 }, []);
    ring.make('n2', 'n2', { epoch: 1, instance: 2 }, ['n0']);
    ring.make('x-old', 'x', OLD, ['n0'], logger);
    ring.timers.advance(3000);
    ring.cut.add('x-old');
    ring.xLinkOf.set('n0', 'x-new');
    ring.xLinkOf.set('x-new', 'x-new');
    ring.make('x-new', 'x', NEW, ['n0']);
    ring.timers.advance(3000);
    expect(warnings).toEqual([]);
    ring.cut.delete('x-old');
    ring.timers.advance(5000);
    expect(warnings).toEqual([expect.objectContaining({ run: OLD, newerRun: NEW })]);
  });
});
