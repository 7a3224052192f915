import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevice, createGenerationEngine, createGraphBuilder, type DeviceHandle, type GenerationEngine } from '@epara/runtime';
import { reference, type Reference } from './ground-truth.js';

/*
 * Language models the generation engine has not met: each request's tokens must be raw onnxruntime-node's greedy
 * decoding of that prompt alone, however the engine batches sequences of different lengths.
 */

const VOCAB = 16;

/**
 * A causal model without `attention_mask`: `logits[t] = (Σ_{s≤t} E[ids_s]) · W` — every earlier token counts, a
 * pad token included, so a left-padded row answers differently from the prompt alone.
 */
function maskless(): Uint8Array {
  const g = createGraphBuilder({ name: 'maskless', seed: 5 });
  g.input('input_ids', 'int64', ['batch', 'seq']);
  const emb = g.op('Gather', [g.weight('embed', [VOCAB, 8], 1), 'input_ids']);
  const running = g.op('CumSum', [emb, g.constant('seq_axis', 'int64', [], [1])]);
  g.node('MatMul', [running, g.weight('head', [8, VOCAB], 1)], ['logits']);
  g.output('logits', 'float32', ['batch', 'seq', VOCAB]);
  return g.toBytes();
}

/**
 * The same without a mask, with a KV cache: `present_key_0 = [past_key_0, E[ids]]` (one head), and
 * `logits = (Σ present_key_0) · W` at the last position only — every cached and new token counts, a pad too.
 */
function masklessKv(): Uint8Array {
  const g = createGraphBuilder({ name: 'maskless-kv', seed: 6 });
  g.input('input_ids', 'int64', ['batch', 'seq']);
  g.input('past_key_0', 'float32', ['batch', 1, 'past', 8]);
  g.input('past_value_0', 'float32', ['batch', 1, 'past', 8]);
  const emb = g.op('Gather', [g.weight('embed', [VOCAB, 8], 1), 'input_ids']);
  const fresh = g.op('Unsqueeze', [emb, g.constant('head_axis', 'int64', [1], [1])]);
  g.node('Concat', ['past_key_0', fresh], ['present_key_0'], { axis: 2 });
  g.node('Concat', ['past_value_0', fresh], ['present_value_0'], { axis: 2 });
  const total = g.op('ReduceSum', ['present_key_0', g.constant('seq_axis', 'int64', [1], [2])], { keepdims: 0 });
  g.node('MatMul', [total, g.weight('head', [8, VOCAB], 1)], ['logits']);
  g.output('logits', 'float32', ['batch', 1, VOCAB]);
  g.output('present_key_0', 'float32', ['batch', 1, 'total', 8]);
  g.output('present_value_0', 'float32', ['batch', 1, 'total', 8]);
  return g.toBytes();
}

/** Greedy decoding of one prompt with raw onnxruntime-node (a KV model fed an empty cache, the whole sequence). */
async function greedy(ref: Reference, prompt: readonly number[], n: number, kv = false): Promise<number[]> {
  const tokens = [...prompt];
  const out: number[] = [];
  const empty = { type: 'float32' as const, dims: [1, 1, 0, 8], data: new Float32Array(0) };
  for (let k = 0; k < n; k++) {
    const ids = { type: 'int64' as const, dims: [1, tokens.length], data: BigInt64Array.from(tokens, BigInt) };
    const r = await ref.run(kv ? { input_ids: ids, past_key_0: empty, past_value_0: empty } : { input_ids: ids }, ['logits']);
    const logits = r['logits']!.data as Float32Array;
    const base = (r['logits']!.dims[1]! - 1) * VOCAB;
    let best = 0;
    for (let v = 1; v < VOCAB; v++) if (logits[base + v]! > logits[base + best]!) best = v;
    tokens.push(best);
    out.push(best);
  }
  return out;
}

/** A model with a `position_ids` input, or outside what the engine feeds and reads: int32 ids, other logits. */
function misfit(o: { positions?: boolean; ids?: 'int32'; logits?: { name: string; type: 'float32' | 'float16' } }): Uint8Array {
  const g = createGraphBuilder({ name: 'misfit', seed: 5 });
  g.input('input_ids', o.ids ?? 'int64', ['batch', 'seq']);
  g.input('attention_mask', 'int64', ['batch', 'seq']);
  let h = g.op('Gather', [g.weight('embed', [VOCAB, 8], 1), 'input_ids']);
  if (o.positions) {
    g.input('position_ids', 'int64', ['batch', 'seq']);
    h = g.op('Add', [h, g.op('Gather', [g.weight('positions', [32, 8], 1), 'position_ids'])]);
  }
  const logits = g.op('MatMul', [h, g.weight('head', [8, VOCAB], 1)]);
  const { name, type } = o.logits ?? { name: 'logits', type: 'float32' };
  g.node(type === 'float16' ? 'Cast' : 'Identity', [logits], [name], type === 'float16' ? { to: 10 } : {});
  g.output(name, type, ['batch', 'seq', VOCAB]);
  return g.toBytes();
}

