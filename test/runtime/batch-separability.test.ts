import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { affineProfile, type NamedTensors, type StreamResult } from '@epara/core';
import { createDevice, createExecutor, createGraphBuilder, type DeviceHandle, type Executor, type ExecutorServiceOptions } from '@epara/runtime';

/*
 * Models that are not batch-separable, built in code and run on onnxruntime-node: stacking requests into one
 * run would change each one's answer. Every request must get exactly what it gets alone.
 */

/** `y = x / max(x)` with the max over the WHOLE tensor (batch included): names say batch, numbers do not. */
function maxNormModel(): Uint8Array {
  const g = createGraphBuilder({ name: 'maxnorm' });
  g.input('x', 'float32', ['batch', 16]);
  const max = g.op('ReduceMax', ['x'], { keepdims: 0 });
  g.node('Div', ['x', max], ['y']);
  g.output('y', 'float32', ['batch', 16]);
  return g.toBytes();
}

/** `y = xᵀ` declared `[3, n]`: the output's first dim is not the batch and no dim carries the batch's name. */
function transposeModel(): Uint8Array {
  const g = createGraphBuilder({ name: 'transpose' });
  g.input('x', 'float32', ['batch', 3]);
  g.node('Transpose', ['x'], ['y'], { perm: [1, 0] });
  g.output('y', 'float32', [3, 'n']);
  return g.toBytes();
}

/** A mel-style front end: `[batch, 4, 8]` folded to `[4, batch·8]`, declared under foreign free dim names. */
function foldModel(): Uint8Array {
  const g = createGraphBuilder({ name: 'fold' });
  g.input('x', 'float32', ['batch', 4, 8]);
  const t = g.op('Transpose', ['x'], { perm: [1, 0, 2] });
  g.node('Reshape', [t, g.constant('shape', 'int64', [2], [4, -1])], ['y']);
  g.output('y', 'float32', ['frames', 'bins']);
  return g.toBytes();
}

/** A separable control: `y = relu(x) · 2` (with a free feature dim when `free`). */
function separableModel(free = false): Uint8Array {
  const g = createGraphBuilder({ name: 'relu2' });
  g.input('x', 'float32', ['batch', free ? 'n' : 16]);
  g.node('Mul', [g.op('Relu', ['x']), g.constant('two', 'float32', [], [2])], ['y']);
  g.output('y', 'float32', ['batch', free ? 'n' : 16]);
  return g.toBytes();
}

/** A model with a fixed batch of one: `y = 2x` over `x f32[1, 300]`. */
function fixedModel(): Uint8Array {
  const g = createGraphBuilder({ name: 'fixed' });
  g.input('x', 'float32', [1, 300]);
  g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
  g.output('y', 'float32', [1, 300]);
  return g.toBytes();
}

/** {@link maxNormModel} with a free feature dim: no sample to check with at load. */
function freeMaxNormModel(): Uint8Array {
  const g = createGraphBuilder({ name: 'maxnorm-free' });
  g.input('x', 'float32', ['batch', 'n']);
  g.node('Div', ['x', g.op('ReduceMax', ['x'], { keepdims: 0 })], ['y']);
  g.output('y', 'float32', ['batch', 'n']);
  return g.toBytes();
}

const item = (dims: number[], seed: number): NamedTensors => {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(seed * 31 + i * 7) * (1 + seed);
  return { x: { type: 'float32', dims, data } };
};

const profile = affineProfile('cpu-1t', { fixedMs: 1, perItemMs: 0.01, maxBatch: 64 });
const latency = (id: string, model: Uint8Array, more: Partial<ExecutorServiceOptions> = {}): ExecutorServiceOptions => ({
  id,
  model,
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 20_000 },
  profile,
  devices: ['cpu0'],
  ...more,
});

const SHAPES: Record<string, number[]> = { fixed: [1, 300], 'relu2-free': [1, 16], 'maxnorm-free': [1, 16], maxnorm: [1, 16], transpose: [1, 3], fold: [1, 4, 8], relu2: [1, 16], axis1: [1, 3], forced: [1, 16], off: [1, 16] };
const MODEL_OF: Record<string, string> = { fixed: 'fixed', 'relu2-free': 'relu2', 'maxnorm-free': 'maxnorm', maxnorm: 'maxnorm', transpose: 'transpose', fold: 'fold', relu2: 'relu2', axis1: 'transpose', forced: 'maxnorm', off: 'relu2' };

