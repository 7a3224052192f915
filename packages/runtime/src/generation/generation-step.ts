import type { NamedTensors, TensorLike } from '@epara/core';

/**
 * Inputs of one decode step: every sequence left-padded to the longest, with an attention mask that is 0 on
 * the padding. The model derives positions from the mask, so padding changes no real token's result.
 */
export function buildStepInputs(sequences: readonly (readonly number[])[], padToken: number): { feeds: NamedTensors; seqLen: number } {
  const seqLen = Math.max(...sequences.map((s) => s.length));
  const ids = new BigInt64Array(sequences.length * seqLen).fill(BigInt(padToken));
  const mask = new BigInt64Array(sequences.length * seqLen);
  sequences.forEach((tokens, row) => {
    const start = row * seqLen + seqLen - tokens.length;
    tokens.forEach((tok, i) => {
      ids[start + i] = BigInt(tok);
      mask[start + i] = 1n;
    });
  });
  const dims = [sequences.length, seqLen];
  return { feeds: { input_ids: { type: 'int64', dims, data: ids }, attention_mask: { type: 'int64', dims, data: mask } }, seqLen };
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
