import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import type { ClusterView, Logger, ParallelPlan, ServerEntry } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { PlacementApplier } from './placement-applier.js';
import type { PlacementDecision } from './placement-payload.js';

const plan = { serviceId: 's' } as ParallelPlan;
const instance = (instanceId: string, status: 'ready' | 'draining') => ({
  instanceId, serviceId: 's', status, requestStrategy: 'batching' as const, serviceStrategy: 'single' as const, batchSize: 1, capacityPerSec: 100, loadPerSec: 0, waitMs: 0, runMs: 5,
});
const server = (id: string, instances: ReturnType<typeof instance>[]): ServerEntry => ({
  serverId: id, epoch: 1, version: 1, updatedAt: 0, alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {}, instances,
});
const step = (action: 'load' | 'drain', instanceId: string, serverId: string) => ({ action, instanceId, serviceId: 's', serverId, deviceIds: ['d0'], reason: 'test' });

describe('PlacementApplier: what a drain waits for', () => {
  it('waits for the replacements only, not for the drained instance to show ready in the view', async () => {
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 5 } }, hosted: ['s'], clock, timers });
    // This server's own entry already shows the instance it drains as draining; the replacement on b is ready.
    const entries: Record<string, ServerEntry> = { a: server('a', [instance('s#0', 'draining')]), b: server('b', [instance('new-b', 'ready')]) };
    const view = (): ClusterView => ({ entries });
    const logger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const applier = new PlacementApplier({ selfId: 'a', executor, view, timers, readyTimeoutMs: 10_000, pollMs: 10, logger, applied: () => undefined });
    const d: PlacementDecision = {
      kind: 'placement', leader: 'L', leaderEpoch: 1, seq: 1, trigger: 'period', goodputPerSec: 0,
      instances: [{ instanceId: 'new-b', serviceId: 's', plan, serverId: 'b', deviceIds: ['d0'] }],
      changes: [step('load', 'new-b', 'b'), step('drain', 's#0', 'a')],
    };
    // Drained without any timer advanced: no poll for the drained instance's status.
    const done = applier.apply(d);
    await new Promise((r) => setImmediate(r));
    expect(executor.instances().map((i) => i.instanceId)).toEqual([]);
    expect(timers.pending).toBe(0);
    await done;
  });
});

describe('PlacementApplier: a replacement on this server', () => {
  it('drains the old instance once its replacement here loaded, and keeps it when that load failed', async () => {
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    const logger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const decision = (newId: string, seq: number): PlacementDecision => ({
      kind: 'placement', leader: 'L', leaderEpoch: 1, seq, trigger: 'period', goodputPerSec: 0,
      instances: [{ instanceId: newId, serviceId: 's', plan, serverId: 'a', deviceIds: ['d1'] }],
      changes: [step('load', newId, 'a'), step('drain', 's#0', 'a')],
    });
    const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 5 } }, hosted: ['s'], clock, timers });
    const applier = new PlacementApplier({ selfId: 'a', executor, view: () => ({ entries: {} }), timers, readyTimeoutMs: 10_000, pollMs: 10, logger, applied: () => undefined });
    const settle = async (p: Promise<void>): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setImmediate(r));
        timers.advance(10);
      }
      await p;
    };
    await settle(applier.apply(decision('new-a', 1)));
    expect(executor.instances().map((i) => [i.instanceId, i.status])).toEqual([['new-a', 'ready']]);

    // The same again with a load that fails: the old instance keeps serving.
    const failing = createFakeExecutor({ services: { s: { serviceTimeMs: 5 } }, hosted: ['s'], clock, timers });
    failing.load = () => Promise.reject(new Error('no memory'));
    const kept = new PlacementApplier({ selfId: 'a', executor: failing, view: () => ({ entries: {} }), timers, readyTimeoutMs: 10_000, pollMs: 10, logger, applied: () => undefined });
    await settle(kept.apply(decision('new-a2', 2)));
    expect(failing.instances().map((i) => [i.instanceId, i.status])).toEqual([['s#0', 'ready']]);
  });
});
