import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { createExecutor, type Executor } from '@epara/runtime';
import { codeOf, doubler, flat, item } from './helpers.js';

const latency = { sensitivity: 'latency' as const, slo: { kind: 'latency' as const, deadlineMs: 1000 } };

function thrown(fn: () => unknown): { code?: string; field?: unknown } {
  try {
    fn();
    return {};
  } catch (err) {
    return isEparaError(err) ? { code: err.code, field: err.details['field'] } : { code: 'untyped' };
  }
}

describe('executor: bad input and resource limits', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('rejects wrong names, dtypes, shapes, unknown services, NaN deadlines and closed executors with codes', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [
        { id: 's', model: doubler(), ...latency, profile: flat(1), plan: { batchSize: 1 }, devices: ['d0'] },
        { id: 'idle', model: doubler(), ...latency, profile: flat(1) },
      ],
    });
    await ex.start();
    const f32 = (dims: number[], n = dims.reduce((a, b) => a * b, 1)) => ({ type: 'float32' as const, dims, data: new Float32Array(n) });
    expect(await codeOf(ex.submit('nope', item(1)))).toBe('UNKNOWN_SERVICE');
    expect(await codeOf(ex.submit('idle', item(1)))).toBe('NO_INSTANCE');
    expect(await codeOf(ex.submit('s', { z: f32([1, 2]) }))).toBe('INVALID_INPUT');
    expect(await codeOf(ex.submit('s', { x: f32([1, 2]), extra: f32([1]) }))).toBe('INVALID_INPUT');
    expect(await codeOf(ex.submit('s', { x: { type: 'int32', dims: [1, 2], data: new Int32Array(2) } }))).toBe('INVALID_INPUT');
    expect(await codeOf(ex.submit('s', { x: { type: 'float32', dims: [1, 2], data: new Int32Array(2) as never } }))).toBe('INVALID_INPUT');
    expect(await codeOf(ex.submit('s', { x: f32([1, 3]) }))).toBe('INVALID_INPUT');
    expect(await codeOf(ex.submit('s', { x: f32([2, 2]) }))).toBe('INVALID_INPUT'); // two items in one request
    expect(await codeOf(ex.submit('s', { x: f32([1, 2], 3) }))).toBe('INVALID_INPUT'); // data length
    expect(await codeOf(ex.submit('s', { x: f32([2]) }))).toBe('INVALID_INPUT'); // rank
    expect(await codeOf(ex.submit('s', item(1), { deadline: Number.NaN }))).toBe('INVALID_OPTIONS');
    expect(await codeOf(ex.submit('s', item(1), { priority: Number.POSITIVE_INFINITY }))).toBe('INVALID_OPTIONS');
    expect(await codeOf(ex.submit('s', item(1), { deadline: 0 }))).toBe('DEADLINE_EXCEEDED');
    expect(await codeOf(ex.submit('s', item(1)))).toBe('resolved');
    expect(thrown(() => ex!.openStream('s', { rateHz: Number.NaN })).code).toBe('INVALID_OPTIONS');
    expect(thrown(() => ex!.openStream('nope', { rateHz: 1 })).code).toBe('UNKNOWN_SERVICE');
    await ex.close();
    expect(await codeOf(ex.submit('s', item(1)))).toBe('CLOSED');
    expect(thrown(() => ex!.openStream('s', { rateHz: 1 })).code).toBe('CLOSED');
    expect(await codeOf(ex.load({ serviceId: 's' }))).toBe('CLOSED');
  });

  it('validates options, naming the field', () => {
    expect(thrown(() => createExecutor({ devices: [] }))).toEqual({ code: 'INVALID_OPTIONS', field: 'devices' });
    expect(thrown(() => createExecutor({ devices: [{ id: 'a' }, { id: 'a' }] }))).toEqual({ code: 'INVALID_OPTIONS', field: 'devices[1].id' });
    expect(
      thrown(() => createExecutor({ devices: [{ id: 'a' }], services: [{ id: 's', model: 'm.onnx', ...latency, devices: ['b'] }] })),
    ).toEqual({ code: 'INVALID_OPTIONS', field: 'services[0].devices[0]' });
    expect(
      thrown(() => createExecutor({ devices: [{ id: 'a' }], services: [{ id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: -1 } }] })),
    ).toEqual({ code: 'INVALID_OPTIONS', field: 'services[0].slo.deadlineMs' });
    expect(thrown(() => createExecutor({ devices: [{ id: 'a' }], guardMs: Number.NaN }))).toEqual({ code: 'INVALID_OPTIONS', field: 'guardMs' });
    for (const hostDelayQuantile of [-0.1, 1.5, Number.NaN, '0.5' as unknown as number]) {
      expect(thrown(() => createExecutor({ devices: [{ id: 'a' }], hostDelayQuantile }))).toEqual({ code: 'INVALID_OPTIONS', field: 'hostDelayQuantile' });
    }
    for (const warmShapesMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(thrown(() => createExecutor({ devices: [{ id: 'a' }], profiling: { warmShapesMs } }))).toEqual({ code: 'INVALID_OPTIONS', field: 'profiling.warmShapesMs' });
    }
    for (const networkBudgetMs of [-1, Number.NaN, 50, 80]) {
      // the test's latency SLO is 50 ms: a network budget that takes all of it leaves nothing to run the model in
      expect(
        thrown(() => createExecutor({ devices: [{ id: 'a' }], services: [{ id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 50 }, networkBudgetMs }] })),
      ).toEqual({ code: 'INVALID_OPTIONS', field: 'services[0].networkBudgetMs' });
    }
  });

  it('co-locates services while memory allows and refuses over-commit with OUT_OF_MEMORY', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0', memoryBytes: 100_000 }, { id: 'd1', memoryBytes: 100_000 }],
      launchWhenIdle: true,
      services: [
        { id: 'a', model: doubler({ memoryBytes: 30_000 }), ...latency, profile: flat(1), memoryBytes: 40_000 },
        { id: 'b', model: doubler({ memoryBytes: 30_000 }), ...latency, profile: flat(1), memoryBytes: 40_000 },
        { id: 'c', model: doubler({ memoryBytes: 30_000 }), ...latency, profile: flat(1), memoryBytes: 40_000 },
        { id: 'big', model: doubler({ memoryBytes: 90_000 }), ...latency, profile: flat(1), memoryBytes: 10_000 },
      ],
    });
    await ex.load({ serviceId: 'a' }, { deviceIds: ['d0'] });
    await ex.load({ serviceId: 'b' }, { deviceIds: ['d0'] });
    const err = await ex.load({ serviceId: 'c' }, { deviceIds: ['d0'] }).catch((e: unknown) => e);
    expect(isEparaError(err) && err.code).toBe('OUT_OF_MEMORY');
    // Declared 10 kB but the model measures 90 kB: the measured size counts, and it does not fit next to a.
    await ex.load({ serviceId: 'a' }, { deviceIds: ['d1'] });
    expect(await codeOf(ex.load({ serviceId: 'big' }, { deviceIds: ['d1'] }))).toBe('OUT_OF_MEMORY');
    const stats = ex.stats();
    expect(stats.devices['d0']!.memoryUsedBytes).toBe(80_000);
    expect(stats.devices['d1']!.memoryUsedBytes).toBe(40_000);
    // Both co-located services answer (time-shared on d0).
    const [ra, rb] = await Promise.all([ex.submit('a', item(1)), ex.submit('b', item(2))]);
    expect(ra['y']!.data[0]).toBe(3);
    expect(rb['y']!.data[0]).toBe(5);
  });
});
