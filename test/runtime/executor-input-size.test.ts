import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, isEparaError, type NamedTensors } from '@epara/core';
import { createExecutor, type BatchDispatchedEvent, type Executor } from '@epara/runtime';
import { createManualTimers } from '@epara/core/testing';
import { codeOf, doubler, flat } from './helpers.js';

const latency = (deadlineMs: number) => ({ sensitivity: 'latency' as const, slo: { kind: 'latency' as const, deadlineMs } });
/** An item of `n` float32 values (the model's second dim is free). */
const wide = (n: number): NamedTensors => ({ x: { type: 'float32', dims: [1, n], data: new Float32Array(n) } });

describe('executor: inputs larger than the profiled one', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  const start = async (o: { maxRequestBytes?: number } = {}) => {
    const clock = createManualClock(0);
    const timers = createManualTimers();
    // Profiled with 4 values per item: 10 ms per batch.
    ex = createExecutor({
      backend: { kind: 'fake' },
      clock,
      timers,
      adaptLatency: false,
      launchWhenIdle: true,
      devices: [{ id: 'd0' }],
      services: [
        {
          id: 's',
          model: doubler({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 'n'] }] }),
          ...latency(1000),
          profile: flat(10),
          sampleInputs: wide(4),
          plan: { batchSize: 4 },
          devices: ['d0'],
          ...o,
        },
      ],
    });
    await ex.start();
    return { clock, timers, ex };
  };

  it('expects a larger input to run proportionally longer, and refuses one that cannot meet its deadline even alone', async () => {
    const { ex } = await start();
    const batches: BatchDispatchedEvent[] = [];
    ex.on('batchDispatched', (e) => batches.push(e));
    await ex.submit('s', wide(12), { deadline: 1000 });
    expect(batches[0]!.expectedMs).toBeCloseTo(30); // 3× the profiled bytes: 3 × L(1)
    // 400× the profiled input: ~4 s alone against a 1 s deadline.
    const err = await ex.submit('s', wide(1600), { deadline: 1000 }).catch((e: unknown) => e);
    expect(isEparaError(err) && err.code).toBe('DEADLINE_INFEASIBLE');
    // The profiled size itself is served as before.
    expect(await codeOf(ex.submit('s', wide(4), { deadline: 1000 }))).toBe('resolved');
  });

  it('rejects a request above the service byte cap with INVALID_INPUT naming the sizes', async () => {
    const { ex } = await start({ maxRequestBytes: 1024 });
    const err = await ex.submit('s', wide(512), { deadline: 1e9 }).catch((e: unknown) => e);
    expect(isEparaError(err) && err.code).toBe('INVALID_INPUT');
    expect(isEparaError(err) && err.details).toMatchObject({ bytes: 2048, maxRequestBytes: 1024 });
    expect(await codeOf(ex.submit('s', wide(4), { deadline: 1e9 }))).toBe('resolved');
  });

  it('validates maxRequestBytes', () => {
    expect(() =>
      createExecutor({ backend: { kind: 'fake' }, devices: [{ id: 'd0' }], services: [{ id: 's', model: doubler(), ...latency(10), maxRequestBytes: -1 }] }),
    ).toThrow(/maxRequestBytes/);
  });
});
