import { invalidOption } from '@epara/core';
import { createGraphBuilder, type GraphBuilder } from '../graph-builder.js';
import { checkPositive } from './mlp.js';

/** Options of {@link buildTinyCausalLm}. */
export interface TinyCausalLmOptions {
  /** Vocabulary size (token ids are `0 … vocab − 1`). */
  readonly vocab: number;
  /** Model width; must be divisible by `heads`. */
  readonly dModel: number;
  /** Transformer blocks. */
  readonly layers: number;
  /** Attention heads per block. */
  readonly heads: number;
  /** Longest sequence (prompt plus generated tokens) the positional table covers. */
  readonly maxSeq: number;
  /** Logits for the last position only (`[B, 1, V]`, what generation needs) or for all (`[B, T, V]`). @default 'last' */
  readonly logits?: 'last' | 'all';
  /**
   * Add a key/value cache: inputs `past_key_{l}`/`past_value_{l}` `f32[batch, heads, past, dModel/heads]` per
   * block, `attention_mask` then covers `past + seq`, and outputs `present_key_{l}`/`present_value_{l}` (the
   * past with this call's keys/values appended). Same weights as without a cache for the same seed.
   * @default false
   */
  readonly kvCache?: boolean;
  /** Weight seed. @default 0 */
  readonly seed?: number;
}

/**
 * A deterministic tiny causal transformer ("LLM") without a KV cache: every call recomputes the whole
 * (padded) sequence, which keeps iteration-level batching exact and simple.
 *
 * Inputs `input_ids int64[batch, seq]` and `attention_mask int64[batch, seq]` (1 = token, 0 = padding);
 * output `logits f32[batch, 1 | seq, vocab]`. Positions come from the cumulative sum of the mask, so a
 * left-padded row computes exactly what the same tokens compute alone. Blocks are pre-LayerNorm: masked
 * multi-head self-attention (causal mask plus padding mask as additive −1e9 biases, then Softmax) and a
 * ReLU MLP of width `4·dModel`. Each block's output is named `block{i}` (cut points for a split).
 *
 * @throws EparaError `INVALID_OPTIONS` for a non-positive size or `dModel` not divisible by `heads`.
 * @example
 * ```ts
 * const bytes = buildTinyCausalLm({ vocab: 64, dModel: 32, layers: 2, heads: 2, maxSeq: 48, seed: 3 });
 * ```
 */
export function buildTinyCausalLm(options: TinyCausalLmOptions): Uint8Array {
  const { vocab, dModel, layers, heads, maxSeq, logits = 'last', kvCache = false, seed = 0 } = options;
  for (const [k, v] of Object.entries({ vocab, dModel, layers, heads, maxSeq })) checkPositive(k, v);
  if (dModel % heads !== 0) invalidOption('dModel', dModel, `a multiple of heads (${heads})`);
  if (logits !== 'last' && logits !== 'all') invalidOption('logits', logits, "'last' or 'all'");
  const g = createGraphBuilder({ name: 'tiny-causal-lm', seed });
  g.input('input_ids', 'int64', ['batch', 'seq']);
  g.input('attention_mask', 'int64', ['batch', kvCache ? 'total' : 'seq']);
  const headDim = dModel / heads;
  if (kvCache) {
    for (let l = 0; l < layers; l++) {
      for (const kind of ['key', 'value']) g.input(`past_${kind}_${l}`, 'float32', ['batch', heads, 'past', headDim]);
    }
  }
  const tok = g.op('Gather', [g.weight('tok_emb', [vocab, dModel], 1), 'input_ids'], { axis: 0 });
  const lengths = cacheLengths(g, kvCache);
  // Position of a token = number of real tokens up to and including it; padding gets row 0.
  let positions = g.op('CumSum', ['attention_mask', g.constant('axis1', 'int64', [], [1])]);
  if (kvCache) positions = g.op('Slice', [positions, lengths.past, g.constant('int64_max', 'int64', [1], [Number.MAX_SAFE_INTEGER]), g.constant('axis1v', 'int64', [1], [1])]);
  const pos = g.op('Gather', [g.weight('pos_emb', [maxSeq + 1, dModel], 0.5), positions], { axis: 0 });
  let x = g.op('Add', [tok, pos]);
  const bias = attentionBias(g, maxSeq, lengths);
  const shapes = {
    heads: g.constant('heads_shape', 'int64', [4], [0, 0, heads, dModel / heads]),
    merged: g.constant('merged_shape', 'int64', [3], [0, 0, dModel]),
    scale: g.constant('scale', 'float32', [], [1 / Math.sqrt(dModel / heads)]),
  };
  for (let l = 0; l < layers; l++) x = block(g, { x, l, dModel, bias, shapes, kvCache });
  let h = layerNorm(g, x, 'ln_f', dModel);
  if (logits === 'last') h = g.op('Gather', [h, g.constant('last_index', 'int64', [1], [-1])], { axis: 1 });
  g.node('MatMul', [h, g.weight('lm_head', [dModel, vocab], 1 / Math.sqrt(dModel))], ['logits']);
  g.output('logits', 'float32', ['batch', logits === 'last' ? 1 : 'seq', vocab]);
  if (kvCache) {
    for (let l = 0; l < layers; l++) {
      for (const kind of ['key', 'value']) g.output(`present_${kind}_${l}`, 'float32', ['batch', heads, 'total', headDim]);
    }
  }
  return g.toBytes();
}

