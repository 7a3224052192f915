import { afterEach, describe, expect, it } from 'vitest';
import { createDevice, type DeviceHandle } from '@epara/runtime';
import { createTritonLikeServer } from '../../bench/lib/runtime-triton.js';
import { doubler } from './helpers.js';

const x = () => ({ type: 'float32' as const, dims: [1, 2], data: new Float32Array(2) });
const outcome = (p: Promise<unknown>): Promise<string> => p.then(() => 'served', (e: Error) => e.message);

// The bench's Triton-like baseline must offer the queue policy a Triton user tunes for overload; without it the
// baseline collapses under a sustained overload and the goodput ratio against it says nothing.
describe('bench baseline: Triton-like queue policy', () => {
  let device: DeviceHandle | undefined;
  afterEach(async () => {
    await device?.close();
    device = undefined;
  });

  it('rejects arrivals beyond max_queue_size at once, and times requests out a margin before their SLO', async () => {
    device = createDevice({ id: 't', backend: { kind: 'fake' } });
    await device.loadModel('m', { bytes: doubler({ fixedMs: 30 }) });
    const bounded = createTritonLikeServer({ device, modelKey: 'm', inputName: 'x', maxBatch: 1, maxQueueDelayMs: 0, maxQueueSize: 2 });
    // The first runs at once (30 ms); two wait; the fourth finds the queue full.
    const four = [0, 1, 2, 3].map(() => outcome(bounded.submit(x(), 10_000)));
    expect(await four[3]).toBe('exceeds maximum queue size');
    expect(await Promise.all(four.slice(0, 3))).toEqual(['served', 'served', 'served']);
    // Timeout = SLO − margin: behind a 30 ms run, a 1 s SLO with a 995 ms margin times out in the queue.
    const tuned = createTritonLikeServer({ device, modelKey: 'm', inputName: 'x', maxBatch: 1, maxQueueDelayMs: 0, queueTimeoutMarginMs: 995 });
    const first = outcome(tuned.submit(x(), 1000));
    const second = outcome(tuned.submit(x(), 1000));
    expect(await first).toBe('served');
    expect(await second).toBe('request timed out in queue');
  });
});
