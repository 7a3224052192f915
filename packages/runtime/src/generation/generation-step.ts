import type { NamedTensors, TensorLike } from '@epara/core';

/**
 * Inputs a causal LM may take besides `input_ids`, `attention_mask` and its caches, which the engine fills in:
 * `position_ids` (as exporters that do not derive positions from the mask take them) and optimum's merged
 * decoders' `use_cache_branch` (whether the call reads the cache; `dims` is its declared shape, `[1]` or `[]`).
 */
export interface LmExtraInputs {
  readonly positionIds: boolean;
  readonly useCacheBranch: readonly number[] | undefined;
}

/** A model that takes no extra inputs. */
export const NO_EXTRA_INPUTS: LmExtraInputs = { positionIds: false, useCacheBranch: undefined };

/**
 * Inputs of one decode step: every sequence left-padded to the longest, with an attention mask that is 0 on
 * the padding. The model derives positions from the mask, so padding changes no real token's result. A model
 * that takes `position_ids` gets each row's positions counted from its first real token — from `past[row]`,
 * the tokens its cache already holds, in a cached decode — and 1 on the padding (as Hugging Face's generation
 * fills it: the mask hides those tokens); one that takes `use_cache_branch` gets `true` when `past` is given.
 */
export function buildStepInputs(
  sequences: readonly (readonly number[])[],
  padToken: number,
  extra: LmExtraInputs = NO_EXTRA_INPUTS,
  past?: readonly number[],
): { feeds: NamedTensors; seqLen: number } {
  const seqLen = Math.max(...sequences.map((s) => s.length));
  const ids = new BigInt64Array(sequences.length * seqLen).fill(BigInt(padToken));
  const mask = new BigInt64Array(sequences.length * seqLen);
  const positions = extra.positionIds ? new BigInt64Array(sequences.length * seqLen).fill(1n) : undefined;
  sequences.forEach((tokens, row) => {
    const start = row * seqLen + seqLen - tokens.length;
    const first = past?.[row] ?? 0;
    tokens.forEach((tok, i) => {
      ids[start + i] = BigInt(tok);
      mask[start + i] = 1n;
      if (positions) positions[start + i] = BigInt(first + i);
    });
  });
  const dims = [sequences.length, seqLen];
  const feeds: Record<string, TensorLike> = { input_ids: { type: 'int64', dims, data: ids }, attention_mask: { type: 'int64', dims, data: mask } };
  if (positions) feeds['position_ids'] = { type: 'int64', dims, data: positions };
  if (extra.useCacheBranch) feeds['use_cache_branch'] = { type: 'bool', dims: [...extra.useCacheBranch], data: new Uint8Array([past === undefined ? 0 : 1]) };
  return { feeds, seqLen };
}

/** Greedy decoding: the arg-max of each row's last-position logits (lowest id on ties). */
export function argmaxLastPosition(logits: TensorLike): number[] {
  const [batch = 0, positions = 1, vocab = 0] = logits.dims.length === 3 ? logits.dims : [logits.dims[0], 1, logits.dims[1]];
  const data = logits.data as Float32Array;
  const out: number[] = [];
  for (let b = 0; b < batch; b++) {
    const base = (b * positions + positions - 1) * vocab;
    let best = 0;
    for (let v = 1; v < vocab; v++) if (data[base + v]! > data[base + best]!) best = v;
    out.push(best);
  }
  return out;
}
