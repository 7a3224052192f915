import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TensorLike } from '@epara/core';
import { createDevice, createGenerationEngine, createGraphBuilder, encodeModel, type DeviceHandle, type GenerationEngine, type GraphBuilder, type OnnxGraph, type OnnxNode } from '@epara/runtime';
import { reference, type Reference } from './ground-truth.js';

/*
 * Causal LMs as exporters write them, with the names and extra inputs of each convention: optimum's merged
 * decoder (`past_key_values.N.key` → `present.N.key`, `position_ids`, a `use_cache_branch` that picks the
 * cached or the uncached subgraph), `past.N.key` → `present.N.key`, `past_key_N` → `present_key_N`. Every
 * request's tokens must be raw onnxruntime-node's greedy decoding of that prompt alone, recomputed in full each
 * step (no cache, positions 0…L−1): a cache fed under the wrong name, positions off by the padding or the cache,
 * or the uncached branch taken while decoding all give other tokens.
 */

const VOCAB = 16;
const HEADS = 2;
const HEAD_DIM = 4;
const D = HEADS * HEAD_DIM;

type Naming = 'optimum' | 'dotted' | 'underscore';
const pastName = (n: Naming, l: number, kv: 'key' | 'value'): string =>
  n === 'optimum' ? `past_key_values.${l}.${kv}` : n === 'dotted' ? `past.${l}.${kv}` : `past_${kv}_${l}`;
const presentName = (n: Naming, l: number, kv: 'key' | 'value'): string =>
  n === 'optimum' ? `present.${l}.${kv}` : n === 'dotted' ? `present.${l}.${kv}` : `present_${kv}_${l}`;

interface ExportOptions {
  readonly naming: Naming;
  readonly layers: number;
  /** A `position_ids` input (else the model has no positions). */
  readonly positions: boolean;
  /** A `use_cache_branch` input choosing, by an If node, between `concat(past, fresh)` and `fresh` alone. */
  readonly branch: boolean;
}

/**
 * A KV-cache LM of the given convention. Per layer `l`: `fresh = reshape(E[ids] + P[pos]) · (l + 1)` as
 * `[batch, heads, seq, headDim]`, `present = concat(past, fresh)` (or `fresh` on the uncached branch), and
 * `logits = Σ_l Σ_t mask_t · (present_key_l + present_value_l / 2)_t · W` at one position: every cached token
 * counts with its position, padding not (the mask), so a wrong cache, position or branch changes the tokens.
 */
