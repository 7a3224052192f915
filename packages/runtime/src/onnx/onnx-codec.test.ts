import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { isEparaError } from '@epara/core';
import { decodeModel, encodeModel } from './onnx-codec.js';
import { createGraphBuilder } from './graph-builder.js';
import { ONNX_ATTRIBUTE_TYPE } from './onnx-types.js';
import { runWithOrt, values } from './testing/run-with-ort.js';
import { models } from '../../../../test/fixtures/models.js';

describe('ONNX codec and graph builder', () => {
  it('builds a model onnxruntime runs, with symbolic batch dims and typed attributes', async () => {
    const g = createGraphBuilder({ name: 'affine', seed: 1 });
    g.input('x', 'float32', ['batch', 2]);
    g.constant('w', 'float32', [2, 2], [1, 2, 3, 4]);
    g.node('Gemm', ['x', 'w'], ['y'], { alpha: { float: 2 }, transB: 1 });
    g.output('y', 'float32', ['batch', 2]);
    const model = decodeModel(g.toBytes());
    const gemm = model.graph!.node![0]!;
    expect(gemm.attribute!.map((a) => [a.name, a.type])).toEqual([
      ['alpha', ONNX_ATTRIBUTE_TYPE.FLOAT],
      ['transB', ONNX_ATTRIBUTE_TYPE.INT],
    ]);
    expect(model.graph!.input![0]!.type!.tensorType!.shape!.dim).toEqual([{ dimParam: 'batch' }, { dimValue: 2 }]);
    const out = await runWithOrt(g.toBytes(), { x: { type: 'float32', dims: [3, 2], data: Float32Array.from([1, 0, 0, 1, 1, 1]) } });
    // y = 2 · x · wᵀ
    expect(values(out['y']!)).toEqual([2, 6, 4, 8, 6, 14]);
  });

  it('is deterministic: the same seed gives the same bytes, another seed other weights', () => {
    const build = (seed: number) => {
      const g = createGraphBuilder({ name: 'w', seed });
      g.input('x', 'float32', [1, 4]);
      g.node('MatMul', ['x', g.weight('w', [4, 4], 1)], ['y']);
      g.output('y', 'float32', [1, 4]);
      return g.toBytes();
    };
    expect(Buffer.from(build(5)).equals(Buffer.from(build(5)))).toBe(true);
    expect(Buffer.from(build(5)).equals(Buffer.from(build(6)))).toBe(false);
  });

  it('decodes a real exported model and re-encodes it to a model with the same outputs', async () => {
    const bytes = readFileSync(models.ocrCls);
    const model = decodeModel(bytes);
    expect(model.graph!.node!.length).toBeGreaterThan(50);
    expect(model.graph!.input![0]!.name).toBe('x');
    const x = { type: 'float32' as const, dims: [1, 3, 48, 192], data: new Float32Array(3 * 48 * 192).fill(0.25) };
    const [a, b] = [await runWithOrt(bytes, { x }), await runWithOrt(encodeModel(model), { x })];
    expect(values(b['softmax_0.tmp_0']!)).toEqual(values(a['softmax_0.tmp_0']!));
  });

  it('rejects bytes that are not a model with INVALID_INPUT', () => {
    const err = (() => {
      try {
        decodeModel(new Uint8Array([0xff, 0xff, 0xff, 0x01]));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isEparaError(err) && err.code).toBe('INVALID_INPUT');
  });
});
