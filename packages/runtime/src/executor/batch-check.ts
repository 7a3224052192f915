import { createSeededRandom, isEparaError, type NamedTensors, type TensorDataArray, type TensorLike } from '@epara/core';
import { floatToHalf, halfToFloat } from '@epara/core/internal';
import type { DeviceHandle } from '../devices/device-port.js';
import { splitTensors, stackTensors } from '../tensors/stack.js';
import { own, type IoSpec } from './io-spec.js';
import { cloneTensors, zeros } from './model-inputs.js';

/**
 * Whether a loaded model may stack requests, and why not. `refuted` marks a no from the model itself: the numeric
 * check (a batch of two answered differently from two single runs, or failed), or dim names that leave it no
 * batch (no free batch dim, an output with no place for one) — its items are not separable along the axes a
 * request would be split on, so splitting a request of several items there would give a wrong answer too.
 */
export type BatchVerdict =
  | { readonly ok: true; readonly how: string }
  | { readonly ok: false; readonly reason: string; readonly refuted?: true; readonly inconclusive?: true };

/** Inputs of {@link checkBatchSeparable}. */
export interface BatchCheckOptions {
  readonly device?: DeviceHandle;
  /** Key of the model, already loaded on the device. */
  readonly modelKey?: string;
  /**
   * Runs the model on some feeds holding `requests` items, instead of `device` and `modelKey` (a pipeline runs its
   * stages in turn).
   */
  readonly run?: (feeds: NamedTensors, requests: number) => Promise<NamedTensors>;
  readonly io: IoSpec;
  /** One item's inputs (the service's `sampleInputs`); generated from the model's fixed dims when absent. */
  readonly sample: NamedTensors | undefined;
  /** The initial recurrent state (stateful services). */
  readonly state: NamedTensors;
  readonly outputNames?: readonly string[];
  readonly signal?: AbortSignal;
  /**
   * The sample is a request's inputs: its runs on `device` are held to the model's `maxResponseBytes` as the
   * request's own run is (one request alone, two stacked). The host's own sample is not limited.
   */
  readonly isRequest?: boolean;
}

/** Relative and absolute (scaled by the output's magnitude) tolerance of the batch-of-two comparison. */
export const BATCH_CHECK_TOLERANCE = { relative: 1e-3, absolute: 1e-4 } as const;

/**
 * The numeric check behind batching: runs two different items alone and then stacked as a batch of two,
 * and says whether each item's slice of the batch equals its solo result within
 * {@link BATCH_CHECK_TOLERANCE}. Dim names cannot see a graph that mixes items (a normalisation over the whole
 * tensor, a reshape that folds the batch away); this can. A run that fails, or outputs that do not split,
 * also count as not separable. Aborts and a closed device are rethrown.
 */
export async function checkBatchSeparable(o: BatchCheckOptions): Promise<BatchVerdict> {
  const verdict = await checkWith(o, 0);
  // Generated values can leave nothing to compare (a TopK whose k reads 0 answers empty tensors): try the others.
  return !verdict.ok && verdict.inconclusive ? checkWith(o, 1) : verdict;
}

async function checkWith(o: BatchCheckOptions, variant: 0 | 1): Promise<BatchVerdict> {
  const a = firstItem(o, variant);
  if (typeof a === 'string') return { ok: false, reason: a };
  const b = secondItem(o.io, a);
  const run =
    o.run ??
    ((feeds: NamedTensors, requests: number): Promise<NamedTensors> =>
      o.device!.run(o.modelKey!, feeds, {
        ...(o.outputNames ? { outputNames: o.outputNames } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.isRequest === true ? { requests } : {}),
      }));
  let soloA: NamedTensors;
  let soloB: NamedTensors;
  try {
    soloA = await run(cloneTensors(a), 1);
    soloB = await run(cloneTensors(b), 1);
  } catch (err) {
    rethrowFatal(err);
    return { ok: false, reason: `the check could not run one item alone: ${message(err)}` };
  }
  // Outputs with nothing to compare (empty, or NaN and ±∞ throughout: NaN equals NaN here) would pass any batch.
  if (!holdsAValue(soloA) && !holdsAValue(soloB)) return { ok: false, reason: 'the items alone answered no finite value to compare', inconclusive: true };
  return (await refutePair(o, run, a, soloA, b, soloB)) ?? checkBlindOutputs(o, run, a, soloA, blindOutputs(soloA, soloB));
}