describe('batching only what is batch-separable (real onnxruntime-node)', () => {
  const bytes: Record<string, Uint8Array> = { fixed: fixedModel(), maxnorm: maxNormModel(), transpose: transposeModel(), fold: foldModel(), relu2: separableModel() };
  const warnings: { serviceId?: string; reason?: string; msg?: string }[] = [];
  const waiters = new Set<() => void>();
  /** Resolves when the executor has logged `msg` for the service (now or later). */
  const logged = (serviceId: string, msg: string): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (!warnings.some((w) => w.serviceId === serviceId && w.msg === msg)) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  let ex: Executor;
  let solo: DeviceHandle;
  const sizes = new Map<string, number[]>();

  beforeAll(async () => {
    const log = (o: object, msg?: string): void => {
      warnings.push({ ...(o as { serviceId?: string; reason?: string }), ...(msg ? { msg } : {}) });
      for (const w of [...waiters]) w();
    };
    ex = createExecutor({
      devices: [{ id: 'cpu0' }],
      adaptLatency: false,
      // A partial batch launches on an idle device: the rest of a burst queues behind it and forms a batch.
      launchWhenIdle: true,
      logger: { debug: () => undefined, info: log, warn: log, error: () => undefined },
      services: [
        latency('maxnorm', bytes['maxnorm']!),
        latency('transpose', bytes['transpose']!),
        latency('fold', bytes['fold']!),
        latency('fixed', bytes['fixed']!),
        latency('relu2', bytes['relu2']!),
        // Explicit axis: the transpose is separable along axis 1, and the check confirms it.
        latency('axis1', bytes['transpose']!, { outputs: { y: { batchAxis: 1 } } }),
        latency('forced', bytes['maxnorm']!, { batchable: true }),
        latency('off', bytes['relu2']!, { batchable: false }),
        latency('relu2-free', separableModel(true)),
        latency('maxnorm-free', freeMaxNormModel()),
        {
          id: 'maxnorm-stream',
          model: bytes['maxnorm']!,
          sensitivity: 'frequency',
          slo: { kind: 'frequency', rateHz: 100, stalenessMs: 20_000 },
          profile,
          plan: { batchSize: 8, capacityPerSec: 10_000 },
          devices: ['cpu0'],
        },
      ],
    });
    ex.on('batchDispatched', (e) => sizes.set(e.serviceId, [...(sizes.get(e.serviceId) ?? []), e.size]));
    await ex.start();
    solo = createDevice({ id: 'solo' });
    for (const [name, b] of Object.entries(bytes)) await solo.loadModel(name, { bytes: b });
  });
  afterAll(async () => {
    await ex?.close();
    await solo?.close();
  });

  async function expectSoloResults(serviceId: string): Promise<void> {
    const inputs = Array.from({ length: 32 }, (_, i) => item(SHAPES[serviceId]!, i));
    const got = await Promise.all(inputs.map((x) => ex.submit(serviceId, x)));
    for (let i = 0; i < inputs.length; i++) {
      const want = await solo.run(MODEL_OF[serviceId]!, item(SHAPES[serviceId]!, i));
      expect(got[i]!['y']!.dims).toEqual(want['y']!.dims);
      expect(Array.from(got[i]!['y']!.data as Float32Array)).toEqual(Array.from(want['y']!.data as Float32Array));
    }
  }

  it.each(['maxnorm', 'transpose', 'fold', 'fixed'])('%s: 32 concurrent requests each get exactly their solo result, run unbatched with a logged reason', async (id) => {
    await expectSoloResults(id);
    expect(Math.max(...(sizes.get(id) ?? [1]))).toBe(1);
    expect(warnings.find((w) => w.serviceId === id)?.reason).toMatch(/differs|no batch dim|failed|no input has a free batch dim/);
    expect(ex.instances().find((i) => i.serviceId === id)!.batchSize).toBe(1);
  });

  it('still batches a separable model (names and numbers agree), and an explicit batch axis', async () => {
    for (const id of ['relu2', 'axis1']) {
      await expectSoloResults(id);
      expect(Math.max(...sizes.get(id)!)).toBeGreaterThan(1);
      expect(warnings.find((w) => w.serviceId === id)).toBeUndefined();
    }
  });

  it('the batchable option overrides the checks both ways', async () => {
    await Promise.all(Array.from({ length: 16 }, (_, i) => ex.submit('forced', item([1, 16], i))));
    expect(Math.max(...sizes.get('forced')!)).toBeGreaterThan(1);
    await expectSoloResults('off');
    expect(Math.max(...sizes.get('off')!)).toBe(1);
    expect(warnings.find((w) => w.serviceId === 'off')?.reason).toMatch(/batchable: false/);
  });

  it('checks a model with free dims and no sampleInputs with its first request, then batches only if it passes', async () => {
    for (const id of ['relu2-free', 'maxnorm-free']) {
      await ex.submit(id, item([1, 16], 99));
      await logged(id, id === 'relu2-free' ? 'service batches after checking its first request' : 'service runs unbatched');
    }
    await expectSoloResults('relu2-free');
    expect(Math.max(...sizes.get('relu2-free')!)).toBeGreaterThan(1);
    await expectSoloResults('maxnorm-free');
    expect(Math.max(...sizes.get('maxnorm-free')!)).toBe(1);
    expect(warnings.filter((w) => w.serviceId === 'maxnorm-free').map((w) => w.reason).join(' ')).toMatch(/differs from single runs/);
  });

  it('an instance unbatched for good takes a request of several rows and runs it whole; a batched one still takes one', async () => {
    for (const [id, model] of [['maxnorm', 'maxnorm'], ['off', 'relu2']] as const) {
      const rows = item([3, 16], 5);
      const got = await ex.submit(id, rows);
      const want = await solo.run(model, item([3, 16], 5));
      expect(got['y']!.dims).toEqual([3, 16]);
      expect(Array.from(got['y']!.data as Float32Array)).toEqual(Array.from(want['y']!.data as Float32Array));
    }
    await expect(ex.submit('relu2', item([3, 16], 5))).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/one item per request/) });
  });

  it('tells a front end which services may have a request of several items split into one request per item', () => {
    // Refuted by the numeric check: splitting would answer differently, like stacking does.
    expect(ex.itemSeparability('maxnorm')).toBe('not-separable');
    // Checked and separable, or vouched for by the service.
    expect(ex.itemSeparability('relu2')).toBe('separable');
    expect(ex.itemSeparability('forced')).toBe('separable');
    // Names that leave the model no batch: splitting would be as wrong as stacking.
    expect(ex.itemSeparability('transpose')).toBe('not-separable');
    expect(ex.itemSeparability('fold')).toBe('not-separable');
    // Never checked: the service turned it off.
    expect(ex.itemSeparability('off')).toBeUndefined();
    expect(ex.itemSeparability('no-such-service')).toBeUndefined();
  });

  it('tells a front end the batch axis of each input and output it would split a request along', () => {
    expect(ex.batchAxes('relu2')).toEqual({ inputs: { x: 0 }, outputs: { y: 0 } });
    // The service moves the output's batch axis (a transpose): items are stacked on dimension 1 of y.
    expect(ex.batchAxes('axis1')).toEqual({ inputs: { x: 0 }, outputs: { y: 1 } });
    expect(ex.batchAxes('no-such-service')).toBeUndefined();
  });

  it('does not pack stream frames of a non-separable model', async () => {
    const streams = [ex.openStream('maxnorm-stream', { rateHz: 50 }), ex.openStream('maxnorm-stream', { rateHz: 50 })];
    const collected = streams.map(async (s) => {
      const out: StreamResult[] = [];
      for await (const r of s) out.push(r);
      return out;
    });
    for (let k = 0; k < 8; k++) streams.forEach((s, j) => s.push(item([1, 16], 10 * j + k)));
    await Promise.all(streams.map((s) => s.close()));
    const results = await Promise.all(collected);
    for (let j = 0; j < 2; j++) {
      for (let k = 0; k < 8; k++) {
        const r = results[j]![k]!;
        expect(r.ok).toBe(true);
        const want = await solo.run('maxnorm', item([1, 16], 10 * j + k));
        if (r.ok) expect(Array.from(r.outputs['y']!.data as Float32Array)).toEqual(Array.from(want['y']!.data as Float32Array));
      }
    }
    expect(Math.max(...sizes.get('maxnorm-stream')!)).toBe(1);
  });
});