const prompts = [[3, 1, 4], [1, 5, 9, 2, 6, 5], [3], [5, 8, 9, 7]];

describe('generation with models the engine has not met (against raw onnxruntime-node)', () => {
  let device: DeviceHandle;
  let ref: Reference;
  const engines: GenerationEngine[] = [];
  const bytes = maskless();
  beforeAll(async () => {
    device = createDevice({ id: 'gen', threads: 1 });
    ref = await reference(bytes);
  });
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await device?.close();
    await ref?.release();
  });

  it('a model without attention_mask: sequences of different lengths are never padded into one run', async () => {
    const expected = await Promise.all(prompts.map((p) => greedy(ref, p, 6)));
    const engine = createGenerationEngine({ device, model: { bytes }, maxBatch: 4, maxSeq: 16, padToken: 0 });
    engines.push(engine);
    const got = await Promise.all(prompts.map((p) => engine.generate({ tokens: p, maxNewTokens: 6 }).collect()));
    expect(got).toEqual(expected);
  });

  it('a KV-cache model without attention_mask: prompts and caches of different lengths are never padded into one run', async () => {
    const kv = masklessKv();
    const kvRef = await reference(kv);
    try {
      const expected = await Promise.all(prompts.map((p) => greedy(kvRef, p, 6, true)));
      const engine = createGenerationEngine({ device, model: { bytes: kv }, maxBatch: 4, maxSeq: 16, padToken: 0 });
      engines.push(engine);
      const got = await Promise.all(prompts.map((p) => engine.generate({ tokens: p, maxNewTokens: 6 }).collect()));
      expect(got).toEqual(expected);
    } finally {
      await kvRef.release();
    }
  });

  it('a model that takes position_ids: each row counts positions from its first token, whatever its padding', async () => {
    const bytes = misfit({ positions: true });
    const posRef = await reference(bytes);
    try {
      const expected: number[][] = [];
      for (const p of prompts) {
        // Alone: the whole sequence each step, positions 0…L−1.
        const tokens = [...p];
        for (let k = 0; k < 5; k++) {
          const L = tokens.length;
          const feeds = {
            input_ids: { type: 'int64' as const, dims: [1, L], data: BigInt64Array.from(tokens, BigInt) },
            attention_mask: { type: 'int64' as const, dims: [1, L], data: new BigInt64Array(L).fill(1n) },
            position_ids: { type: 'int64' as const, dims: [1, L], data: BigInt64Array.from({ length: L }, (_, i) => BigInt(i)) },
          };
          const logits = (await posRef.run(feeds, ['logits']))['logits']!.data as Float32Array;
          let best = 0;
          for (let v = 1; v < VOCAB; v++) if (logits[(L - 1) * VOCAB + v]! > logits[(L - 1) * VOCAB + best]!) best = v;
          tokens.push(best);
        }
        expected.push(tokens.slice(p.length));
      }
      const engine = createGenerationEngine({ device, model: { bytes }, maxBatch: 4, maxSeq: 16, padToken: 0 });
      engines.push(engine);
      const got = await Promise.all(prompts.map((p) => engine.generate({ tokens: p, maxNewTokens: 5 }).collect()));
      expect(got).toEqual(expected);
      expect(engine.stats().maxBatchSeen).toBeGreaterThan(1);
    } finally {
      await posRef.release();
    }
  });

  it.each([
    ['int32 input_ids', misfit({ ids: 'int32' }), /input 'input_ids' is int32/],
    ['logits under another name', misfit({ logits: { name: 'scores', type: 'float32' } }), /no logits output \(outputs: scores\)/],
    ['float16 logits', misfit({ logits: { name: 'logits', type: 'float16' } }), /output 'logits' is float16/],
  ])('refuses a model with %s at load (LOAD_FAILED), instead of failing or misreading every request', async (_what, model, message) => {
    for (const calibrate of [true, false]) {
      const engine = createGenerationEngine({ device, model: { bytes: model }, maxBatch: 2, maxSeq: 16, calibrate });
      engines.push(engine);
      const err = (await engine.start().then(
        () => undefined,
        (e: unknown) => e,
      )) as { code?: string; message?: string } | undefined;
      expect(err?.code).toBe('LOAD_FAILED');
      expect(err?.message).toMatch(message);
    }
  });
});
