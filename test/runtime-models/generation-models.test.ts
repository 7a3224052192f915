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

/** Greedy decoding of one prompt with raw onnxruntime-node. */
async function greedy(ref: Reference, prompt: readonly number[], n: number): Promise<number[]> {
  const tokens = [...prompt];
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const r = await ref.run({ input_ids: { type: 'int64', dims: [1, tokens.length], data: BigInt64Array.from(tokens, BigInt) } });
    const logits = r['logits']!.data as Float32Array;
    const base = (tokens.length - 1) * VOCAB;
    let best = 0;
    for (let v = 1; v < VOCAB; v++) if (logits[base + v]! > logits[base + best]!) best = v;
    tokens.push(best);
    out.push(best);
  }
  return out;
}

/** A model outside what the engine feeds and reads: a `position_ids` input, int32 ids, or other logits. */
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

  it.each([
    ['a position_ids input', misfit({ positions: true }), /input 'position_ids' is not one the engine feeds/],
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
