import { createManualClock, silentLogger } from '@epara/core';
import type { ClusterView } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { describe, expect, it } from 'vitest';
import { COORDINATOR_SERVICE, serverEntry } from '../testing/coordinator-fixture.js';
import { resolveCoordinatorOptions } from './coordinator-options.js';
import { PlacementCoordinator } from './placement-coordinator.js';
import type { PlacementDecision, PlacementPayload } from './placement-payload.js';

const noop = (): void => undefined;

/*
 * The leader places again (trigger `joined`) for an alive server with known devices that its last decision did not
 * place for: one whose device report came before the view showed it alive, and one restarted under its id (its
 * entry's epoch grew: the new run holds none of the old run's instances). The placement period is ten minutes:
 * without these, nothing placed for them until it passed.
 */

/** Leader `a` (no device) and `b` (one CPU); `a`'s view of `b` is set by the test. */
function pair() {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const seen = { alive: false, epoch: 1 };
  const runs: PlacementDecision[] = [];
  const toA: { from: string; payload: PlacementPayload }[] = [];
  const make = (id: string, view: () => ClusterView, devices: boolean): PlacementCoordinator =>
    new PlacementCoordinator({
      selfId: id,
      timers,
      periodMs: 600_000,
      services: [COORDINATOR_SERVICE],
      devices: devices ? [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }] : [],
      options: resolveCoordinatorOptions({ initialDelayMs: 100 }, { services: [COORDINATOR_SERVICE], syncPeriodMs: 100 }),
      hasSeeds: false,
      view,
      hosted: () => [],
      epoch: () => 1,
      send: (to, payload) => void (to === 'a' && toA.push({ from: id, payload })),
      apply: noop,
      logger: silentLogger,
      ran: (e) => void runs.push({ kind: 'placement', leader: id, leaderEpoch: 1, seq: e.seq, trigger: e.trigger, instances: e.instances, changes: [], goodputPerSec: e.goodputPerSec }),
    });
  const a = make('a', () => ({ entries: { a: serverEntry('a', true), b: serverEntry('b', seen.alive, seen.epoch) } }), false);
  const b = make('b', () => ({ entries: { a: serverEntry('a', true), b: serverEntry('b', true, seen.epoch) } }), true);
  const deliver = (): void => {
    for (const m of toA.splice(0)) a.onPayload(m.from, m.payload);
  };
  return { a, b, seen, runs, timers, deliver, toA };
}

const onB = (d: PlacementDecision | undefined): number => d?.instances.filter((i) => i.serverId === 'b').length ?? 0;

describe('placement coordinator: servers the last decision did not place for', () => {
  it("a server whose report came before the leader's view showed it: placed for once the view does", () => {
    const { a, b, seen, runs, timers, deliver } = pair();
    a.start();
    b.start();
    b.onViewChanged(); // b reports its devices to a
    deliver();
    timers.advance(100); // the first placement: b is not alive in a's view yet, nothing can be placed
    expect(runs.map((r) => [r.trigger, onB(r)])).toEqual([['start', 0]]);
    seen.alive = true;
    a.onViewChanged();
    timers.advance(100);
    expect(runs.map((r) => [r.trigger, onB(r)])).toEqual([['start', 0], ['joined', 1]]);
  });

  it('a server restarted under its id (a larger epoch in the view, never seen to leave) is placed for again', () => {
    const { a, b, seen, runs, timers, deliver } = pair();
    seen.alive = true;
    a.start();
    b.start();
    b.onViewChanged();
    deliver();
    timers.advance(100);
    expect(runs.map((r) => [r.trigger, onB(r)])).toEqual([['start', 1]]);
    a.onViewChanged(); // nothing new: no run
    timers.advance(100);
    expect(runs).toHaveLength(1);
    seen.epoch = 2;
    a.onViewChanged();
    timers.advance(100);
    expect(runs.map((r) => r.trigger)).toEqual(['start', 'joined']);
  });

  it("a probe from the leader makes a server report its devices again (a restarted leader's new run has none)", () => {
    const { b, toA } = pair();
    b.start();
    b.onViewChanged();
    expect(toA.splice(0).map((m) => m.payload.kind)).toContain('devices');
    b.onViewChanged(); // nothing changed: no report
    expect(toA.splice(0).filter((m) => m.payload.kind === 'devices')).toEqual([]);
    b.onPayload('a', { kind: 'probe', sentAt: 0, reply: false });
    expect(toA.splice(0).map((m) => m.payload.kind).sort()).toEqual(['devices', 'probe']);
  });

  it('a decision a server ignored because it did not see the sender lead yet is sent again once it reports to it', () => {
    // b restarted under its id: its new run's view holds only itself at first, so a decision from a — the leader
    // of everyone else's view — is not from the leader it sees, and is ignored. Before, nothing sent it again: the
    // decision had placed for b's new run, so no `joined` run followed either, and b held no instance until the
    // period (ten minutes here).
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    const bSeesA = { yes: false };
    const wire: { from: string; to: string; payload: PlacementPayload }[] = [];
    const applied: PlacementDecision[] = [];
    const make = (id: string, view: () => ClusterView, devices: boolean): PlacementCoordinator =>
      new PlacementCoordinator({
        selfId: id,
        timers,
        periodMs: 600_000,
        services: [COORDINATOR_SERVICE],
        devices: devices ? [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }] : [],
        options: resolveCoordinatorOptions({ initialDelayMs: 100 }, { services: [COORDINATOR_SERVICE], syncPeriodMs: 100 }),
        // b joins through a seed: alone in its view, it does not place for itself.
        hasSeeds: id === 'b',
        view,
        hosted: () => [],
        epoch: () => 1,
        send: (to, payload) => void wire.push({ from: id, to, payload }),
        apply: (d) => void (id === 'b' && applied.push(d)),
        logger: silentLogger,
        ran: noop,
      });
    const a = make('a', () => ({ entries: { a: serverEntry('a', true), b: serverEntry('b', true, 2) } }), false);
    const b = make('b', () => ({ entries: { ...(bSeesA.yes ? { a: serverEntry('a', true) } : {}), b: serverEntry('b', true, 2) } }), true);
    const deliver = (): void => {
      for (const m of wire.splice(0)) (m.to === 'a' ? a : b).onPayload(m.from, m.payload);
    };
    a.start();
    b.start();
    // b's report from its old run's time: a knows its devices and places for it.
    a.onPayload('b', { kind: 'devices', serverId: 'b', devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }], instances: [] });
    timers.advance(100);
    const decision = a.lastDecision!;
    expect(onB(decision)).toBe(1);
    deliver(); // b does not see a: ignored
    expect(applied).toEqual([]);
    bSeesA.yes = true;
    b.onViewChanged(); // b sees a lead: reports to it
    deliver(); // a gets the report and sends its decision again
    deliver();
    expect(applied.map((d) => d.seq)).toEqual([decision.seq]);
    // Later reports (b's instances changed, a probe) bring copies b ignores: applied once.
    b.onPayload('a', { kind: 'probe', sentAt: 0, reply: false });
    deliver();
    deliver();
    expect(applied.map((d) => d.seq)).toEqual([decision.seq]);
  });
});