type CheckRun = (feeds: NamedTensors, requests: number) => Promise<NamedTensors>;

/**
 * Items `x` and `y` stacked in both orders must each answer what they answered alone (`soloX`, `soloY`): the
 * refuting verdict when a batch fails or differs, `undefined` when both orders agree. Both orders, because a graph
 * that mixes items one way only (a running sum down the batch reaches the second item from the first) hides behind
 * a first item of zeros — what a load-time sample often is.
 */
async function refutePair(o: BatchCheckOptions, run: CheckRun, x: NamedTensors, soloX: NamedTensors, y: NamedTensors, soloY: NamedTensors): Promise<BatchVerdict | undefined> {
  let parts: NamedTensors[];
  let swapped: NamedTensors[];
  try {
    parts = splitTensors(await run(stackTensors([cloneTensors(x), cloneTensors(y)], o.io.inputAxes), 2), 2, o.io.outputAxes);
    swapped = splitTensors(await run(stackTensors([cloneTensors(y), cloneTensors(x)], o.io.inputAxes), 2), 2, o.io.outputAxes);
  } catch (err) {
    rethrowFatal(err);
    return { ok: false, reason: `a batch of two failed: ${message(err)}`, refuted: true };
  }
  const diff = compare(soloX, parts[0]!) ?? compare(soloY, parts[1]!) ?? compare(soloY, swapped[0]!) ?? compare(soloX, swapped[1]!);
  return diff === undefined ? undefined : { ok: false, reason: `a batch of two differs from single runs: ${diff}`, refuted: true };
}

/**
 * An output both items answer alike alone cannot show them mixing in a batch: a sum or a maximum over a row does
 * not see B's order (B is A reversed), floats cast to integers may truncate A's and B's values alike. Such a model
 * passed the check while a batch reversed its rows. For those outputs, other second items are tried — A's values
 * stepped (integers + 1, bools flipped, floats + 1), then each tensor filled with its largest value, then with its
 * smallest (values A holds, for index-like inputs) — until each output answers differently or none is left: a
 * batch of A and that item must equal the two single runs too.
 */
async function checkBlindOutputs(
  o: BatchCheckOptions,
  run: CheckRun,
  a: NamedTensors,
  soloA: NamedTensors,
  blind: readonly string[],
): Promise<BatchVerdict> {
  const ok = { ok: true, how: 'a batch of two equals two single runs' } as const;
  let left = blind;
  for (const make of OTHER_ITEMS) {
    if (left.length === 0) break;
    const c = otherItem(o.io, a, make);
    if (c === undefined) continue;
    let soloC: NamedTensors;
    try {
      soloC = await run(cloneTensors(c), 1);
    } catch (err) {
      rethrowFatal(err);
      continue; // a model that refuses these values alone: the next item, or none
    }
    const seen = left.filter((name) => soloC[name] !== undefined && compare({ [name]: soloA[name]! }, soloC) !== undefined);
    if (seen.length === 0) continue;
    const refuted = await refutePair(o, run, a, soloA, c, soloC);
    if (refuted !== undefined) return refuted;
    left = left.filter((name) => !seen.includes(name));
  }
  return ok;
}

/** The outputs holding a value that two items answered alike alone. */
function blindOutputs(soloA: NamedTensors, soloB: NamedTensors): string[] {
  const blind: string[] = [];
  for (const [name, t] of Object.entries(soloA)) {
    if (!holdsAValue({ [name]: t })) continue;
    if (soloB[name] !== undefined && compare({ [name]: t }, soloB) === undefined) blind.push(name);
  }
  return blind;
}

