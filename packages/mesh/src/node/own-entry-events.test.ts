import { afterEach, describe, expect, it, vi } from 'vitest';
import { affineProfile, createManualClock } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { ServiceSpec } from '@epara/core';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { createMemoryHub } from '../transport/memory-hub.js';
import { createMemoryTransport } from '../transport/memory-transport.js';
import { PlacementCoordinator } from '../placement/placement-coordinator.js';
import { createNode } from './create-node.js';

/*
 * The ring rewrites this server's own entry every round its state moved (load, arrival rates, waits). That is a
 * change of the view (`viewChanged`: `whenView` on the own entry waits on it), but the placement coordinator reads
 * only the own entry's epoch and instances: it is woken when those change, not on every round.
 */

const ECHO: ServiceSpec = {
  id: 'echo',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 200 },
  memory: { weightsBytes: 10e6, perItemBytes: 1e6 },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 5, perItemMs: 1, maxBatch: 8 }) },
};
const PERIOD = 50;

afterEach(() => vi.restoreAllMocks());

async function soloNode() {
  const clock = createManualClock(1_000_000);
  const timers = createManualTimers(clock);
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: ['echo'], clock, timers });
  const node = createNode({
    id: 'solo',
    transport: createMemoryTransport({ hub: createMemoryHub(), address: 'solo' }),
    executor,
    security: { insecure: true },
    services: [ECHO],
    devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }],
    syncPeriodMs: PERIOD,
    placement: { initialDelayMs: 10 * PERIOD },
    placementPeriodMs: 3_600_000,
    clock,
    timers,
  });
  await node.start();
  /** Lets the node's promises run, then moves the clock `ms` (its timers fire on the way). */
  const advance = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 10) {
      timers.advance(10);
      await new Promise((r) => setImmediate(r));
    }
  };
  return { node, executor, advance };
}

describe("this server's own entry", () => {
  it('a change of it raises viewChanged; the coordinator is woken only when its epoch or instances change', async () => {
    const wakes = vi.spyOn(PlacementCoordinator.prototype, 'onViewChanged');
    const { node, executor, advance } = await soloNode();
    try {
      let changes = 0;
      node.on('viewChanged', () => void (changes += 1));
      await advance(2 * PERIOD);
      const wokenBefore = wakes.mock.calls.length;
      // A request each period: the arrival rates (and so the own entry) move every round.
      for (let k = 0; k < 20; k++) {
        void node.submit('echo', { x: { type: 'float32', dims: [1], data: Float32Array.of(k) } }).catch(() => undefined);
        await advance(PERIOD);
      }
      expect(changes).toBeGreaterThanOrEqual(10);
      expect(wakes.mock.calls.length).toBe(wokenBefore);
      // An instance loaded on this server is what the coordinator reads: it is woken for it.
      const loaded = executor.load({ serviceId: 'echo' } as never, { instanceId: 'second' });
      await advance(2 * PERIOD);
      await loaded;
      await advance(2 * PERIOD);
      expect(wakes.mock.calls.length).toBeGreaterThan(wokenBefore);
    } finally {
      await node.close();
    }
  });
});
