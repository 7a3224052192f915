import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError, type NamedTensors } from '@epara/core';
import { createDevice, fakeModelBytes, type DeviceHandle } from '@epara/runtime';
import { createTritonBatcher } from './triton-batcher.js';

const model = fakeModelBytes({
  inputs: [
    { name: 'x', type: 'float32', dims: ['batch', 2] },
    { name: 'state', type: 'float32', dims: [2, 'batch', 1] },
  ],
  outputs: [
    { name: 'y', from: 'x', scale: 2, offset: 1 },
    { name: 'stateN', from: 'state', offset: 1 },
  ],
});
const item = (a: number): NamedTensors => ({
  x: { type: 'float32', dims: [1, 2], data: new Float32Array([a, -a]) },
  state: { type: 'float32', dims: [2, 1, 1], data: new Float32Array([a, 10 * a]) },
});
const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: unknown) => (isEparaError(e) ? e.code : String(e)));

describe('Triton-like dynamic batcher (fake backend)', () => {
  let device: DeviceHandle | undefined;
  afterEach(async () => device?.close());

  async function setup(maxBatch: number, maxQueueDelayMs: number) {
    device = createDevice({ id: 'fake', backend: { kind: 'fake' } });
    await device.loadModel('m', { bytes: model });
    return createTritonBatcher({ device, modelKey: 'm', maxBatch, maxQueueDelayMs, axes: { state: 1, stateN: 1 } });
  }

  it('runs max_batch_size at once when that many wait, the rest after the queue delay, and splits outputs per request', async () => {
    const b = await setup(4, 1);
    const outs = await Promise.all([1, 2, 3, 4, 5, 6].map((a) => b.submit(item(a), 10_000)));
    expect(b.stats).toEqual({ batches: 2, items: 6 });
    outs.forEach((o, i) => {
      const a = i + 1;
      expect(Array.from(o['y']!.data as Float32Array)).toEqual([2 * a + 1, -2 * a + 1]);
      expect(o['stateN']!.dims).toEqual([2, 1, 1]); // batch axis 1 split back per request
      expect(Array.from(o['stateN']!.data as Float32Array)).toEqual([a + 1, 10 * a + 1]);
    });
    b.close();
  });

  it('rejects a request whose queue timeout has passed (timeout_action: REJECT) and settles the queue on close', async () => {
    const b = await setup(8, 50);
    const expired = b.submit(item(1), 0);
    const queued = b.submit(item(2), 10_000);
    b.close();
    expect(await code(expired)).toBe('DEADLINE_EXCEEDED');
    expect(['ok', 'CLOSED']).toContain(await code(queued));
    expect(await code(b.submit(item(3), 1000))).toBe('CLOSED');
  });
});
