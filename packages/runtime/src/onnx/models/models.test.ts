import { describe, expect, it } from 'vitest';
import { isEparaError, type TensorLike } from '@epara/core';
import { buildMlp } from './mlp.js';
import { buildConv3dVideoModel } from './conv3d-video-model.js';
import { buildTinyCausalLm } from './tiny-causal-lm.js';
import { ioNames, maxAbsDiff, runWithOrt, values } from '../testing/run-with-ort.js';

const i64 = (dims: number[], values: number[]): TensorLike => ({ type: 'int64', dims, data: BigInt64Array.from(values.map(BigInt)) });

describe('generated fixture models', () => {
  it('tiny causal LM: a left-padded row gives exactly the logits of the same tokens alone', async () => {
    const bytes = buildTinyCausalLm({ vocab: 50, dModel: 32, layers: 2, heads: 4, maxSeq: 16, seed: 9 });
    expect(await ioNames(bytes)).toEqual({ inputs: ['input_ids', 'attention_mask'], outputs: ['logits'] });
    const batched = await runWithOrt(bytes, {
      input_ids: i64([2, 5], [0, 0, 4, 8, 15, 16, 23, 42, 4, 8]),
      attention_mask: i64([2, 5], [0, 0, 1, 1, 1, 1, 1, 1, 1, 1]),
    });
    const alone = await runWithOrt(bytes, { input_ids: i64([1, 3], [4, 8, 15]), attention_mask: i64([1, 3], [1, 1, 1]) });
    expect(batched['logits']!.dims).toEqual([2, 1, 50]);
    expect(values(batched['logits']!).slice(0, 50)).toEqual(values(alone['logits']!));
  });

  it('tiny causal LM: the causal mask hides later tokens (all-position logits)', async () => {
    const bytes = buildTinyCausalLm({ vocab: 20, dModel: 16, layers: 1, heads: 2, maxSeq: 8, logits: 'all', seed: 1 });
    const mask = i64([1, 3], [1, 1, 1]);
    const a = await runWithOrt(bytes, { input_ids: i64([1, 3], [1, 2, 3]), attention_mask: mask });
    const b = await runWithOrt(bytes, { input_ids: i64([1, 3], [1, 2, 9]), attention_mask: mask });
    expect(a['logits']!.dims).toEqual([1, 3, 20]);
    expect(values(a['logits']!).slice(0, 40)).toEqual(values(b['logits']!).slice(0, 40));
    expect(values(a['logits']!).slice(40)).not.toEqual(values(b['logits']!).slice(40));
  });

  it('tiny causal LM with a KV cache: prefill then decode matches full recomputation (same weights for the seed)', async () => {
    const o = { vocab: 40, dModel: 16, layers: 2, heads: 2, maxSeq: 16, seed: 3 };
    const plain = buildTinyCausalLm(o);
    const kv = buildTinyCausalLm({ ...o, kvCache: true });
    expect((await ioNames(kv)).outputs).toEqual(['logits', 'present_key_0', 'present_value_0', 'present_key_1', 'present_value_1']);
    const empty: TensorLike = { type: 'float32', dims: [1, 2, 0, 8], data: new Float32Array(0) };
    const seq = [4, 9, 1, 7, 7];
    let out = await runWithOrt(kv, {
      input_ids: i64([1, 3], seq.slice(0, 3)),
      attention_mask: i64([1, 3], [1, 1, 1]),
      ...Object.fromEntries(['past_key_0', 'past_value_0', 'past_key_1', 'past_value_1'].map((n) => [n, empty])),
    });
    for (let t = 3; t < 5; t++) {
      const past = Object.fromEntries([0, 1].flatMap((l) => ['key', 'value'].map((k) => [`past_${k}_${l}`, out[`present_${k}_${l}`]!])));
      out = await runWithOrt(kv, { input_ids: i64([1, 1], [seq[t]!]), attention_mask: i64([1, t + 1], Array(t + 1).fill(1)), ...past });
      const ref = await runWithOrt(plain, { input_ids: i64([1, t + 1], seq.slice(0, t + 1)), attention_mask: i64([1, t + 1], Array(t + 1).fill(1)) });
      expect(out['present_key_0']!.dims).toEqual([1, 2, t + 1, 8]);
      expect(maxAbsDiff(out['logits']!, ref['logits']!)).toBeLessThan(1e-5);
    }
  });

  it('3-D conv video model classifies clips f32[N,C,T,H,W]', async () => {
    const bytes = buildConv3dVideoModel({ frames: 4, channels: 3, height: 8, width: 8, classes: 5, seed: 2 });
    const x: TensorLike = { type: 'float32', dims: [3, 3, 4, 8, 8], data: Float32Array.from({ length: 3 * 3 * 4 * 64 }, (_, i) => Math.sin(i)) };
    const out = await runWithOrt(bytes, { x });
    expect(out['logits']!.dims).toEqual([3, 5]);
    expect(values(out['logits']!).every(Number.isFinite)).toBe(true);
  });

  it('MLP maps f32[N, in] to f32[N, out]; bad sizes are INVALID_OPTIONS naming the field', async () => {
    const out = await runWithOrt(buildMlp({ inputSize: 3, hidden: [5], outputs: 2, seed: 1 }), {
      x: { type: 'float32', dims: [4, 3], data: new Float32Array(12).fill(1) },
    });
    expect(out['y']!.dims).toEqual([4, 2]);
    try {
      buildMlp({ inputSize: 3, hidden: [0], outputs: 2 });
      expect.unreachable();
    } catch (err) {
      expect(isEparaError(err) && err.code === 'INVALID_OPTIONS' && err.details['field']).toBe('hidden[0]');
    }
    expect(() => buildTinyCausalLm({ vocab: 8, dModel: 10, layers: 1, heads: 3, maxSeq: 4 })).toThrow(/multiple of heads/);
  });
});
