import { EparaError, type NamedTensors, type TensorLike } from '@epara/core';
import type { ModelIoInfo } from '../devices/backend.js';
import { argmaxLastPosition, buildStepInputs } from './generation-step.js';

/** Where a KV-cache model keeps its cache: `past_*` inputs and the matching `present_*` outputs. */
export interface KvLayout {
  /** `past_*` input → matching `present_*` output. */
  readonly pairs: readonly { readonly past: string; readonly present: string }[];
  readonly heads: number;
  readonly headDim: number;
}

/** One generation call over cached sequences (it crosses into a device worker: plain data only). */
export interface KvStepRequest {
  /** `true`: the rows are new sequences fed their whole prompt; `false`: one decode token per row. */
  readonly prefill: boolean;
  /** Sequence ids of the rows, in batch order. */
  readonly seqs: readonly number[];
  /** Tokens fed per row: the prompt (prefill) or the newest token (decode). */
  readonly tokens: readonly (readonly number[])[];
  /** Tokens the caller expects each row's cache to hold already (0 on prefill): a consistency check. */
  readonly cached: readonly number[];
  readonly padToken: number;
}

/** Runs the model once (a session inside a worker, or a device from the host). */
export type KvRunFn = (feeds: NamedTensors, outputNames: readonly string[]) => Promise<NamedTensors>;

/**
 * The key/value caches of one generation engine's sequences, kept where the model runs. Each sequence keeps
 * its own cache per `past_*` input, `[heads, length, headDim]` without padding; a call assembles the batch
 * cache left-padded to the longest (mask 0 on the padding) and splits the returned `present_*` back per
 * sequence, dropping the padding. While consecutive decode calls have the same rows in the same order, the
 * last call's `present_*` tensors are fed back as they are (no split and re-assembly).
 */
export class KvCacheStore {
  readonly #layout: KvLayout;
  readonly #run: KvRunFn;
  /** Cached length per sequence; the tensors are absent while the sequence's cache lives in `#last`. */
  readonly #caches = new Map<number, { len: number; tensors: Map<string, Float32Array> | undefined }>();
  #last: { rows: readonly number[]; presents: NamedTensors; pastLen: number } | undefined;

  constructor(layout: KvLayout, run: KvRunFn) {
    this.#layout = layout;
    this.#run = run;
  }

  /** Sequences with a cache here. */
  get size(): number {
    return this.#caches.size;
  }

