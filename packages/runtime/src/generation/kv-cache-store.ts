import { EparaError, type NamedTensors, type TensorLike } from '@epara/core';
import type { ModelIoInfo } from '../devices/backend.js';
import { argmaxLastPosition, buildStepInputs, NO_EXTRA_INPUTS, type LmExtraInputs } from './generation-step.js';

/**
 * Where a KV-cache model keeps its cache: its cache inputs (`past_*`, `past.N.*`, `past_key_values.N.*`) and
 * the matching outputs (`present_*`, `present.N.*`), and the other inputs the engine fills in.
 */
export interface KvLayout {
  /** Cache input → the output that carries its next value. */
  readonly pairs: readonly { readonly past: string; readonly present: string }[];
  readonly heads: number;
  readonly headDim: number;
  /** `position_ids` and `use_cache_branch`, when the model takes them (absent: neither). */
  readonly extra?: LmExtraInputs;
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
    const { feeds, seqLen } = buildStepInputs(req.tokens, req.padToken, this.#layout.extra ?? NO_EXTRA_INPUTS, req.prefill ? undefined : lens);
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

/** A cache input, by the names exporters give them: `past_key_0`, `past.0.key`, `past_key_values.0.key`. */
export function isPastInput(name: string): boolean {
  return /^past[._]/.test(name);
}

/**
 * The output carrying a cache input's next value: the first of `present.N.key` for `past_key_values.N.key`
 * (optimum, onnxruntime-genai), `present_key_values.N.key`, and the name with `past` read as `present`
 * (`present_key_0`, `present.0.key`) that the model has.
 */
function presentOf(past: string, outputs: ReadonlySet<string>): string | undefined {
  const candidates = [past.replace(/^past_key_values/, 'present'), past.replace(/^past_key_values/, 'present_key_values'), past.replace(/^past/, 'present')];
  return candidates.find((c) => outputs.has(c));
}

/**
 * The cache layout of a model with cache inputs `[batch, heads, past, headDim]` (float32, heads and head size
 * fixed and the same for every input) and matching outputs, and the extra inputs it takes.
 * @throws EparaError `LOAD_FAILED` naming a cache input of another rank, type or head layout, or one without a
 * matching output.
 */
export function kvLayoutOf(info: { readonly inputs: readonly ModelIoInfo[]; readonly outputs: readonly ModelIoInfo[] }, extra: LmExtraInputs = NO_EXTRA_INPUTS): KvLayout {
  const refuse = (name: string, why: string): never => {
    throw new EparaError('LOAD_FAILED', `KV-cache input ${name} ${why}`, { name });
  };
  const pasts = info.inputs.filter((i) => isPastInput(i.name));
  const first = pasts[0]!;
  const [, heads, , headDim] = first.dims;
  const outputs = new Set(info.outputs.map((o) => o.name));
  const pairs = pasts.map((p) => {
    if (p.type !== 'float32') refuse(p.name, `is ${p.type}; the engine keeps float32 caches`);
    const [, h, , d] = p.dims;
    if (p.dims.length !== 4 || typeof h !== 'number' || typeof d !== 'number' || h < 0 || d < 0) {
      refuse(p.name, `has dims [${p.dims.map((x) => (x === '' ? '?' : x)).join(', ')}]; the engine keeps caches as [batch, heads, past, headDim] with heads and headDim fixed`);
    }
    if (h !== heads || d !== headDim) refuse(p.name, `has ${String(h)} heads of size ${String(d)}, ${first.name} ${String(heads)} of size ${String(headDim)}; the engine keeps one cache layout`);
    const present = presentOf(p.name, outputs);
    if (present === undefined) return refuse(p.name, `has no matching present output (outputs: ${[...outputs].join(', ')})`);
    return { past: p.name, present };
  });
  return { pairs, heads: heads as number, headDim: headDim as number, ...(extra.positionIds || extra.useCacheBranch ? { extra } : {}) };
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