type Remake = (t: TensorLike) => TensorLike['data'];

/** The other second items' values, tensor by tensor: stepped, filled with the largest value, with the smallest. */
const OTHER_ITEMS: readonly Remake[] = [
  (t) => {
    const data = stepped(t);
    if (data instanceof Float32Array || data instanceof Float64Array) return data.map((v) => v + 1);
    if (t.type === 'float16') return (data as Uint16Array).map((v) => floatToHalf(halfToFloat(v) + 1));
    return data;
  },
  (t) => filled(t, 1),
  (t) => filled(t, -1),
];

/** A's batched tensors remade by `make` (shared ones as A's); `undefined` when that changes none of them. */
function otherItem(io: IoSpec, a: NamedTensors, make: Remake): NamedTensors | undefined {
  const out: Record<string, TensorLike> = {};
  let changed = false;
  for (const [name, t] of Object.entries(a)) {
    if (io.inputAxes[name] === null || Array.isArray(t.data)) {
      out[name] = t;
      continue;
    }
    const data = make(t);
    if (!changed && !Array.prototype.every.call(data, (v: unknown, i: number) => v === t.data[i])) changed = true;
    out[name] = { type: t.type, dims: [...t.dims], data };
  }
  return changed ? out : undefined;
}

/** A numeric tensor's values all set to its largest (`sign` 1) or smallest (-1) value. */
function filled(t: TensorLike, sign: 1 | -1): TensorLike['data'] {
  const data = t.data as ArrayLike<number | bigint>;
  const half = t.type === 'float16';
  const key = (v: number | bigint): number | bigint => (half ? halfToFloat(v as number) : v);
  let best = data[0];
  for (let i = 1; i < data.length; i++) {
    const v = data[i]!;
    if (sign * (key(v) > key(best!) ? 1 : key(v) < key(best!) ? -1 : 0) > 0) best = v;
  }
  const copy = (t.data as Float32Array).slice();
  if (best !== undefined) (copy as unknown as { fill(v: number | bigint): void }).fill(best);
  return copy as TensorLike['data'];
}

/**
 * Item A: the sample, else seeded values in the model's fixed shapes (integers alternating 0, 1 — or 1, 0 in
 * `variant` 1); or why it cannot be built.
 */
function firstItem(o: BatchCheckOptions, variant: 0 | 1): NamedTensors | string {
  const random = createSeededRandom(7 + variant);
  const item: Record<string, TensorLike> = { ...o.state };
  for (const s of o.io.inputs) {
    const given = own(o.sample, s.name);
    if (given) {
      item[s.name] = given;
      continue;
    }
    if (s.dims.some((d) => d === null)) return `input '${s.name}' has free dims [${s.dims.map((d) => d ?? '?').join(', ')}] and the service gives no sampleInputs to check with`;
    const t = zeros(s.type, s.dims as number[]);
    const data = t.data as TensorDataArray | string[];
    for (let i = 0; i < data.length; i++) {
      const bit = (i + variant) % 2;
      if (Array.isArray(data)) data[i] = String(bit);
      else if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(bit);
      else if (data instanceof Float32Array || data instanceof Float64Array) data[i] = random.next();
      else if (s.type === 'float16') data[i] = floatToHalf(random.next());
      else data[i] = bit;
    }
    item[s.name] = t;
  }
  return item;
}

/**
 * Item B: A's batched tensors reversed (a valid set of values for index-like inputs), and for floats also
 * scaled and shifted, so a graph that normalises across the batch sees a different range; shared tensors as A.
 */