  /**
   * Runs one call and returns each row's next token (greedy, last position).
   * @throws EparaError `WORKER_CRASHED` when a decode row has no cache here (its worker restarted since),
   * `INTERNAL` when the caller's view of a cache's length disagrees, `MODEL_ERROR` from the run.
   */
  async step(req: KvStepRequest): Promise<number[]> {
    const { pairs } = this.#layout;
    const rows = req.seqs;
    const last = this.#last;
    const reuse = !req.prefill && last !== undefined && last.rows.length === rows.length && last.rows.every((s, i) => s === rows[i]);
    if (!reuse) this.#materialize();
    const lens = rows.map((id, r) => this.#check(id, req.prefill ? 0 : req.cached[r]!, req.prefill));
    const { feeds, seqLen } = buildStepInputs(req.tokens, req.padToken);
    const pastLen = req.prefill ? 0 : Math.max(...lens);
    const past = reuse ? Object.fromEntries(pairs.map((p) => [p.past, last!.presents[p.present]!])) : this.#assemble(rows, pastLen, req.prefill);
    const mask = req.prefill ? feeds['attention_mask']! : decodeMask(lens, pastLen);
    this.#last = undefined; // the fed presents belong to this call now (a host run transfers them)
    const out = await this.#run({ ...feeds, attention_mask: mask, ...past }, ['logits', ...pairs.map((p) => p.present)]);
    if (req.prefill) {
      rows.forEach((id, r) => {
        const len = req.tokens[r]!.length;
        this.#caches.set(id, { len, tensors: new Map(pairs.map((p) => [p.past, takeRow(out[p.present]!, r, seqLen - len, len, this.#layout)])) });
      });
    } else {
      for (const id of rows) this.#caches.set(id, { len: this.#caches.get(id)!.len + 1, tensors: undefined });
      this.#last = { rows, presents: out, pastLen };
    }
    return argmaxLastPosition(out['logits']!);
  }

  /** Frees the caches of these sequences (unknown ids are ignored). */
  release(seqs: readonly number[]): void {
    for (const id of seqs) this.#caches.delete(id);
    if (this.#caches.size === 0) this.#last = undefined;
  }

  #check(id: number, expected: number, prefill: boolean): number {
    const entry = this.#caches.get(id);
    if (prefill) {
      if (entry !== undefined) throw new EparaError('INTERNAL', `sequence ${id} is prefilled twice`, { id });
      return 0;
    }
    if (entry === undefined) throw new EparaError('WORKER_CRASHED', `the KV cache of sequence ${id} is gone (its device worker restarted)`, { id });
    if (entry.len !== expected) throw new EparaError('INTERNAL', `the KV cache of sequence ${id} holds ${entry.len} tokens, the caller expects ${expected}`, { id });
    return entry.len;
  }

  /** Splits the last decode call's presents back into per-sequence caches (released rows are dropped). */
  #materialize(): void {
    const last = this.#last;
    if (last === undefined) return;
    this.#last = undefined;
    last.rows.forEach((id, r) => {
      const entry = this.#caches.get(id);
      if (entry === undefined || entry.tensors !== undefined) return;
      entry.tensors = new Map(this.#layout.pairs.map((p) => [p.past, takeRow(last.presents[p.present]!, r, last.pastLen + 1 - entry.len, entry.len, this.#layout)]));
    });
  }

  /** Batch cache tensors `[rows, heads, pastLen, headDim]`, each row's cache right-aligned (zeros on the left). */
  #assemble(rows: readonly number[], pastLen: number, prefill: boolean): NamedTensors {
    const { heads, headDim, pairs } = this.#layout;
    const out: Record<string, TensorLike> = {};
    for (const p of pairs) {
      const data = new Float32Array(rows.length * heads * pastLen * headDim);
      if (!prefill) {
        rows.forEach((id, r) => {
          const cache = this.#caches.get(id)!.tensors!.get(p.past)!;
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
}

/**
 * The cache layout of a model with `past_*` inputs `[batch, heads, past, headDim]` and matching `present_*`
 * outputs.
 * @throws EparaError `LOAD_FAILED` when heads or head size are not fixed, or a `present_*` output is missing.
 */
export function kvLayoutOf(info: { readonly inputs: readonly ModelIoInfo[]; readonly outputs: readonly ModelIoInfo[] }): KvLayout {
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

/** Attention mask over past + one new token: a row's cached tokens are right-aligned against the new one. */
function decodeMask(lens: readonly number[], pastLen: number): TensorLike {
  const total = pastLen + 1;
  const data = new BigInt64Array(lens.length * total);
  lens.forEach((cached, r) => data.fill(1n, r * total + pastLen - cached, (r + 1) * total));
  return { type: 'int64', dims: [lens.length, total], data };
}

/** One row of a `present_*` output without its left padding: `[heads, length, headDim]`. */
function takeRow(present: TensorLike, row: number, pad: number, length: number, layout: KvLayout): Float32Array {
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

/**
 * A device that keeps KV caches inside its worker: a call sends token ids and receives the next tokens; the
 * caches never cross the thread boundary. `store` names one engine's caches on the device.
 */
export interface ResidentKvDevice {
  /**
   * Runs one call of model `key` over the caches of `store` (created on first use).
   * @throws EparaError `WORKER_CRASHED` (the worker died, or restarted since the rows were prefilled),
   * `MODEL_ERROR`, `UNKNOWN_SERVICE`, `CLOSED`.
   */
  kvStep(key: string, store: string, layout: KvLayout, request: KvStepRequest): Promise<number[]>;
  /** Frees sequences' caches (`seqs` omitted: the whole store). Never rejects. */
  kvRelease(key: string, store: string, seqs?: readonly number[]): Promise<void>;
}

/** Whether a device keeps KV caches resident in its worker. */
export function hasResidentKv<T extends object>(device: T): device is T & ResidentKvDevice {
  const d = device as Partial<ResidentKvDevice>;
  return typeof d.kvStep === 'function' && typeof d.kvRelease === 'function';
}
