import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTinyCausalLm, createDevice, createGenerationEngine, type DeviceHandle, type GenerationEngine, type StepCompletedEvent } from '@epara/runtime';

const lm = buildTinyCausalLm({ vocab: 64, dModel: 32, layers: 2, heads: 4, maxSeq: 40, seed: 21, kvCache: true });
const prompts = [[5, 9, 2], [17, 3, 3, 40, 8, 1, 12], [7], [33, 34, 35, 36, 37], [60, 2, 19, 19, 4, 11, 27, 0, 3]];
const limits = [12, 5, 9, 7, 10];
let device: DeviceHandle;
const engines: GenerationEngine[] = [];
const engine = (maxBatch: number): GenerationEngine => {
  const e = createGenerationEngine({ device, model: { bytes: lm }, maxBatch, maxSeq: 40 });
  engines.push(e);
  return e;
};
let alone: number[][];

beforeAll(async () => {
  device = createDevice({ id: 'lm-kv', threads: 1 });
  const solo = engine(1);
  alone = [];
  for (const [i, p] of prompts.entries()) alone.push(await solo.generate({ tokens: p, maxNewTokens: limits[i]! }).collect());
});

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await device.close();
});

describe('generation with a KV-cache model', () => {
  it('batched decoding over left-padded caches gives exactly the tokens of decoding alone', async () => {
    const e = engine(3);
    const steps: StepCompletedEvent[] = [];
    e.on('stepCompleted', (s) => steps.push(s));
    const batched = await Promise.all(prompts.map((p, i) => e.generate({ tokens: p, maxNewTokens: limits[i]! }).collect()));
    expect(batched).toEqual(alone);
    // Prefill calls take the joiners' prompts; decode calls feed one token per sequence over the cache.
    expect(steps[0]).toMatchObject({ batch: 3, seqLen: 7 }); // the first three prompts prefilled together
    expect(steps.some((s) => s.batch === 3 && s.seqLen > 9)).toBe(true);
    expect(steps.some((s, i) => i > 0 && s.batch === 1 && steps[i - 1]!.batch > 1)).toBe(true); // a joiner was prefilled mid-run
    expect(e.stats()).toMatchObject({ completed: 5, active: 0, maxBatchSeen: 3, tokensGenerated: limits.reduce((a, b) => a + b) });
  });

  it('aborting mid-generation frees the slot and drops the cache', async () => {
    const e = engine(1);
    const controller = new AbortController();
    const first = e.generate({ tokens: prompts[0]!, maxNewTokens: 30, signal: controller.signal });
    const second = e.generate({ tokens: prompts[1]!, maxNewTokens: limits[1]! });
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const t of first) if (got.push(t) === 3) controller.abort();
      })(),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(got).toEqual(alone[0]!.slice(0, 3));
    expect(await second.collect()).toEqual(alone[1]);
  });
});