function secondItem(io: IoSpec, a: NamedTensors): NamedTensors {
  const out: Record<string, TensorLike> = {};
  for (const [name, t] of Object.entries(a)) {
    if (io.inputAxes[name] === null) {
      out[name] = t;
      continue;
    }
    let data = t.data.slice().reverse() as TensorLike['data'];
    if (data instanceof Float32Array || data instanceof Float64Array) for (let i = 0; i < data.length; i++) data[i] = data[i]! * 3 + 0.5;
    else if (t.type === 'float16') for (let i = 0; i < data.length; i++) (data as Uint16Array)[i] = floatToHalf(halfToFloat((data as Uint16Array)[i]!) * 3 + 0.5);
    // An integer tensor equal to A's (a sample of zeros, all ones, one length of one element) cannot show items
    // mixing through it — each tensor, not only all of them together: a model that cuts every row to the batch's
    // longest `len` passed with two items of the same `len` while their floats differed, was batched, and padded
    // each answer to its batch's longest. B steps every such integer by one and flips every bool; a model that
    // refuses those values fails the check alone, which only keeps it unbatched.
    if (Array.prototype.every.call(data, (v: unknown, i: number) => v === t.data[i])) data = stepped({ ...t, data });
    out[name] = { type: t.type, dims: [...t.dims], data };
  }
  return out;
}

/** A tensor's integers plus one (wrapping), its bools flipped; other types as they are. */
function stepped(t: TensorLike): TensorLike['data'] {
  const data = t.data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return (data as BigInt64Array).map((v) => v + 1n);
  if (t.type === 'bool') return (data as Uint8Array).map((v) => (v === 0 ? 1 : 0));
  if (Array.isArray(data) || t.type === 'float16' || data instanceof Float32Array || data instanceof Float64Array) return data;
  return (data as Int32Array).map((v) => v + 1);
}

/** Whether some output holds a value a mixed batch could change visibly: any integer, bool or string, a finite float. */
function holdsAValue(outputs: NamedTensors): boolean {
  for (const t of Object.values(outputs)) {
    const data = t.data;
    if (data.length === 0) continue;
    const half = t.type === 'float16';
    if (!half && !(data instanceof Float32Array || data instanceof Float64Array)) return true;
    for (let i = 0; i < data.length; i++) if (Number.isFinite(half ? halfToFloat((data as Uint16Array)[i]!) : (data as Float32Array)[i]!)) return true;
  }
  return false;
}

/** The first difference between a solo result and the batch's slice, or `undefined` when they agree. */
function compare(solo: NamedTensors, part: NamedTensors): string | undefined {
  for (const [name, s] of Object.entries(solo)) {
    const p = part[name];
    if (!p) return `output '${name}' is missing from the batch`;
    if (p.dims.length !== s.dims.length || p.dims.some((d, i) => d !== s.dims[i])) return `output '${name}' has dims [${p.dims.join(', ')}] in the batch, [${s.dims.join(', ')}] alone`;
    // A half's bits are compared as the number they stand for: a batch may round a half float differently too.
    const half = s.type === 'float16';
    const exact = !(half || s.data instanceof Float32Array || s.data instanceof Float64Array);
    const at = (data: TensorLike['data'], i: number): unknown => (half ? halfToFloat((data as Uint16Array)[i]!) : data[i]);
    let scale = 0;
    if (!exact) for (let i = 0; i < s.data.length; i++) scale = Math.max(scale, Math.abs(at(s.data, i) as number));
    const atol = BATCH_CHECK_TOLERANCE.absolute * Math.max(1, scale);
    for (let i = 0; i < s.data.length; i++) {
      const x = at(s.data, i);
      const y = at(p.data, i);
      if (exact ? x === y : Math.abs((x as number) - (y as number)) <= atol + BATCH_CHECK_TOLERANCE.relative * Math.abs(x as number)) continue;
      if (!exact && (x === y || (Number.isNaN(x as number) && Number.isNaN(y as number)))) continue;
      return `output '${name}'[${i}] is ${String(y)} in the batch, ${String(x)} alone`;
    }
  }
  return undefined;
}

function rethrowFatal(err: unknown): void {
  if (isEparaError(err) && (err.code === 'ABORTED' || err.code === 'CLOSED')) throw err;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
