import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom, type TensorLike } from '@epara/core';
import { buildTinyCausalLm, createDevice, createGenerationEngine, type DeviceHandle } from '@epara/runtime';
import { reference, type Reference } from './ground-truth.js';

/*
 * The differential fuzzer of generation: tiny causal LMs of random shapes and weights, each with and without a KV
 * cache (the same weights). Concurrent prompts of random lengths and token budgets go through the generation engine
 * on both (KV-cache decoding over left-padded, batched caches; decoding that recomputes the padded batch), and
 * every request's tokens must be raw onnxruntime-node's greedy decoding of that prompt alone, without a cache.
 * Where the reference's two best logits lie within rounding of each other, greedy decoding is not defined by the
 * model: tokens from that step on are not compared.
 *
 *   EPARA_FUZZ_MODELS=100 npx vitest run --project shared test/runtime-models/differential-generation-fuzz.test.ts
 */

const FIRST = Number(process.env['EPARA_FUZZ_SEED'] ?? 1);
const COUNT = Number(process.env['EPARA_FUZZ_MODELS'] ?? 3);
const SEEDS = Array.from({ length: COUNT }, (_, i) => FIRST + i);

/** Greedy decoding of one prompt alone with raw onnxruntime-node, and for each step whether its top two logits tie within rounding. */
async function greedy(ref: Reference, vocab: number, prompt: readonly number[], n: number): Promise<{ tokens: number[]; ties: boolean[] }> {
  const seq = [...prompt];
  const tokens: number[] = [];
  const ties: boolean[] = [];
  for (let k = 0; k < n; k++) {
    const L = seq.length;
    const feeds: Record<string, TensorLike> = {
      input_ids: { type: 'int64', dims: [1, L], data: BigInt64Array.from(seq, BigInt) },
      attention_mask: { type: 'int64', dims: [1, L], data: new BigInt64Array(L).fill(1n) },
    };
    const logits = (await ref.run(feeds, ['logits']))['logits']!.data as Float32Array;
    const base = logits.length - vocab;
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[base + v]! > logits[base + best]!) best = v;
    let second = -Infinity;
    let scale = 0;
    for (let v = 0; v < vocab; v++) {
      scale = Math.max(scale, Math.abs(logits[base + v]!));
      if (v !== best) second = Math.max(second, logits[base + v]!);
    }
    ties.push(logits[base + best]! - second <= 1e-4 * Math.max(1, scale));
    seq.push(best);
    tokens.push(best);
  }
  return { tokens, ties };
}

/** The first step where `got` leaves the reference before a tie; `undefined` when they agree up to one. */
function divergence(got: readonly number[], want: { tokens: number[]; ties: boolean[] }): number | undefined {
  if (got.length !== want.tokens.length) return Math.min(got.length, want.tokens.length);
  for (let i = 0; i < got.length; i++) {
    if (want.ties[i]) return undefined;
    if (got[i] !== want.tokens[i]) return i;
  }
  return undefined;
}

describe(`random tiny LMs ${FIRST}..${FIRST + COUNT - 1}: generated tokens are raw onnxruntime-node's greedy decoding alone`, () => {
  let device: DeviceHandle;
  beforeAll(() => {
    device = createDevice({ id: 'gen-fuzz', threads: 1 });
  });
  afterAll(async () => {
    await device?.close();
  });

  it('with and without a KV cache, concurrent prompts of random lengths', async () => {
    const found: string[] = [];
    for (const seed of SEEDS) {
      const r = createSeededRandom(seed * 13 + 3);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)]!;
      const heads = pick([1, 2, 4]);
      const shape = { vocab: pick([16, 32, 64]), dModel: heads * pick([4, 8]), layers: pick([1, 2]), heads, maxSeq: 24, seed };
      const prompts = Array.from({ length: 2 + Math.floor(r.next() * 4) }, () => Array.from({ length: 1 + Math.floor(r.next() * 8) }, () => Math.floor(r.next() * shape.vocab)));
      const budgets = prompts.map(() => 1 + Math.floor(r.next() * 8));
      const maxBatch = 1 + Math.floor(r.next() * 4);
      const ref = await reference(buildTinyCausalLm({ ...shape, kvCache: false }));
      try {
        const want: { tokens: number[]; ties: boolean[] }[] = [];
        for (const [i, p] of prompts.entries()) want.push(await greedy(ref, shape.vocab, p, budgets[i]!));
        for (const kvCache of [true, false]) {
          const engine = createGenerationEngine({ device, model: { bytes: buildTinyCausalLm({ ...shape, kvCache }) }, maxBatch, maxSeq: shape.maxSeq, calibrate: false });
          try {
            const got = await Promise.all(prompts.map((p, i) => engine.generate({ tokens: p, maxNewTokens: budgets[i]! }).collect()));
            got.forEach((tokens, i) => {
              const at = divergence(tokens, want[i]!);
              if (at !== undefined) {
                found.push(`seed ${seed} ${JSON.stringify(shape)} maxBatch ${maxBatch} ${kvCache ? 'KV cache' : 'no cache'}: prompt ${JSON.stringify(prompts[i])} gave ${JSON.stringify(tokens)}, greedy alone ${JSON.stringify(want[i]!.tokens)} (step ${at})`);
              }
            });
          } finally {
            await engine.close();
          }
        }
      } finally {
        await ref.release();
      }
    }
    expect(found).toEqual([]);
  }, 300_000);
});
