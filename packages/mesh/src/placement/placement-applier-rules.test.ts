import { describe, expect, it } from 'vitest';
import { createManualClock, EparaError } from '@epara/core';
import type { ClusterView, LocalExecutor, Logger, ParallelPlan, ServerEntry } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { PlacementApplier } from './placement-applier.js';
import type { PlacementAppliedEvent } from './placement-applier.js';
import type { PlacementDecision } from './placement-payload.js';

const plan = { serviceId: 's' } as ParallelPlan;
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const server = (id: string, alive: boolean, ready: string[] = [], loading: string[] = []): ServerEntry => ({
  serverId: id, epoch: 1, version: 1, updatedAt: 0, alive, load: 0, freeMemoryBytes: 0, arrivalRates: {},
  instances: [...ready.map((i) => [i, 'ready'] as const), ...loading.map((i) => [i, 'loading'] as const)].map(([instanceId, status]) => ({ instanceId, serviceId: 's', status, requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 0, waitMs: 0, runMs: 5 })),
});
const step = (action: 'load' | 'drain', instanceId: string, serverId: string) => ({ action, instanceId, serviceId: 's', serverId, deviceIds: ['d0'], reason: 'test' });
const decision = (seq: number, changes: ReturnType<typeof step>[], placed: [string, string][] = []): PlacementDecision => ({
  kind: 'placement', leader: 'L', leaderEpoch: 1, seq, trigger: 'period', goodputPerSec: 0,
  instances: placed.map(([instanceId, serverId]) => ({ instanceId, serviceId: 's', plan, serverId, deviceIds: ['d0'] })),
  changes,
});

/** Server `a` hosting `s#0`, a view the test edits, and an executor whose load/unload can be made to fail. */
function setup(o: { readyTimeoutMs?: number; failLoad?: string; failUnload?: string } = {}) {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const fake = createFakeExecutor({ services: { s: { serviceTimeMs: 5 } }, hosted: ['s'], clock, timers });
  const loads: string[] = [];
  let broken = false;
  const executor: LocalExecutor = {
    ...fake,
    instances: () => {
      if (broken) throw new Error('executor broke');
      return fake.instances();
    },
    load: (p, opts) => {
      loads.push(opts?.instanceId ?? '?');
      if (opts?.instanceId === o.failLoad) return Promise.reject(new EparaError('OVERLOADED', 'no memory'));
      return fake.load(p, opts);
    },
    unload: (id) => (id === o.failUnload ? Promise.reject(new Error('driver fault')) : fake.unload(id)),
  };
  const entries: Record<string, ServerEntry> = {};
  const view = (): ClusterView => ({ entries });
  const events: PlacementAppliedEvent[] = [];
  const errors: unknown[] = [];
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (o) => void errors.push(o) };
  const applier = new PlacementApplier({ selfId: 'a', executor, view, timers, readyTimeoutMs: o.readyTimeoutMs ?? 100, pollMs: 10, logger, applied: (e) => events.push(e) });
  const ids = (): string[] => fake.instances().map((i) => i.instanceId);
  const breakOnce = (): void => void (broken = true);
  const heal = (): void => void (broken = false);
  return { timers, entries, events, errors, applier, ids, loads, breakOnce, heal };
}

