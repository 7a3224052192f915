import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphBuilder, type Executor } from '@epara/runtime';
import { f32 } from './fixtures/shape-models.js';
import { expectServedAsReference, reference, service, startExecutor, submitAll, type Reference } from './ground-truth.js';

/*
 * Inputs that share the batch's symbol (`a [batch, 4]`, `b [batch, 4]`) in a model whose requests never share a
 * run (its output sums over the batch): each request runs whole, of any number of rows, and must give both inputs
 * one number of rows — as it must give every other dim the model names alike one size. Disagreeing rows reached
 * onnxruntime and failed as the model's error (MODEL_ERROR), or broadcast one row against three.
 */

const g = createGraphBuilder({ name: 'summed-pair' });
g.input('a', 'float32', ['batch', 4]);
g.input('b', 'float32', ['batch', 4]);
g.node('Add', ['a', 'b'], ['s']);
g.node('ReduceSum', ['s', g.constant('rows', 'int64', [1], [0])], ['y'], { keepdims: 1 });
g.output('y', 'float32', [1, 4]);
const bytes = g.toBytes();

describe('inputs that share the batch symbol, in requests that run whole', () => {
  let executor: Executor;
  let ref: Reference;
  beforeAll(async () => {
    executor = await startExecutor([service('pair', bytes)]);
    ref = await reference(bytes);
  });
  afterAll(async () => {
    await executor?.close();
    await ref?.release();
  });

  it('serves requests whose inputs agree on the rows, as raw onnxruntime-node', async () => {
    await expectServedAsReference(executor, 'pair', ref, [1, 2, 3, 2].map((rows, s) => ({ a: f32([rows, 4], s), b: f32([rows, 4], s + 10) })));
    expect(executor.itemSeparability('pair')).toBe('not-separable');
  });

  it('refuses a request whose inputs disagree on the rows with INVALID_INPUT naming both, and serves the others', async () => {
    const served = await submitAll(executor, 'pair', [
      { a: f32([2, 4], 1), b: f32([3, 4], 2) },
      { a: f32([2, 4], 3), b: f32([2, 4], 4) },
      { a: f32([1, 4], 5), b: f32([3, 4], 6) },
    ]);
    expect(served.results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['INVALID_INPUT', 'ok', 'INVALID_INPUT']);
    const refused = served.results[0]!;
    if (!refused.ok) expect(refused.error.message).toMatch(/input 'b' dim 0 is 3, but input 'a' dim 0 is 2: the model names both 'batch'/);
  });
});
