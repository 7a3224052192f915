import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import type { ClusterView, ParallelPlan } from '@epara/core';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { PlacementApplier } from './placement-applier.js';
import type { PlacementAppliedEvent } from './placement-applier.js';
import type { PlacementDecision } from './placement-payload.js';

const plan = { serviceId: 's' } as ParallelPlan;

describe('PlacementApplier', () => {
  it('loads first and drains the old instance only once the replacement elsewhere is ready (make-before-break)', async () => {
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 5 } }, hosted: ['s'], clock, timers, loadTimeMs: 50 });
    let remoteReady = false;
    const view = (): ClusterView => ({
      entries: {
        b: {
          serverId: 'b', epoch: 1, version: 1, updatedAt: 0, alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {},
          instances: remoteReady ? [{ instanceId: 'new-b', serviceId: 's', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 200, loadPerSec: 0, waitMs: 0, runMs: 5 }] : [],
        },
      },
    });
    const events: PlacementAppliedEvent[] = [];
    const applier = new PlacementApplier({ selfId: 'a', executor, view, timers, readyTimeoutMs: 10_000, pollMs: 10, logger: silentLogger, applied: (e) => events.push(e) });
    const step = (action: 'load' | 'drain', instanceId: string, serverId: string) => ({ action, instanceId, serviceId: 's', serverId, deviceIds: ['d0'], reason: 'test' });
    const decision: PlacementDecision = {
      kind: 'placement', leader: 'a', leaderEpoch: 1, seq: 1, trigger: 'period', goodputPerSec: 0,
      instances: [
        { instanceId: 'new-a', serviceId: 's', plan, serverId: 'a', deviceIds: ['d1'] },
        { instanceId: 'new-b', serviceId: 's', plan, serverId: 'b', deviceIds: ['d0'] },
      ],
      changes: [step('load', 'new-a', 'a'), step('load', 'new-b', 'b'), step('drain', 's#0', 'a')],
    };
    const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
    const done = applier.apply(decision);
    await flush();
    timers.advance(10);
    expect(executor.instances().map((i) => [i.instanceId, i.status])).toEqual([['s#0', 'ready'], ['new-a', 'loading']]);
    timers.advance(100);
    await flush();
    timers.advance(20);
    await flush();
    // new-a is ready, but the old instance keeps serving until b's replacement shows up ready in the view.
    expect(executor.instances().find((i) => i.instanceId === 's#0')!.status).toBe('ready');
    remoteReady = true;
    for (let i = 0; i < 5; i++) {
      timers.advance(20);
      await flush();
    }
    await done;
    expect(executor.instances().map((i) => i.instanceId)).toEqual(['new-a']);
    expect(events).toEqual([{ leader: 'a', seq: 1, trigger: 'period', loaded: ['new-a'], unloaded: ['s#0'], failed: [] }]);
  });
});