describe('PlacementApplier rules', () => {
  it('drains anyway once readyTimeoutMs has passed without the replacement showing ready, and not before', async () => {
    const t = setup({ readyTimeoutMs: 100 });
    t.entries['b'] = server('b', true);
    const done = t.applier.apply(decision(1, [step('load', 'new-b', 'b'), step('drain', 's#0', 'a')], [['new-b', 'b']]));
    for (let ms = 0; ms < 90; ms += 10) {
      await flush();
      t.timers.advance(10);
    }
    await flush();
    expect(t.ids()).toEqual(['s#0']);
    t.timers.advance(10);
    await flush();
    await done;
    expect(t.ids()).toEqual([]);
    expect(t.events).toEqual([{ leader: 'L', seq: 1, trigger: 'period', loaded: [], unloaded: ['s#0'], failed: [] }]);
  });

  it('keeps the instance when every replacement is on a server that died: the service is not left without one', async () => {
    // b died while it loaded the replacement (the leader that decided may have died with it): the new leader
    // re-places on the failure, from the instances that still exist.
    const t = setup({ readyTimeoutMs: 10_000 });
    t.entries['b'] = server('b', false);
    await t.applier.apply(decision(1, [step('load', 'new-b', 'b'), step('drain', 's#0', 'a')], [['new-b', 'b']]));
    expect(t.ids()).toEqual(['s#0']);
    expect(t.events).toEqual([]);
    expect(t.timers.pending).toBe(0);
  });

  it('a replacement that dies while the drain waits for it: the instance is kept', async () => {
    const t = setup({ readyTimeoutMs: 10_000 });
    t.entries['b'] = server('b', true, [], ['new-b']);
    const done = t.applier.apply(decision(1, [step('load', 'new-b', 'b'), step('drain', 's#0', 'a')], [['new-b', 'b']]));
    await flush();
    t.timers.advance(10);
    t.entries['b'] = server('b', false, [], ['new-b']);
    t.timers.advance(10);
    await done;
    expect(t.ids()).toEqual(['s#0']);
  });

  it('keeps the instance when its only replacement failed to load on this server', async () => {
    const t = setup({ readyTimeoutMs: 10_000, failLoad: 'x-a' });
    await t.applier.apply(decision(1, [step('load', 'x-a', 'a'), step('drain', 's#0', 'a')], [['x-a', 'a']]));
    expect(t.ids()).toEqual(['s#0']);
    expect(t.events).toEqual([{ leader: 'L', seq: 1, trigger: 'period', loaded: [], unloaded: [], failed: [{ instanceId: 'x-a', code: 'OVERLOADED' }] }]);
  });

  it('drains once another replacement is ready, though one of them is on a dead server', async () => {
    const t = setup({ readyTimeoutMs: 10_000 });
    t.entries['b'] = server('b', false);
    t.entries['c'] = server('c', true, ['new-c']);
    await t.applier.apply(decision(1, [step('load', 'new-b', 'b'), step('load', 'new-c', 'c'), step('drain', 's#0', 'a')], [['new-b', 'b'], ['new-c', 'c']]));
    expect(t.ids()).toEqual([]);
  });

  it('waits for a replacement on a server not in the view yet (this view lags the leader), as for a slow one', async () => {
    const t = setup({ readyTimeoutMs: 10_000 });
    const done = t.applier.apply(decision(1, [step('load', 'new-b', 'b'), step('drain', 's#0', 'a')], [['new-b', 'b']]));
    await flush();
    t.timers.advance(50);
    expect(t.ids()).toEqual(['s#0']);
    t.entries['b'] = server('b', true, ['new-b']);
    t.timers.advance(10);
    await done;
    expect(t.ids()).toEqual([]);
  });

  it('waits only on replacements of the drained service that the decision loads', async () => {
    const t = setup({ readyTimeoutMs: 10_000 });
    t.entries['b'] = server('b', true, ['new-b']);
    t.entries['c'] = server('c', true);
    const other = { ...step('load', 'other-c', 'c'), serviceId: 'other' };
    await t.applier.apply(decision(1, [step('load', 'new-b', 'b'), other, step('drain', 's#0', 'a')], [['new-b', 'b']]));
    expect(t.ids()).toEqual([]);
  });

  it('loads only its own new instances named in the decision, and drains only instances it has', async () => {
    const t = setup();
    const d = decision(
      1,
      [step('load', 'x-a', 'a'), step('load', 'x-c', 'c'), step('load', 's#0', 'a'), step('load', 'ghost', 'a'), step('drain', 'nope', 'a'), step('drain', 's#0', 'c')],
      [['x-a', 'a'], ['x-c', 'c'], ['s#0', 'a']],
    );
    const done = t.applier.apply(d);
    await flush();
    t.timers.advance(1);
    await done;
    expect(t.loads).toEqual(['x-a']);
    expect(t.ids()).toEqual(['s#0', 'x-a']);
    expect(t.events).toEqual([{ leader: 'L', seq: 1, trigger: 'period', loaded: ['x-a'], unloaded: [], failed: [] }]);
  });

  it('reports a failed load or drain with its error code', async () => {
    const t = setup({ failLoad: 'x-a', failUnload: 's#0' });
    t.entries['b'] = server('b', true, ['x-b']);
    await t.applier.apply(decision(1, [step('load', 'x-a', 'a'), step('load', 'x-b', 'b'), step('drain', 's#0', 'a')], [['x-a', 'a'], ['x-b', 'b']]));
    expect(t.events).toEqual([
      { leader: 'L', seq: 1, trigger: 'period', loaded: [], unloaded: [], failed: [{ instanceId: 'x-a', code: 'OVERLOADED' }, { instanceId: 's#0', code: 'INTERNAL' }] },
    ]);
  });

  it('reports nothing for a decision that changes nothing here', async () => {
    const t = setup();
    await t.applier.apply(decision(1, [step('load', 'x-c', 'c'), step('drain', 'nope', 'a')], [['x-c', 'c']]));
    expect(t.events).toEqual([]);
  });

  it('applies decisions in arrival order; one that fails is logged and the next still applies', async () => {
    const t = setup();
    const first = t.applier.apply(decision(1, [step('drain', 's#0', 'a')]));
    // The chain runs the first on a later turn: the executor breaks for exactly that turn.
    t.breakOnce();
    await flush();
    t.heal();
    await first;
    expect(t.errors).toHaveLength(1);
    expect(t.ids()).toEqual(['s#0']);
    await t.applier.apply(decision(2, [step('drain', 's#0', 'a')]));
    expect(t.ids()).toEqual([]);
    expect(t.events.map((e) => e.seq)).toEqual([2]);
  });

  it('a close ends a wait for replacements at once, without the drain it waited for, no timer left; later decisions do nothing', async () => {
    const t = setup({ readyTimeoutMs: 1_000_000 });
    t.entries['b'] = server('b', true);
    const pending = t.applier.apply(decision(1, [step('load', 'new-b', 'b'), step('drain', 's#0', 'a')], [['new-b', 'b']]));
    await flush();
    t.timers.advance(10);
    await flush();
    expect(t.ids()).toEqual(['s#0']);
    const closed = t.applier.close();
    // No time passes: the close itself ends the wait (before, it ended at the next look and then drained s#0,
    // the service's instance here, with its replacement never seen ready).
    await Promise.all([pending, closed]);
    expect(t.timers.pending).toBe(0);
    expect(t.ids()).toEqual(['s#0']);
    expect(t.events).toEqual([]);
    await t.applier.apply(decision(2, [step('load', 'x-a', 'a')], [['x-a', 'a']]));
    expect(t.loads).toEqual([]);
    expect(t.ids()).toEqual(['s#0']);
  });

  it('a newer decision that arrives while a drain waits for its replacement ends the wait without the drain: the newer one decides', async () => {
    // The decision to b (load the replacement) was lost on the way, or b failed the load, or the leader that sent
    // it died and its successor re-placed: the newer decision was made from a view that still showed s#0 here and
    // keeps it. Before, the older decision's drain went on once its wait timed out and unloaded s#0 after the newer
    // decision had counted on it: the service had no instance until the next placement period.
    const t = setup({ readyTimeoutMs: 100 });
    t.entries['b'] = server('b', true);
    const first = t.applier.apply(decision(1, [step('load', 'new-b', 'b'), step('drain', 's#0', 'a')], [['new-b', 'b']]));
    await flush();
    t.timers.advance(10);
    await flush();
    const second = t.applier.apply(decision(2, [], [['s#0', 'a']]));
    for (let ms = 0; ms < 200; ms += 10) {
      await flush();
      t.timers.advance(10);
    }
    await Promise.all([first, second]);
    expect(t.ids()).toEqual(['s#0']);
    expect(t.events).toEqual([]);
    expect(t.timers.pending).toBe(0);
    // A drain the newer decision itself asks for is done as usual.
    await t.applier.apply(decision(3, [step('drain', 's#0', 'a')]));
    expect(t.ids()).toEqual([]);
  });

  it('counts a replacement only when that very instance shows ready', async () => {
    const t = setup({ readyTimeoutMs: 10_000 });
    t.entries['b'] = server('b', true, ['old-b'], ['new-b']);
    const done = t.applier.apply(decision(1, [step('load', 'new-b', 'b'), step('drain', 's#0', 'a')], [['new-b', 'b']]));
    for (let i = 0; i < 5; i++) {
      await flush();
      t.timers.advance(10);
    }
    await flush();
    expect(t.ids()).toEqual(['s#0']);
    t.entries['b'] = server('b', true, ['old-b', 'new-b']);
    t.timers.advance(10);
    await flush();
    await done;
    expect(t.ids()).toEqual([]);
  });

  it('a close during the loads skips the drains', async () => {
    const t = setup();
    const done = t.applier.apply(decision(1, [step('load', 'x-a', 'a'), step('drain', 's#0', 'a')], [['x-a', 'a']]));
    await flush();
    void t.applier.close();
    t.timers.advance(1);
    await done;
    expect(t.ids()).toEqual(['s#0', 'x-a']);
    expect(t.events).toEqual([{ leader: 'L', seq: 1, trigger: 'period', loaded: ['x-a'], unloaded: [], failed: [] }]);
  });
});
