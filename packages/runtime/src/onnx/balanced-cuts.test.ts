import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { isEparaError, type TensorLike } from '@epara/core';
import { balancedCuts } from './balanced-cuts.js';
import { splitModel } from './split-model.js';
import { buildMlp } from './models/mlp.js';
import { maxAbsDiff, runWithOrt } from './testing/run-with-ort.js';
import { models, seededFloats } from '../../../../test/fixtures/models.js';

describe('balancedCuts', () => {
  it('splits an MLP of equal layers in the middle, one tensor crossing each cut', () => {
    const bytes = buildMlp({ inputSize: 64, hidden: [64, 64, 64, 64, 64], outputs: 64, seed: 1 });
    const { cutTensors, stageWeightBytes } = balancedCuts(bytes, { stages: 2 });
    expect(cutTensors).toEqual(['h2']);
    expect(stageWeightBytes[0]).toBe(stageWeightBytes[1]);
    const three = balancedCuts(bytes, { stages: 3 });
    expect(three.cutTensors).toEqual(['h1', 'h3']);
    for (const s of splitModel(bytes, { cutTensors: three.cutTensors }).slice(1)) expect(s.inputs).toHaveLength(1);
  });

  it('balances the weights of the real PP-OCR detector and the split still computes the whole model', async () => {
    const bytes = readFileSync(models.ocrDet);
    const { cutTensors, stageWeightBytes } = balancedCuts(bytes, { stages: 2 });
    expect(cutTensors).toHaveLength(1);
    const total = stageWeightBytes[0]! + stageWeightBytes[1]!;
    expect(Math.min(...stageWeightBytes) / total).toBeGreaterThan(0.4);
    const stages = splitModel(bytes, { cutTensors: [...cutTensors] });
    expect(stages[1]!.inputs).toContain(cutTensors[0]);
    const x: TensorLike = { type: 'float32', dims: [1, 3, 64, 64], data: seededFloats(3 * 64 * 64, 9) };
    const whole = await runWithOrt(bytes, { x });
    const mid = await runWithOrt(stages[0]!.bytes, { x });
    const out = await runWithOrt(stages[1]!.bytes, Object.fromEntries(stages[1]!.inputs.map((n) => [n, mid[n]!])));
    expect(maxAbsDiff(out['sigmoid_0.tmp_0']!, whole['sigmoid_0.tmp_0']!)).toBeLessThanOrEqual(1e-5);
  });

  it('rejects a stage count below 2 with INVALID_OPTIONS', () => {
    const bytes = buildMlp({ inputSize: 4, hidden: [4], outputs: 2 });
    try {
      balancedCuts(bytes, { stages: 1 });
      expect.unreachable();
    } catch (err) {
      expect(isEparaError(err) && err.code).toBe('INVALID_OPTIONS');
    }
  });
});
