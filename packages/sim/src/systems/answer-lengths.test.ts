import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SERVICE_CATALOG } from '../model/services.js';
import { actualMs } from '../world/device-model.js';
import type { SimInstance, SimRequest } from '../world/types.js';
import { AnswerLengths, llmPackMs } from './answer-lengths.js';

/** The fields the run-time arithmetic reads of an `llm-chat` instance on one edge GPU. */
function chatInstance(): SimInstance {
  return {
    svc: SERVICE_CATALOG['llm-chat']!,
    devices: [{ kind: 'edge-gpu' }],
    profile: SERVICE_CATALOG['llm-chat']!.spec.profiles['edge-gpu']!,
    plan: { requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 18, capacityPerSec: 1.5, memoryPerDeviceBytes: 0, runMs: 9910, stages: 1 },
  } as unknown as SimInstance;
}

describe('answer lengths of an LLM service', () => {
  it('answers nothing until it has seen enough answers, then the quantile of the longest of n', () => {
    const a = new AnswerLengths(512, 20);
    for (let i = 1; i <= 19; i++) a.record(i * 10);
    expect(a.longestOf(1, 0.5)).toBeUndefined();
    a.record(200);
    // 20 answers 10 … 200: the median of one answer; the median longest of 10 is the 0.5^(1/10) = 0.933 quantile.
    expect(a.longestOf(1, 0.5)).toBe(100);
    expect(a.longestOf(10, 0.5)).toBe(190);
    expect(a.longestOf(64, 0.9)).toBe(200);
    expect(a.longestOf(4, 0.5)).toBeGreaterThan(a.longestOf(1, 0.5)!);
    // Bad input is ignored, not counted.
    a.record(Number.NaN);
    a.record(-3);
    expect(a.count).toBe(20);
  });

  it('starts from a prior and keeps only the most recent answers', () => {
    const a = new AnswerLengths(4, 2, [1000, 1000, 1000, 1000, 1000]);
    expect(a.count).toBe(4);
    expect(a.longestOf(1, 0.5)).toBe(1000);
    for (let i = 0; i < 4; i++) a.record(10);
    expect(a.longestOf(8, 0.99)).toBe(10);
  });

  it('is monotone in the pack size and the quantile, within the sample (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 64 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (xs, n, q) => {
        const a = new AnswerLengths(512, 1, xs);
        const v = a.longestOf(n, q)!;
        expect(v).toBeGreaterThanOrEqual(Math.min(...xs));
        expect(v).toBeLessThanOrEqual(Math.max(...xs));
        expect(a.longestOf(n + 1, q)!).toBeGreaterThanOrEqual(v);
        expect(a.longestOf(n, Math.min(1, q + 0.1))!).toBeGreaterThanOrEqual(v);
      }),
    );
  });

  it('estimates a pack as the world runs it when the longest answer is known', () => {
    const inst = chatInstance();
    const llm = inst.svc.llm!;
    // Prompts at the mean, the longest answer 430 tokens: the world's own run time of such a pack.
    const items = Array.from({ length: 15 }, (_, i) => ({ promptTokens: llm.promptTokensMean, outputTokens: i === 0 ? 430 : 100 }) as SimRequest);
    expect(llmPackMs(inst, 15, 430)).toBeCloseTo(actualMs(inst, items), 6);
    // The profile of the mean understates such a pack (it expects a longest answer of ~1.44 × 211 tokens).
    expect(llmPackMs(inst, 15, 430)).toBeGreaterThan(1.3 * 9128);
  });
});