function exportedLm(o: ExportOptions): Uint8Array {
  const g = createGraphBuilder({ name: `exported-${o.naming}`, seed: 9 });
  g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  if (o.positions) g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  for (let l = 0; l < o.layers; l++) {
    for (const kv of ['key', 'value'] as const) g.input(pastName(o.naming, l, kv), 'float32', ['batch_size', HEADS, 'past_sequence_length', HEAD_DIM]);
  }
  if (o.branch) g.input('use_cache_branch', 'bool', [1]);
  let h = g.op('Gather', [g.weight('embed', [VOCAB, D], 1), 'input_ids']);
  if (o.positions) h = g.op('Add', [h, g.op('Gather', [g.weight('positions', [32, D], 1), 'position_ids'])]);
  const heads = g.op('Transpose', [g.op('Reshape', [h, g.constant('split_heads', 'int64', [4], [0, 0, HEADS, HEAD_DIM])])], { perm: [0, 2, 1, 3] });
  const mask = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], { to: 1 }), g.constant('mask_axes', 'int64', [2], [1, 3])]);
  const branches: { node: OnnxNode; then: OnnxNode[]; else: OnnxNode[]; outs: string[] }[] = [];
  const totals: string[] = [];
  for (let l = 0; l < o.layers; l++) {
    const fresh = g.op('Mul', [heads, g.constant(`scale_${l}`, 'float32', [], [l + 1])]);
    for (const kv of ['key', 'value'] as const) {
      const past = pastName(o.naming, l, kv);
      const present = presentName(o.naming, l, kv);
      if (o.branch) {
        // Filled in below: the If node's subgraphs read `past` and `fresh` from the outer graph.
        const [node] = g.node('Identity', ['use_cache_branch'], [present]);
        branches.push({
          node: { opType: 'If', input: ['use_cache_branch'], output: [present], name: `if_${present}` },
          then: [{ opType: 'Concat', input: [past, fresh], output: [`${present}_cached`], attribute: [{ name: 'axis', type: 2, i: 2 }] }],
          else: [{ opType: 'Identity', input: [fresh], output: [`${present}_fresh`] }],
          outs: [node!],
        });
      } else g.node('Concat', [past, fresh], [present], { axis: 2 });
      const weighted = kv === 'key' ? present : g.op('Mul', [present, g.constant(`half_${l}`, 'float32', [], [0.5])]);
      totals.push(g.op('ReduceSum', [g.op('Mul', [weighted, mask]), g.constant(`seq_axis_${l}_${kv}`, 'int64', [1], [2])], { keepdims: 0 }));
    }
  }
  const total = totals.reduce((a, b) => g.op('Add', [a, b]));
  const flat = g.op('Reshape', [total, g.constant('merge_heads', 'int64', [3], [0, 1, D])]);
  g.node('MatMul', [flat, g.weight('head', [D, VOCAB], 1)], ['logits']);
  g.output('logits', 'float32', ['batch_size', 1, VOCAB]);
  for (let l = 0; l < o.layers; l++) {
    for (const kv of ['key', 'value'] as const) g.output(presentName(o.naming, l, kv), 'float32', ['batch_size', HEADS, 'total_sequence_length', HEAD_DIM]);
  }
  const model = g.toModel();
  if (o.branch) replaceWithIf(model.graph!, branches);
  return encodeModel(model);
}

/** Swaps each placeholder Identity for an If over `use_cache_branch` with the given branches. */
function replaceWithIf(graph: OnnxGraph, branches: { node: OnnxNode; then: OnnxNode[]; else: OnnxNode[]; outs: string[] }[]): void {
  const type = { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'b' }, { dimValue: HEADS }, { dimParam: 't' }, { dimValue: HEAD_DIM }] } } };
  for (const b of branches) {
    const at = graph.node!.findIndex((n) => n.opType === 'Identity' && n.output?.[0] === b.outs[0]);
    const sub = (name: string, nodes: OnnxNode[]): OnnxGraph => ({ name, node: nodes, output: [{ name: nodes[0]!.output![0]!, type }] });
    graph.node![at] = {
      ...b.node,
      attribute: [
        { name: 'then_branch', type: 5, g: sub(`${b.node.name}_then`, b.then) },
        { name: 'else_branch', type: 5, g: sub(`${b.node.name}_else`, b.else) },
      ],
    };
  }
}

/** Raw onnxruntime-node's greedy decoding of one prompt alone: the whole sequence each step, an empty cache. */
async function greedy(ref: Reference, o: ExportOptions, prompt: readonly number[], n: number): Promise<number[]> {
  const tokens = [...prompt];
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const L = tokens.length;
    const feeds: Record<string, TensorLike> = {
      input_ids: { type: 'int64', dims: [1, L], data: BigInt64Array.from(tokens, BigInt) },
      attention_mask: { type: 'int64', dims: [1, L], data: new BigInt64Array(L).fill(1n) },
    };
    if (o.positions) feeds['position_ids'] = { type: 'int64', dims: [1, L], data: BigInt64Array.from({ length: L }, (_, i) => BigInt(i)) };
    if (o.branch) feeds['use_cache_branch'] = { type: 'bool', dims: [1], data: new Uint8Array([0]) };
    for (let l = 0; l < o.layers; l++) {
      for (const kv of ['key', 'value'] as const) feeds[pastName(o.naming, l, kv)] = { type: 'float32', dims: [1, HEADS, 0, HEAD_DIM], data: new Float32Array(0) };
    }
    const logits = (await ref.run(feeds, ['logits']))['logits']!.data as Float32Array;
    let best = 0;
    for (let v = 1; v < VOCAB; v++) if (logits[v]! > logits[best]!) best = v;
    tokens.push(best);
    out.push(best);
  }
  return out;
}

