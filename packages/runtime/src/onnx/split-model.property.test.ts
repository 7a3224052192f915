import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isEparaError, type TensorLike } from '@epara/core';
import { splitModel } from './split-model.js';
import { decodeModel } from './onnx-codec.js';
import { buildTinyCausalLm } from './models/tiny-causal-lm.js';
import { maxAbsDiff, runWithOrt } from './testing/run-with-ort.js';

const lm = buildTinyCausalLm({ vocab: 24, dModel: 16, layers: 2, heads: 2, maxSeq: 8, logits: 'all', seed: 13 });
const candidates = decodeModel(lm).graph!.node!.filter((n) => n.opType !== 'Constant').map((n) => n.output![0]!);
const feeds: Record<string, TensorLike> = {
  input_ids: { type: 'int64', dims: [2, 4], data: BigInt64Array.from([0n, 5n, 7n, 1n, 3n, 3n, 9n, 23n]) },
  attention_mask: { type: 'int64', dims: [2, 4], data: BigInt64Array.from([0n, 1n, 1n, 1n, 1n, 1n, 1n, 1n]) },
};

describe('splitModel (property)', () => {
  it('any increasing choice of cut values either is refused with INVALID_OPTIONS or reproduces the whole model', async () => {
    const whole = (await runWithOrt(lm, feeds))['logits']!;
    let refused = 0;
    let split = 0;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 0, max: candidates.length - 1 }), { minLength: 1, maxLength: 3 }), async (picks) => {
        const cuts = [...picks].sort((a, b) => a - b).map((i) => candidates[i]!);
        let stages;
        try {
          stages = splitModel(lm, { cutTensors: cuts });
        } catch (err) {
          expect(isEparaError(err) && err.code).toBe('INVALID_OPTIONS');
          refused++;
          return;
        }
        const values: Record<string, TensorLike> = { ...feeds };
        for (const s of stages) {
          expect(s.inputs.every((name) => name in values)).toBe(true);
          Object.assign(values, await runWithOrt(s.bytes, Object.fromEntries(s.inputs.map((n) => [n, values[n]!]))));
        }
        expect(maxAbsDiff(values['logits']!, whole)).toBeLessThanOrEqual(1e-5);
        split++;
      }),
      { numRuns: 20, seed: 7 },
    );
    // Most random choices are valid splits (the property is not vacuous).
    expect(split).toBeGreaterThan(refused);
  });
});
