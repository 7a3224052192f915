import { affineProfile, type NamedTensors } from '@epara/core';
import { fakeModelBytes } from '../devices/fake-backend.js';
import { createExecutor } from './create-executor.js';
import type { Executor } from './executor.js';

/**
 * The set-up of the tests that follow one request at a time through the executor (host timers per request, stage
 * marks): one fake model (`y = 2x + 1` on a `[batch, 2]` float input), one latency service `s` at batch 1 on device
 * d0, reached by message (`doorbellSlotBytes: 0`) or through the doorbell (undefined: the default).
 */
export function sequentialExecutor(doorbellSlotBytes: number | undefined): Executor {
  return createExecutor({
    backend: { kind: 'fake' },
    devices: [{ id: 'd0', ...(doorbellSlotBytes === undefined ? {} : { doorbellSlotBytes }) }],
    services: [
      {
        id: 's',
        model: MODEL,
        sensitivity: 'latency',
        slo: { kind: 'latency', deadlineMs: 60_000 },
        profile: affineProfile('cpu-1t', { fixedMs: 0.05, perItemMs: 0.005, maxBatch: 1 }),
        plan: { batchSize: 1 },
        maxBatch: 1,
        devices: ['d0'],
      },
    ],
  });
}

/** One item of service `s`: `x = [v, v]`, answered `y = [2v + 1, 2v + 1]`. */
export const sequentialItem = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 2], data: new Float32Array([v, v]) } });

const MODEL = fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x', scale: 2, offset: 1 }] });
