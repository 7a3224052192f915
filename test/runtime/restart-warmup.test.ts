import { afterEach, describe, expect, it } from 'vitest';
import { affineProfile } from '@epara/core';
import { createDevice, createExecutor, type DeviceHandle, type Executor, type WorkerRestartedEvent } from '@epara/runtime';
import { codeOf, doubler, item, nextEvent, values } from './helpers.js';

/*
 * A worker restarted after a crash has new sessions, which meet every batch size cold: the device warms the sizes
 * warmed at load again before the restarted worker takes a call (calls made meanwhile wait for it).
 */

describe('warm-up after a restart', () => {
  const devices: DeviceHandle[] = [];
  let ex: Executor | undefined;
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.close()));
    await ex?.close();
    ex = undefined;
  });

  it('warms a restarted worker’s models before a call made during the restart is sent', async () => {
    const d = createDevice({ id: 'w', backend: { kind: 'fake' } });
    devices.push(d);
    await d.loadModel('m', { bytes: doubler({ fixedMs: 1 }) });
    const order: string[] = [];
    d.warmAfterRestart!('m', async (run) => {
      for (let b = 1; b <= 3; b++) {
        const x = new Float32Array(2 * b).fill(b);
        await run({ x: { type: 'float32', dims: [b, 2], data: x } }, {});
        order.push(`warm ${b}`);
      }
      return 3;
    });
    const restarted = nextEvent<WorkerRestartedEvent>(d, 'workerRestarted');
    expect(await codeOf(d.run('m', item(-99)))).toBe('WORKER_CRASHED');
    const during = d.run('m', item(4)).then((out) => {
      order.push('call');
      return values(out);
    });
    expect(await restarted).toEqual({ deviceId: 'w', restarts: 1, reloadedModels: 1, warmedSizes: 3 });
    expect(await during).toEqual([9, 1]);
    expect(order).toEqual(['warm 1', 'warm 2', 'warm 3', 'call']);
  });

  it('forgets the warm-up of an unloaded model', async () => {
    const d = createDevice({ id: 'u', backend: { kind: 'fake' } });
    devices.push(d);
    await d.loadModel('m', { bytes: doubler() });
    await d.loadModel('k', { bytes: doubler() });
    let warmed = 0;
    d.warmAfterRestart!('m', async () => ++warmed);
    await d.unloadModel('m');
    const restarted = nextEvent<WorkerRestartedEvent>(d, 'workerRestarted');
    expect(await codeOf(d.run('k', item(-99)))).toBe('WORKER_CRASHED');
    expect(await restarted).toMatchObject({ reloadedModels: 1, warmedSizes: 0 });
    expect(warmed).toBe(0);
  });

  it('an executor’s restarted device warms the sizes its instance warmed at load, as many as the profile prices within the budget', async () => {
    // L(b) = 1 + b ms: two runs per size cost 4, 6, 8, 10, 12 ms; a budget of 30 ms covers sizes 1–4 (28 ms).
    const profile = affineProfile('cpu-1t', { fixedMs: 1, perItemMs: 1, maxBatch: 8 });
    ex = createExecutor({
      backend: { kind: 'fake' },
      launchWhenIdle: true,
      profiling: { warmShapesMs: 30 },
      devices: [{ id: 'd0' }],
      services: [{ id: 's', model: doubler(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 5000 }, profile, plan: { batchSize: 1 }, maxBatch: 8, batchable: true, devices: ['d0'] }],
    });
    await ex.start();
    const restarted = nextEvent<WorkerRestartedEvent>(ex, 'workerRestarted');
    expect(await codeOf(ex.submit('s', item(-99)))).toBe('WORKER_CRASHED');
    expect(await restarted).toMatchObject({ deviceId: 'd0', reloadedModels: 1, warmedSizes: 4 });
    expect(values(await ex.submit('s', item(2)))).toEqual([5, 1]);
  });
});