/** `past` (cached length, `[1]`) and `total` (past + this call's length, `[1]`); past is 0 without a cache. */
function cacheLengths(g: GraphBuilder, kvCache: boolean): { past: string; total: string } {
  const seqLen = g.op('Slice', [g.op('Shape', ['input_ids']), g.constant('one', 'int64', [1], [1]), g.constant('two', 'int64', [1], [2])]);
  if (!kvCache) return { past: g.constant('zero1', 'int64', [1], [0]), total: seqLen };
  const past = g.op('Slice', [g.op('Shape', ['past_key_0']), g.constant('two_b', 'int64', [1], [2]), g.constant('three', 'int64', [1], [3])]);
  return { past, total: g.op('Add', [past, seqLen]) };
}

/**
 * Additive attention bias `[batch, 1, seq, total]`: causal (−1e9 where a key comes after the query; query `i`
 * sits at slot `past + i`) plus padded keys (−1e9).
 */
function attentionBias(g: GraphBuilder, maxSeq: number, lengths: { past: string; total: string }): string {
  const causal = new Float32Array(maxSeq * maxSeq);
  for (let i = 0; i < maxSeq; i++) for (let j = i + 1; j < maxSeq; j++) causal[i * maxSeq + j] = -1e9;
  const table = g.constant('causal_bias', 'float32', [maxSeq, maxSeq], causal);
  const starts = g.op('Concat', [lengths.past, g.constant('zero1_b', 'int64', [1], [0])], { axis: 0 });
  const ends = g.op('Concat', [lengths.total, lengths.total], { axis: 0 });
  const causalT = g.op('Slice', [table, starts, ends, g.constant('axes01', 'int64', [2], [0, 1])]);
  const maskF = g.op('Cast', ['attention_mask'], { to: 1 });
  const missing = g.op('Sub', [g.constant('one_f', 'float32', [], [1]), maskF]);
  const padBias = g.op('Mul', [missing, g.constant('neg_big', 'float32', [], [-1e9])]);
  const pad4 = g.op('Unsqueeze', [padBias, g.constant('axes12', 'int64', [2], [1, 2])]);
  return g.op('Add', [causalT, pad4]);
}

interface BlockArgs {
  readonly x: string;
  readonly l: number;
  readonly dModel: number;
  readonly bias: string;
  readonly shapes: { readonly heads: string; readonly merged: string; readonly scale: string };
  readonly kvCache: boolean;
}

function block(g: GraphBuilder, { x, l, dModel, bias, shapes, kvCache }: BlockArgs): string {
  const std = 1 / Math.sqrt(dModel);
  const h = layerNorm(g, x, `ln1_${l}`, dModel);
  const proj = (name: string): string => g.op('MatMul', [h, g.weight(`${name}_${l}`, [dModel, dModel], std)]);
  const split = (t: string, perm: number[]): string => g.op('Transpose', [g.op('Reshape', [t, shapes.heads])], { perm });
  const q = split(proj('wq'), [0, 2, 1, 3]);
  let k = split(proj('wk'), [0, 2, 1, 3]);
  let v = split(proj('wv'), [0, 2, 1, 3]);
  if (kvCache) {
    k = g.node('Concat', [`past_key_${l}`, k], [`present_key_${l}`], { axis: 2 })[0]!;
    v = g.node('Concat', [`past_value_${l}`, v], [`present_value_${l}`], { axis: 2 })[0]!;
  }
  const kT = g.op('Transpose', [k], { perm: [0, 1, 3, 2] });
  const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, kT]), shapes.scale]), bias]);
  const attn = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
  const merged = g.op('Reshape', [g.op('Transpose', [attn], { perm: [0, 2, 1, 3] }), shapes.merged]);
  const x1 = g.op('Add', [x, g.op('MatMul', [merged, g.weight(`wo_${l}`, [dModel, dModel], std)])]);
  const h2 = layerNorm(g, x1, `ln2_${l}`, dModel);
  const up = g.op('Relu', [g.op('Add', [g.op('MatMul', [h2, g.weight(`w1_${l}`, [dModel, 4 * dModel], std)]), g.weight(`b1_${l}`, [4 * dModel], 0.01)])]);
  const down = g.op('Add', [g.op('MatMul', [up, g.weight(`w2_${l}`, [4 * dModel, dModel], std / 2)]), g.weight(`b2_${l}`, [dModel], 0.01)]);
  return g.node('Add', [x1, down], [`block${l}`])[0]!;
}

function layerNorm(g: GraphBuilder, x: string, name: string, dModel: number): string {
  const scale = g.constant(`${name}_g`, 'float32', [dModel], new Float32Array(dModel).fill(1));
  const shift = g.constant(`${name}_b`, 'float32', [dModel], new Float32Array(dModel));
  return g.op('LayerNormalization', [x, scale, shift], { axis: -1, epsilon: 1e-5 });
}
