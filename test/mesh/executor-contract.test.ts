import { affineProfile } from '@epara/core';
import type { NamedTensors } from '@epara/core';
import { createExecutor, fakeModelBytes } from '@epara/runtime';
import type { Executor } from '@epara/runtime';
import { runExecutorContract } from '@epara/mesh/testing';

/*
 * The runtime's executor held to the contract mesh's fake executor passes (packages/mesh/src/testing): what a mesh
 * test learns on the fake holds on the real one. The fake backend runs each batch 20 ms, one item a batch, on one
 * device worker; an input holding -99 kills the worker, and with no restarts allowed the device gives up.
 */

const CRASH = -99;
const model = fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x', scale: 2 }], fixedMs: 20, crashIfAnyEquals: CRASH });
const input: NamedTensors = { x: { type: 'float32', dims: [1, 2], data: new Float32Array([1, 2]) } };

runExecutorContract('runtime executor (fake backend)', {
  create: async ({ maxQueue }) => {
    const executor = createExecutor({
      backend: { kind: 'fake' },
      maxQueue,
      maxRestarts: 0,
      devices: [{ id: 'd0' }],
      services: [
        {
          id: 's',
          model,
          sensitivity: 'latency',
          slo: { kind: 'latency', deadlineMs: 60_000 },
          profile: affineProfile('cpu-1t', { fixedMs: 20, perItemMs: 0, maxBatch: 1 }),
          plan: { batchSize: 1 },
          maxBatch: 1,
          devices: ['d0'],
        },
      ],
    });
    try {
      await executor.start();
    } catch (err) {
      await executor.close();
      throw err;
    }
    return { executor, serviceId: 's', input, maxInFlight: 2, close: () => executor.close() };
  },
  failDevice: async ({ executor }) => {
    const failed = new Promise<string>((resolve) => (executor as Executor).once('deviceFailed', (e) => resolve(e.deviceId)));
    const crash: NamedTensors = { x: { type: 'float32', dims: [1, 2], data: new Float32Array([CRASH, CRASH]) } };
    await executor.submit('s', crash, { deadline: Date.now() + 30_000 }).catch(() => undefined);
    return failed;
  },
});
