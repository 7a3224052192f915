import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { createGraphBuilder, type Executor } from '@epara/runtime';
import { expectServedAsReference, reference, service, startExecutor, type Reference } from './ground-truth.js';

/*
 * Every element type EPARA carries, through one model with an input and an output of each, served through
 * batches of concurrent requests of different values: each answer must be raw onnxruntime-node's on that request
 * alone — int64 beyond 2^53 exact, NaN/±∞/-0 unchanged, float16 bits as they are.
 */

const BIG = 2n ** 60n + 7n;

/** One input and output per type; without `text` (no string tensor) a batch runs from the device's slab. */
function dtypesModel(o: { text: boolean }): Uint8Array {
  const g = createGraphBuilder({ name: 'dtypes' });
  g.input('i64', 'int64', ['N', 3]);
  g.input('i32', 'int32', ['N', 3]);
  g.input('i8', 'int8', ['N', 2]);
  g.input('u8', 'uint8', ['N', 2]);
  g.input('flag', 'bool', ['N', 2]);
  g.input('half', 'float16', ['N', 2]);
  g.input('f64', 'float64', ['N', 2]);
  if (o.text) g.input('text', 'string', ['N']);
  g.input('u64', 'uint64', ['N', 2]);
  g.input('f32', 'float32', ['N', 4]);
  g.node('Add', ['i64', g.constant('big', 'int64', [3], [BIG, -BIG, 1n])], ['i64_out']);
  g.node('Mul', ['i32', g.constant('three', 'int32', [], [3])], ['i32_out']);
  g.node('Neg', ['i8'], ['i8_out']);
  g.node('Add', ['u8', g.constant('one', 'uint8', [], [1])], ['u8_out']);
  g.node('Not', ['flag'], ['flag_out']);
  g.node('Identity', ['half'], ['half_out']);
  g.node('Mul', ['f64', g.constant('two', 'float64', [], [2])], ['f64_out']);
  if (o.text) g.node('Identity', ['text'], ['text_out']);
  g.node('Identity', ['u64'], ['u64_out']);
  g.node('Mul', ['f32', g.constant('unit', 'float32', [], [1])], ['f32_out']);
  g.output('i64_out', 'int64', ['N', 3]);
  g.output('i32_out', 'int32', ['N', 3]);
  g.output('i8_out', 'int8', ['N', 2]);
  g.output('u8_out', 'uint8', ['N', 2]);
  g.output('flag_out', 'bool', ['N', 2]);
  g.output('half_out', 'float16', ['N', 2]);
  g.output('f64_out', 'float64', ['N', 2]);
  if (o.text) g.output('text_out', 'string', ['N']);
  g.output('u64_out', 'uint64', ['N', 2]);
  g.output('f32_out', 'float32', ['N', 4]);
  return g.toBytes();
}

/** Request `k`: values that differ per request, with the extremes of each type. */
function item(k: number, o: { text: boolean }): NamedTensors {
  const specials = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 3.5e38, 1e-45];
  return {
    i64: { type: 'int64', dims: [1, 3], data: new BigInt64Array([BigInt(k) * 3n ** 30n, 2n ** 62n - BigInt(k), -(2n ** 53n) - 1n - BigInt(k)]) },
    i32: { type: 'int32', dims: [1, 3], data: new Int32Array([k, -k, 2 ** 29 + k]) },
    i8: { type: 'int8', dims: [1, 2], data: new Int8Array([k - 128 + 1, 127 - k]) },
    u8: { type: 'uint8', dims: [1, 2], data: new Uint8Array([k, 255 - k]) },
    flag: { type: 'bool', dims: [1, 2], data: new Uint8Array([k % 2, 1 - (k % 2)]) },
    half: { type: 'float16', dims: [1, 2], data: new Uint16Array([0x3c00 + k, 0x7e00 + (k % 2) * 0x7c00 - (k % 2) * 0x7e00]) },
    f64: { type: 'float64', dims: [1, 2], data: new Float64Array([k / 3, specials[k % specials.length]!]) },
    ...(o.text ? { text: { type: 'string', dims: [1], data: [`request ${k} ${'é'.repeat(k)}`] } as const } : {}),
    u64: { type: 'uint64', dims: [1, 2], data: new BigUint64Array([2n ** 64n - 1n - BigInt(k), 2n ** 53n + 1n + BigInt(k)]) },
    f32: { type: 'float32', dims: [1, 4], data: new Float32Array([specials[k % specials.length]!, specials[(k + 1) % specials.length]!, k * 0.1, -k]) },
  };
}

describe.each([{ text: true }, { text: false }])('every element type through batches, strings: $text (real onnxruntime-node, against raw onnxruntime-node)', (o) => {
  const bytes = dtypesModel(o);
  let executor: Executor;
  let ref: Reference;
  beforeAll(async () => {
    ref = await reference(bytes);
    // 'measured': no profile and no sample — profiled at load on zeros of the model's fixed shapes.
    const { profile: _given, ...measured } = service('measured', bytes, { maxBatch: 4 });
    executor = await startExecutor([service('dtypes', bytes), measured], { warmup: 0, repetitions: 1 });
  });
  afterAll(async () => {
    await executor?.close();
    await ref?.release();
  });

  it('answers each request as raw onnxruntime-node does, in batches of several', async () => {
    const items = Array.from({ length: 12 }, (_, k) => item(k, o));
    const served = await expectServedAsReference(executor, 'dtypes', ref, items);
    expect(executor.itemSeparability('dtypes')).toBe('separable');
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
  });

  it('loads without a profile or a sample, and answers as raw onnxruntime-node', async () => {
    await expectServedAsReference(executor, 'measured', ref, Array.from({ length: 6 }, (_, k) => item(k + 20, o)));
    expect(executor.itemSeparability('measured')).toBe('separable');
  });
});
