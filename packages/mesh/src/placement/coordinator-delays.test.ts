import { createManualClock } from '@epara/core';
import type { ClusterView, ServerEntry } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { createManualTimers } from '@epara/core/testing';
import { resolveCoordinatorOptions } from './coordinator-options.js';
import { PlacementCoordinator } from './placement-coordinator.js';
import type { PlacementPayload } from './placement-payload.js';

const entry = (serverId: string): ServerEntry => ({ serverId, epoch: 1, version: 1, updatedAt: 0, alive: true, instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} });
const noop = (): void => undefined;
const logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => logger } as never;

describe('placement coordinator: measured delays', () => {
  it('echoes probes, measures round trips on its own clock and reports the row to the leader', () => {
    const clock = createManualClock(1000);
    const timers = createManualTimers(clock);
    const view: ClusterView = { entries: { a: entry('a'), b: entry('b') } } as unknown as ClusterView;
    const sent: [string, PlacementPayload][] = [];
    const c = new PlacementCoordinator({
      selfId: 'b',
      timers,
      periodMs: 1000,
      services: [],
      devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 1 }],
      options: resolveCoordinatorOptions({}, { services: [], syncPeriodMs: 100 }),
      hasSeeds: true,
      view: () => view,
      hosted: () => [],
      epoch: () => 1,
      send: (peer, p) => sent.push([peer, p]),
      apply: noop,
      logger,
      now: () => clock.now(),
      ran: noop,
    });
    c.start();
    c.onViewChanged();
    // b is not the leader: it probes a (unmeasured) and reports its devices, with no delays yet.
    expect(sent).toEqual([
      ['a', { kind: 'probe', sentAt: 1000, reply: false }],
      ['a', expect.objectContaining({ kind: 'devices', serverId: 'b' })],
    ]);
    expect(sent[1]![1]).not.toHaveProperty('delaysMs');
    // A peer's probe is echoed unchanged; a reply 24 ms later is a 12 ms one-way delay.
    c.onPayload('a', { kind: 'probe', sentAt: 5, reply: false });
    expect(sent[2]).toEqual(['a', { kind: 'probe', sentAt: 5, reply: true }]);
    clock.set(1024);
    c.onPayload('a', { kind: 'probe', sentAt: 1000, reply: true });
    sent.length = 0;
    timers.advance(1000); // the period: probes every peer again and reports with the measured row
    const report = sent.find(([, p]) => p.kind === 'devices')![1];
    expect(report).toMatchObject({ kind: 'devices', delaysMs: { a: 12 } });
    expect(sent.some(([peer, p]) => peer === 'a' && p.kind === 'probe' && !p.reply)).toBe(true);
    c.stop();
  });
});
