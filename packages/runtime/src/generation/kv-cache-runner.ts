import { EparaError, type NamedTensors, type TensorLike } from '@epara/core';
import { argmaxLastPosition, buildStepInputs } from './generation-step.js';
import type { Sequence } from './generation-request.js';
import type { StepRunner, StepRunnerContext } from './step-runner.js';

interface CacheLayout {
  /** `past_*` input → matching `present_*` output. */
  readonly pairs: readonly { readonly past: string; readonly present: string }[];
  readonly heads: number;
  readonly headDim: number;
}

/**
 * The KV-cache runner. Each sequence keeps its own cache per `past_*` input, `[heads, length, headDim]`
 * without padding; a call assembles the batch cache left-padded to the longest (mask 0 on the padding) and
 * splits the returned `present_*` back per sequence, dropping the padding. Joined sequences are prefilled
 * together in one call (the others wait that iteration); otherwise one decode call feeds every sequence's
 * newest token.
 */
export function createKvCacheRunner({ device, key, padToken, info }: StepRunnerContext): StepRunner {
  const layout = cacheLayout(info);
  const caches = new Map<Sequence, Map<string, Float32Array>>();
  const call = async (rows: readonly Sequence[], prefill: boolean) => {
    const inputs = rows.map((s) => (prefill ? s.tokens : s.tokens.slice(-1)));
    const { feeds, seqLen } = buildStepInputs(inputs, padToken);
    const pastLen = prefill ? 0 : Math.max(...rows.map((s) => s.tokens.length - 1));
    const full = { ...feeds, attention_mask: fullMask(rows, feeds['attention_mask']!, seqLen, pastLen, prefill), ...assemble(rows, pastLen, layout, caches, prefill) };
    const out = await device.run(key, full, { outputNames: ['logits', ...layout.pairs.map((p) => p.present)] });
    const next = argmaxLastPosition(out['logits']!);
    rows.forEach((s, r) => {
      const cache = new Map<string, Float32Array>();
      const realLen = s.tokens.length; // the cache now covers every token fed so far
      const pad = pastLen + seqLen - realLen;
      for (const p of layout.pairs) cache.set(p.past, takeRow(out[p.present]!, r, pad, realLen, layout));
      caches.set(s, cache);
    });
    return { tokens: new Map(rows.map((s, i) => [s, next[i]!])), work: rows.length * seqLen, seqLen: pastLen + seqLen };
  };
  return {
    kind: 'kv',
    run: (members, joined) => (joined.length > 0 ? call(joined, true) : call(members, false)),
    release: (seq) => void caches.delete(seq),
    stepWork: (batch) => batch,
    prefillWork: (promptTokens) => promptTokens,
    calibrationCalls(maxBatch, maxSeq) {
      const zeros = (batch: number, len: number): NamedTensors =>
        Object.fromEntries(layout.pairs.map((p) => [p.past, { type: 'float32', dims: [batch, layout.heads, len, layout.headDim], data: new Float32Array(batch * layout.heads * len * layout.headDim) }]));
      const prefillLen = Math.min(8, maxSeq);
      const prefill = buildStepInputs([new Array<number>(prefillLen).fill(padToken)], padToken).feeds;
      const decode = buildStepInputs(Array.from({ length: maxBatch }, () => [padToken]), padToken).feeds;
      const decodeMask: TensorLike = { type: 'int64', dims: [maxBatch, maxSeq], data: new BigInt64Array(maxBatch * maxSeq).fill(1n) };
      return [
        { work: prefillLen, feeds: { ...prefill, ...zeros(1, 0) } },
        { work: maxBatch, feeds: { ...decode, attention_mask: decodeMask, ...zeros(maxBatch, maxSeq - 1) } },
      ];
    },
  };
}

function cacheLayout(info: StepRunnerContext['info']): CacheLayout {
  const pasts = info.inputs.filter((i) => i.name.startsWith('past_'));
  const first = pasts[0]!;
  const [, heads, , headDim] = first.dims;
  if (typeof heads !== 'number' || typeof headDim !== 'number') {
    throw new EparaError('LOAD_FAILED', `KV-cache input ${first.name} needs fixed heads and head size ([batch, heads, past, headDim])`, { name: first.name });
  }
  const outputs = new Set(info.outputs.map((o) => o.name));
  const pairs = pasts.map((p) => ({ past: p.name, present: p.name.replace(/^past_/, 'present_') }));
  for (const p of pairs) if (!outputs.has(p.present)) throw new EparaError('LOAD_FAILED', `model has ${p.past} but no ${p.present} output`, { name: p.past });
  return { pairs, heads, headDim };
}

/** Attention mask over past + new: a row's cached tokens are right-aligned against its new ones. */
function fullMask(rows: readonly Sequence[], newMask: TensorLike, seqLen: number, pastLen: number, prefill: boolean): TensorLike {
  if (prefill) return newMask;
  const total = pastLen + seqLen;
  const data = new BigInt64Array(rows.length * total);
  rows.forEach((s, r) => {
    const cached = s.tokens.length - 1;
    data.fill(1n, r * total + pastLen - cached, (r + 1) * total);
  });
  return { type: 'int64', dims: [rows.length, total], data };
}

/** Batch cache tensors `[rows, heads, pastLen, headDim]`, each row's cache right-aligned (zeros on the left). */
function assemble(rows: readonly Sequence[], pastLen: number, layout: CacheLayout, caches: Map<Sequence, Map<string, Float32Array>>, prefill: boolean): NamedTensors {
  const { heads, headDim } = layout;
  const out: Record<string, TensorLike> = {};
  for (const p of layout.pairs) {
    const data = new Float32Array(rows.length * heads * pastLen * headDim);
    if (!prefill) {
      rows.forEach((s, r) => {
        const cache = caches.get(s)?.get(p.past);
        if (cache === undefined) throw new EparaError('INTERNAL', `no KV cache for sequence ${s.id}`, { id: s.id });
        const len = cache.length / (heads * headDim);
        for (let h = 0; h < heads; h++) {
          data.set(cache.subarray(h * len * headDim, (h + 1) * len * headDim), ((r * heads + h) * pastLen + pastLen - len) * headDim);
        }
      });
    }
    out[p.past] = { type: 'float32', dims: [rows.length, heads, pastLen, headDim], data };
  }
  return out;
}

/** One row of a `present_*` output without its left padding: `[heads, length, headDim]`. */
function takeRow(present: TensorLike, row: number, pad: number, length: number, layout: CacheLayout): Float32Array {
  const { heads, headDim } = layout;
  const total = present.dims[2]!;
  const src = present.data as Float32Array;
  const out = new Float32Array(heads * length * headDim);
  for (let h = 0; h < heads; h++) {
    const from = ((row * heads + h) * total + pad) * headDim;
    out.set(src.subarray(from, from + length * headDim), h * length * headDim);
  }
  return out;
}
