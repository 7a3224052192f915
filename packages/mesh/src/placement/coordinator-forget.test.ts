import type { ClusterView } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { createManualClock, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { COORDINATOR_SERVICE, serverEntry } from '../testing/coordinator-fixture.js';
import { resolveCoordinatorOptions } from './coordinator-options.js';
import { PlacementCoordinator } from './placement-coordinator.js';

describe('placement coordinator: servers the view forgot', () => {
  it('drops the device reports and delays of a server once the view forgot it, so they do not pile up over churn', () => {
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    let ids = ['a', 'b', 'x'];
    const view = (): ClusterView => ({ entries: Object.fromEntries(ids.map((s) => [s, serverEntry(s, true)])) }) as unknown as ClusterView;
    const a = new PlacementCoordinator({
      selfId: 'a', timers, periodMs: 600_000, services: [COORDINATOR_SERVICE], devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }],
      options: resolveCoordinatorOptions({ initialDelayMs: 100 }, { services: [COORDINATOR_SERVICE], syncPeriodMs: 100 }),
      hasSeeds: false, view, hosted: () => [], epoch: () => 1, now: () => clock.now(),
      send: () => undefined, apply: () => undefined, logger: silentLogger, ran: () => undefined,
    });
    a.start();
    a.onViewChanged();
    const report = (from: string): void => a.onPayload(from, { kind: 'devices', serverId: from, devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }] });
    report('b');
    report('x');
    clock.set(10);
    a.onPayload('x', { kind: 'probe', sentAt: 0, reply: true });
    expect(Object.keys(a.measuredDelays())).toEqual(['x']);
    // x is dead past the view's retention: gone from the view, and so from what the leader knows.
    ids = ['a', 'b'];
    a.onViewChanged();
    expect(a.measuredDelays()).toEqual({});
    a.stop();
  });
});

describe('placement coordinator: reports from servers the view does not hold', () => {
  it('keeps a bounded number of them; one the view then shows is kept like any other', () => {
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    let ids = ['a', 'b'];
    const view = (): ClusterView => ({ entries: Object.fromEntries(ids.map((s) => [s, serverEntry(s, true)])) }) as unknown as ClusterView;
    const a = new PlacementCoordinator({
      selfId: 'a', timers, periodMs: 600_000, services: [COORDINATOR_SERVICE], devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }],
      options: resolveCoordinatorOptions({ initialDelayMs: 100 }, { services: [COORDINATOR_SERVICE], syncPeriodMs: 100 }),
      hasSeeds: false, view, hosted: () => [], epoch: () => 1, now: () => clock.now(),
      send: () => undefined, apply: () => undefined, logger: silentLogger, ran: () => undefined,
    });
    a.start();
    a.onViewChanged();
    const report = (from: string): void => a.onPayload(from, { kind: 'devices', serverId: from, devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }] });
    report('b');
    // A joiner reports before the view shows it; then a thousand ids the view never holds (a peer cycling ids,
    // or servers forgotten before their last report came).
    report('joiner');
    ids = ['a', 'b', 'joiner'];
    a.onViewChanged();
    for (let k = 0; k < 1000; k++) report(`ghost${k}`);
    // a, b and the joiner (the view shows it: never pushed out), and the 64 latest of the others.
    expect(a.knownServers).toBe(3 + 64);
    a.stop();
  });
});
