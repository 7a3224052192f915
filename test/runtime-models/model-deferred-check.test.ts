import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor, createGraphBuilder, type Executor } from '@epara/runtime';
import type { NamedTensors } from '@epara/core';
import { reference, type Reference } from './ground-truth.js';
import { addTfStyleGraph } from '../fixtures/tf-style-model.js';

/*
 * A model with free dims and no sampleInputs is checked for batching with its first request (docs/runtime.md,
 * Batchability); until then every request runs alone. A request of several rows on the batch axis is whole: a front
 * end that cannot tell the batch from the dim names (tf2onnx names every unknown dim apart: `unk__1`, `unk__3`)
 * sends it as it came. It was refused INVALID_INPUT ("one item per request") before the check — and the check never
 * ran, as it waits for a request that passes — and for good once the check found the model mixes rows. Until the
 * check says requests stack, a whole request runs as the model runs it.
 */

const i64 = (dims: number[], values: number[]): NamedTensors[string] => ({ type: 'int64', dims, data: BigInt64Array.from(values.map(BigInt)) });
const f32 = (dims: number[], values: number[]): NamedTensors[string] => ({ type: 'float32', dims, data: Float32Array.from(values) });

/** tf2onnx's shape: `pooled = Σ_seq(ids + mask)`, `emb = 2·ids`, every unknown dim named apart. */
const tfStyle = (() => {
  const g = createGraphBuilder({ name: 'tf-style' });
  addTfStyleGraph(g);
  return g.toBytes();
})();
/** `y = x − mean over the rows of x`: rows are not independent (the check refutes batching). */
const centered = (() => {
  const g = createGraphBuilder({ name: 'centered' });
  g.input('x', 'float32', ['rows', 'k']);
  g.node('ReduceMean', ['x'], ['m'], { axes: [0], keepdims: 1 });
  g.node('Sub', ['x', 'm'], ['y']);
  g.output('y', 'float32', ['rows', 'k']);
  return g.toBytes();
})();

const service = (id: string, model: Uint8Array) => ({ id, model, sensitivity: 'latency' as const, slo: { kind: 'latency' as const, deadlineMs: 60_000 }, devices: ['cpu0'] });

describe('requests of several rows while the batch check waits for a request, or after it refuted batching', () => {
  let executor: Executor;
  const refs: Record<string, Reference> = {};
  let verdict: (id: string) => Promise<string>;
  beforeAll(async () => {
    const waiting = new Map<string, (msg: string) => void>();
    const note = (obj: object | string, msg?: string): void => {
      const id = typeof obj === 'object' ? (obj as { serviceId?: string }).serviceId : undefined;
      if (id === undefined || (msg !== 'service batches after checking its first request' && msg !== 'service runs unbatched')) return;
      waiting.get(id)?.(msg);
    };
    verdict = (id) => new Promise<string>((resolve) => waiting.set(id, resolve));
    executor = createExecutor({
      devices: [{ id: 'cpu0', threads: 1 }],
      launchWhenIdle: true,
      profiling: { warmup: 0, repetitions: 1 },
      logger: { debug: () => undefined, info: note, warn: note, error: () => undefined },
      services: [service('tf-style', tfStyle), service('centered', centered)],
    });
    await executor.start();
    refs['tf-style'] = await reference(tfStyle);
    refs['centered'] = await reference(centered);
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of Object.values(refs)) await r.release();
  });

  it('answers a first request of three rows as onnxruntime does, and checks with it', async () => {
    const decided = verdict('tf-style');
    const request = { 'input_ids:0': i64([3, 2], [1, 2, 3, 4, 5, 6]), 'attention_mask:0': i64([3, 2], [1, 1, 1, 1, 1, 0]) };
    const want = await refs['tf-style']!.run(request);
    const out = await executor.submit('tf-style', request);
    expect(out['pooled:0']).toMatchObject({ dims: [3], data: want['pooled:0']!.data });
    expect(out['emb:0']).toMatchObject({ dims: [3, 2], data: want['emb:0']!.data });
    expect(await decided).toBe('service batches after checking its first request');
    // From then on requests of one item stack; one of several rows (sent whole by a front end that decided before the
    // verdict) still runs alone, never stacked with them.
    const item = (v: number): NamedTensors => ({ 'input_ids:0': i64([1, 2], [v, v + 1]), 'attention_mask:0': i64([1, 2], [1, 1]) });
    const rows = { 'input_ids:0': i64([3, 2], [9, 8, 7, 6, 5, 4]), 'attention_mask:0': i64([3, 2], [0, 1, 0, 1, 0, 1]) };
    const sizes: number[] = [];
    executor.on('batchDispatched', (e) => sizes.push(e.size));
    const [a, whole, b, c] = await Promise.all([executor.submit('tf-style', item(1)), executor.submit('tf-style', rows), executor.submit('tf-style', item(3)), executor.submit('tf-style', item(5))]);
    expect([a, b, c].map((o) => Array.from(o!['pooled:0']!.data as BigInt64Array))).toEqual([[5n], [9n], [13n]]);
    expect(whole!['pooled:0']).toMatchObject({ dims: [3], data: (await refs['tf-style']!.run(rows))['pooled:0']!.data });
    expect(Math.max(...sizes)).toBeGreaterThan(1);
  });

  it('answers requests of several rows as onnxruntime does once the check found the rows mixed', async () => {
    const decided = verdict('centered');
    await executor.submit('centered', { x: f32([1, 2], [1, 2]) });
    expect(await decided).toBe('service runs unbatched');
    for (const request of [{ x: f32([3, 2], [1, 2, 3, 4, 5, 9]) }, { x: f32([2, 3], [0, 1, 2, 4, 4, 4]) }]) {
      const want = await refs['centered']!.run(request);
      const out = await executor.submit('centered', request);
      expect(out['y']).toMatchObject({ dims: want['y']!.dims, data: want['y']!.data });
    }
  });
});