const prompts = [[3, 1, 4], [1, 5, 9, 2, 6, 5], [3], [5, 8, 9, 7], [2, 7, 1, 8, 2, 8, 1]];

describe('generation with KV-cache LMs as exporters name them (against raw onnxruntime-node)', () => {
  let device: DeviceHandle;
  const engines: GenerationEngine[] = [];
  beforeAll(() => {
    device = createDevice({ id: 'gen-exports', threads: 1 });
  });
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await device?.close();
  });

  it.each<[string, ExportOptions]>([
    ['optimum merged decoder: past_key_values.N.key → present.N.key, position_ids, use_cache_branch', { naming: 'optimum', layers: 2, positions: true, branch: true }],
    ['optimum decoder with past: position_ids, no branch', { naming: 'optimum', layers: 2, positions: true, branch: false }],
    ['past.N.key → present.N.key without positions', { naming: 'dotted', layers: 1, positions: false, branch: false }],
    ['past_key_N → present_key_N with position_ids', { naming: 'underscore', layers: 2, positions: true, branch: false }],
  ])('%s: batched over left-padded caches, every request gets its tokens alone', async (_what, o) => {
    const bytes = exportedLm(o);
    const ref = await reference(bytes);
    try {
      const expected: number[][] = [];
      for (const p of prompts) expected.push(await greedy(ref, o, p, 6));
      for (const calibrate of [true, false]) {
        const engine = createGenerationEngine({ device, model: { bytes }, maxBatch: 3, maxSeq: 16, padToken: 0, calibrate });
        engines.push(engine);
        const got = await Promise.all(prompts.map((p) => engine.generate({ tokens: p, maxNewTokens: 6 }).collect()));
        expect(got).toEqual(expected);
        expect(engine.stats().maxBatchSeen).toBeGreaterThan(1);
      }
    } finally {
      await ref.release();
    }
  });

  /** A KV model whose cache the engine cannot keep: built from the optimum layout, then altered. */
  const misfit = (alter: (g: GraphBuilder) => void, pastDims: (number | string)[] = ['batch', HEADS, 'past', HEAD_DIM], pastType: 'float32' | 'float16' = 'float32'): Uint8Array => {
    const g = createGraphBuilder({ name: 'kv-misfit', seed: 3 });
    g.input('input_ids', 'int64', ['batch', 'seq']);
    g.input('attention_mask', 'int64', ['batch', 'total']);
    g.input('past_key_values.0.key', pastType, pastDims);
    g.node('Gather', [g.weight('embed', [VOCAB, VOCAB], 1), 'input_ids'], ['logits']);
    g.output('logits', 'float32', ['batch', 'seq', VOCAB]);
    g.node('Identity', ['past_key_values.0.key'], ['present.0.key']);
    g.output('present.0.key', pastType, pastDims);
    alter(g);
    return g.toBytes();
  };

  it.each([
    ['a cache input with no matching output', misfit((g) => g.input('past_key_values.0.value', 'float32', ['batch', HEADS, 'past', HEAD_DIM])), /past_key_values\.0\.value.*no matching present/],
    ['a fused key-value cache of rank 3', misfit(() => undefined, ['batch', 'past', 2 * D]), /past_key_values\.0\.key.*\[batch, heads, past, headDim\]/],
    ['a float16 cache', misfit(() => undefined, undefined, 'float16'), /past_key_values\.0\.key is float16/],
    ['int32 position_ids', misfit((g) => g.input('position_ids', 'int32', ['batch', 'seq'])), /input 'position_ids' is int32/],
    ['a use_cache_branch of another type', misfit((g) => g.input('use_cache_branch', 'int64', [1])), /input 'use_cache_branch' is int64/],
  ])('refuses %s at load (LOAD_FAILED naming it), instead of failing every request', async (_what, model, message) => {
    const engine = createGenerationEngine({ device, model: { bytes: model }, maxBatch: 2, maxSeq: 16, calibrate: false });
    engines.push(engine);
    const err = (await engine.start().then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; message?: string } | undefined;
    expect(err?.code).toBe('LOAD_FAILED');
    expect(err?.message).toMatch(message);
  });
});
