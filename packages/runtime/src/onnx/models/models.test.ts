import { describe, expect, it } from 'vitest';
import { isEparaError, type TensorLike } from '@epara/core';
import { buildMlp } from './mlp.js';
import { buildConv3dVideoModel } from './conv3d-video-model.js';
import { buildTinyCausalLm } from './tiny-causal-lm.js';
import { ioNames, runWithOrt, values } from '../testing/run-with-ort.js';

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
