import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { isEparaError, type NamedTensors, type TensorLike } from '@epara/core';
import { splitModel, type ModelStage } from './split-model.js';
import { buildMlp } from './models/mlp.js';
import { createGraphBuilder } from './graph-builder.js';
import { buildTinyCausalLm } from './models/tiny-causal-lm.js';
import { buildConv3dVideoModel } from './models/conv3d-video-model.js';
import { maxAbsDiff, runWithOrt } from './testing/run-with-ort.js';
import { models, seededFloats } from '../../../../test/fixtures/models.js';

/** Runs stages in order, feeding each the values it names from the graph inputs and earlier stages. */
async function runStages(stages: readonly ModelStage[], feeds: NamedTensors): Promise<Record<string, TensorLike>> {
  const values: Record<string, TensorLike> = { ...feeds };
  for (const stage of stages) {
    const stageFeeds = Object.fromEntries(stage.inputs.map((name) => [name, values[name]!]));
    Object.assign(values, await runWithOrt(stage.bytes, stageFeeds));
  }
  return values;
}

async function expectSplitMatches(bytes: Uint8Array, cutTensors: string[], feeds: NamedTensors): Promise<ModelStage[]> {
  const stages = splitModel(bytes, { cutTensors });
  expect(stages).toHaveLength(cutTensors.length + 1);
  const whole = await runWithOrt(bytes, feeds);
  const staged = await runStages(stages, feeds);
  for (const [name, tensor] of Object.entries(whole)) {
    expect(staged[name], name).toBeDefined();
    expect(maxAbsDiff(staged[name]!, tensor)).toBeLessThanOrEqual(1e-5);
  }
  return stages;
}

const f32 = (dims: number[], seed = 1): TensorLike => ({ type: 'float32', dims, data: seededFloats(dims.reduce((a, b) => a * b, 1), seed) });

describe('splitModel', () => {
  it('cuts an MLP between layers into stages with exact boundary values', async () => {
    const bytes = buildMlp({ inputSize: 16, hidden: [32, 32, 32], outputs: 4, seed: 2 });
    const stages = await expectSplitMatches(bytes, ['h0', 'h1'], { x: f32([3, 16]) });
    expect(stages.map((s) => [s.inputs, s.outputs])).toEqual([
      [['x'], ['h0']],
      [['h0'], ['h1']],
      [['h1'], ['y']],
    ]);
  });

  it('passes values used across several stages (the LM attention bias reaches every block)', async () => {
    const bytes = buildTinyCausalLm({ vocab: 40, dModel: 16, layers: 3, heads: 2, maxSeq: 12, seed: 4 });
    const ids = BigInt64Array.from([0n, 3n, 9n, 1n, 7n, 7n, 2n, 5n]);
    const mask = BigInt64Array.from([0n, 1n, 1n, 1n, 1n, 1n, 1n, 1n]);
    const stages = await expectSplitMatches(bytes, ['block0', 'block1'], {
      input_ids: { type: 'int64', dims: [2, 4], data: ids },
      attention_mask: { type: 'int64', dims: [2, 4], data: mask },
    });
    expect(stages[1]!.inputs).toContain('block0');
    expect(stages[1]!.inputs.length).toBeGreaterThan(1); // the bias computed in stage 0 travels on
  });

  it('splits the 3-D conv video model after its first convolution', async () => {
    const bytes = buildConv3dVideoModel({ frames: 4, channels: 3, height: 16, width: 16, seed: 5 });
    await expectSplitMatches(bytes, ['pool1'], { x: f32([2, 3, 4, 16, 16]) });
  });

  it('splits the real PP-OCR classifier at two intermediate tensors (skip connections travel on)', async () => {
    const bytes = readFileSync(models.ocrCls);
    const stages = await expectSplitMatches(bytes, ['conv2d_68.tmp_0', 'p2o.Mul.35'], { x: f32([2, 3, 48, 192], 3) });
    expect(stages[1]!.inputs).toEqual(expect.arrayContaining(['conv2d_68.tmp_0', 'hardswish_4.tmp_0']));
    expect(stages[2]!.outputs).toEqual(['softmax_0.tmp_0']);
  });

  it('splits the real PP-OCR detector (multi-scale feature maps cross the cut)', async () => {
    const bytes = readFileSync(models.ocrDet);
    const stages = await expectSplitMatches(bytes, ['p2o.Mul.109'], { x: f32([1, 3, 64, 64], 4) });
    expect(stages[0]!.outputs.length).toBe(4);
  });

  it('rejects unknown, repeated or empty-stage cuts with INVALID_OPTIONS', () => {
    const bytes = buildMlp({ inputSize: 4, hidden: [4, 4], outputs: 2 });
    const code = (cutTensors: string[]) => {
      try {
        splitModel(bytes, { cutTensors });
      } catch (err) {
        return isEparaError(err) ? err.code : 'not-epara';
      }
      return 'no-error';
    };
    expect(code(['nope'])).toBe('INVALID_OPTIONS');
    expect(code(['x'])).toBe('INVALID_OPTIONS');
    expect(code(['h0', 'h0'])).toBe('INVALID_OPTIONS');
    expect(code(['h1', 'h0'])).toBe('INVALID_OPTIONS');
    expect(code(['y'])).toBe('INVALID_OPTIONS');
    expect(code([])).toBe('INVALID_OPTIONS');
  });

  it('rejects a cut that leaves a stage computing only values nothing reads (every request failed MODEL_ERROR)', () => {
    // y = |x| is the output; `dead = -x` and `deadToo = 2x` are read by nothing.
    const g = createGraphBuilder({ name: 'dead-branches' });
    g.input('x', 'float32', ['N', 2]);
    g.node('Neg', ['x'], ['dead']);
    g.node('Abs', ['x'], ['y']);
    g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['deadToo']);
    g.output('y', 'float32', ['N', 2]);
    const bytes = g.toBytes();
    // Cut at a dead value: stage 0 computes it and hands nothing on.
    expect(() => splitModel(bytes, { cutTensors: ['dead'] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/'dead' leaves stage 0 computing only values nothing reads/) }));
    // Cut at the output: the last stage holds only the dead `deadToo`.
    expect(() => splitModel(bytes, { cutTensors: ['y'] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/last cut \('y'\) leaves stage 1 computing only values nothing reads/) }));
  });
});
