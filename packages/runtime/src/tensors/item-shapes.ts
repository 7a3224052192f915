import { EparaError, TENSOR_ELEMENT_BYTES, isEparaError, type NamedTensors, type TensorLike, type TensorType } from '@epara/core';
import type { InputSpec, IoSpec } from '../executor/io-spec.js';
import { own } from '../executor/io-spec.js';
import { zeros } from '../executor/model-inputs.js';

/*
 * The shape of one item when the model leaves it open: what a load can run without a sample, and what no
 * request could ever send.
 */

/**
 * Sizes tried, in order, for the free dims besides the batch when a model is loaded with neither a profile nor
 * `sampleInputs`: one (a single token), then larger ones for a window, a kernel or a reflect padding wider than
 * one element (Silero VAD needs 256 audio samples).
 */
export const FREE_DIM_SIZES: readonly number[] = [1, 16, 256, 1024];

/**
 * Largest candidate item tried (bytes over its inputs): a larger one is skipped, not allocated. The profile then
 * stacks up to `maxBatch` copies of the item found (32 by default: 128 MiB at this size).
 */
const MAX_CANDIDATE_BYTES = 4 * 1024 * 1024;

/**
 * The inputs with a dim left free besides the batch that `sample` does not give (one of open rank is measured
 * as a scalar).
 */
export function unsampledFreeInputs(io: IoSpec, sample: NamedTensors | undefined): InputSpec[] {
  return io.inputs.filter((s) => own(sample, s.name) === undefined && s.anyRank !== true && s.dims.includes(null));
}

/**
 * The integer and bool inputs `sample` does not give, whatever their shape: zeros may be no value for them (a
 * divisor, an index or a token id the model looks up, a length or a count that must be at least 1).
 */
function countedInputs(io: IoSpec, sample: NamedTensors | undefined): InputSpec[] {
  return io.inputs.filter((s) => own(sample, s.name) === undefined && s.type !== 'float32' && s.type !== 'float64' && s.type !== 'float16' && s.type !== 'string');
}

/** Whether a load given `sample` has to find one item to measure with: some input is free, or an integer, and not given. */
export function needsSampleSearch(io: IoSpec, sample: NamedTensors | undefined): boolean {
  return unsampledFreeInputs(io, sample).length > 0 || countedInputs(io, sample).length > 0;
}

/** One item tried by {@link findSampleItem}: its tensors, and whether it fills its free and integer inputs with ones. */
export interface SampleCandidate {
  readonly item: NamedTensors;
  readonly ones: boolean;
}

/**
 * The items worth trying for a model with free dims or integer inputs and no sample for them, in order: every
 * free dim of every unsampled input at one size of {@link FREE_DIM_SIZES} (one size for all, so dims the model
 * names alike agree; size 1 only when no input is free), size 1 on the batch axes, zeros — then ones in the free
 * inputs and in every unsampled integer or bool input (fixed shapes included: a divisor, an index, a length).
 * An input shared by the batch whose free dim is unnamed may hold the batch under no name (Silero VAD's
 * `state [2, ?, 128]` beside `input [?, ?]`): where the model has a batch axis elsewhere, each size is first tried
 * with that input's first free dim left at 1. Inputs `sample` gives keep it; an input of open rank gets a scalar;
 * a candidate over 4 MiB is skipped.
 */
export function sampleCandidates(io: IoSpec, sample: NamedTensors | undefined): SampleCandidate[] {
  const open = unsampledFreeInputs(io, sample);
  const counted = countedInputs(io, sample);
  const filled1 = new Set([...open, ...counted]);
  const batched = io.inputs.some((s) => s.batchAxis !== null);
  const tied = new Set(io.ties.flatMap((t) => t.places.map((p) => `${p.input}:${p.axis}`)));
  // The first free dim of each open input shared by the batch, when untied and the model batches elsewhere.
  const hidden = new Map<string, number>();
  if (batched) {
    for (const s of open) {
      const k = s.dims.indexOf(null);
      if (s.batchAxis === null && !tied.has(`${s.name}:${k}`)) hidden.set(s.name, k);
    }
  }
  const out: SampleCandidate[] = [];
  const sizes = open.length > 0 ? FREE_DIM_SIZES : [1];
  for (const size of sizes) {
    for (const held of size > 1 && hidden.size > 0 ? [true, false] : [false]) {
      const dimsOf = (s: InputSpec): number[] => (s.anyRank === true ? [] : s.dims.map((d, k) => d ?? (held && hidden.get(s.name) === k ? 1 : size)));
      let bytes = 0;
      for (const s of io.inputs) if (own(sample, s.name) === undefined) bytes += elementCount(dimsOf(s)) * elementBytes(s.type);
      if (bytes > MAX_CANDIDATE_BYTES) continue;
      for (const fill of counted.length > 0 ? ([0, 1] as const) : ([0] as const)) {
        const item: Record<string, TensorLike> = {};
        for (const s of io.inputs) item[s.name] = own(sample, s.name) ?? filled(s.type, dimsOf(s), filled1.has(s) ? fill : 0);
        out.push({ item, ones: fill === 1 });
      }
    }
  }
  return out;
}

/** An item found by {@link findSampleItem}, and the model's refusal of the first one tried when it was another. */
export interface FoundSample {
  readonly item: NamedTensors;
  readonly ones: boolean;
  readonly refused?: { readonly first: NamedTensors; readonly message: string };
}

/** Items {@link findSampleItem} found: a service's sample that no one gave (see {@link isFoundSample}). */
const FOUND = new WeakSet<NamedTensors>();

/**
 * Whether a service's sample is one a load found rather than one the service gave: its free dims were sized by
 * the search, not by what requests hold, so the batch check still waits for the first request (see
 * `BatchingDecision`).
 */
export function isFoundSample(sample: NamedTensors | undefined): boolean {
  return sample !== undefined && FOUND.has(sample);
}

/** The shapes of a sample, as logs and messages name them (`input [1,256], state [2,1,128], sr []`). */
export function sampleText(sample: NamedTensors): string {
  return Object.entries(sample)
    .map(([name, t]) => `${name} [${t.dims.join(',')}]`)
    .join(', ');
}

/**
 * Finds one item the model runs on when its inputs leave dims free besides the batch, or hold integers, and no
 * sample gives them: the first of {@link sampleCandidates} that `run` completes. Only a refusal by the model
 * (`MODEL_ERROR`) moves on to the next candidate; any other failure (the device closed, the load aborted) is
 * thrown as it is.
 *
 * @throws EparaError `INVALID_OPTIONS` naming `sampleInputs.<input>` when the model runs on none of them and some
 * input leaves a dim free, with the model's last refusal; `MODEL_ERROR`, the model's refusal of zeros, when every
 * dim is fixed (it refused ones too). Either carries the first sample's shapes in `details.sample`.
 */
export async function findSampleItem(io: IoSpec, sample: NamedTensors | undefined, run: (item: NamedTensors) => Promise<unknown>): Promise<FoundSample> {
  const open = unsampledFreeInputs(io, sample);
  const candidates = sampleCandidates(io, sample);
  let first: { item: NamedTensors; error: EparaError } | undefined;
  let last = 'no candidate fits';
  for (const c of candidates) {
    try {
      await run(c.item);
      FOUND.add(c.item);
      return { item: c.item, ones: c.ones, ...(first ? { refused: { first: first.item, message: first.error.message } } : {}) };
    } catch (err) {
      if (!isEparaError(err) || err.code !== 'MODEL_ERROR') throw err;
      first ??= { item: c.item, error: err };
      last = err.message;
    }
  }
  const shown = candidates[0] === undefined ? '' : sampleText(candidates[0].item);
  if (open.length === 0 && first !== undefined) {
    const counted = countedInputs(io, sample).map((s) => s.name);
    throw new EparaError('MODEL_ERROR', `${first.error.message} (on the load-time sample, zeros shaped ${shown}, and with ones in ${counted.join(', ')}: ${last})`, { ...first.error.details, field: `sampleInputs.${counted[0] ?? ''}`, sample: shown }, { cause: first.error });
  }
  const names = open.map((s) => `'${s.name}' [${s.anyRank ? '…' : s.dims.map((d) => d ?? '?').join(', ')}]`).join(', ');
  const field = `sampleInputs.${open[0]?.name ?? ''}`;
  const expected = `one item to measure the model with: inputs ${names} leave dims free and the model ran on none of the sizes ${FREE_DIM_SIZES.join(', ')} (zeros, or ones) — give the service sampleInputs or a profile (last error: ${last})`;
  throw new EparaError('INVALID_OPTIONS', `Expected \`${field}\` to be ${expected}, got \`undefined\` (undefined)`, { field, value: 'undefined', expected, sample: shown });
}

/**
 * Refuses, at load, a model one item of which is larger than the service's `maxRequestBytes`, counting what its
 * declared dims fix (size 1 on the batch axes, 0 on free dims: an empty tensor is the smallest a request can send):
 * every request would be refused, and measuring, checking or warming the model on such an item would allocate it
 * (a declared `[1, 1048576, 4096]` float32 is 16 GiB: the host ran out of memory, or hung paging). State inputs
 * count one by one (a stream's state travels with every frame). The profiler refuses such a model the same way
 * (`subject` names who refuses, `raise` how to raise the cap).
 *
 * @throws EparaError `LOAD_FAILED` naming the inputs, their dims and the bytes.
 */
export function refuseOversizedItem(serviceId: string, io: IoSpec, maxRequestBytes: number, subject = `service ${serviceId}`, raise = 'raise maxRequestBytes to serve it'): void {
  const smallest = (s: InputSpec): number => (s.anyRank === true ? 0 : elementCount(s.dims.map((d) => d ?? 0)) * elementBytes(s.type));
  const shape = (s: InputSpec): string => `'${s.name}' ${s.type}[${s.dims.map((d) => d ?? '?').join(', ')}]`;
  let bytes = 0;
  for (const s of io.inputs) bytes += smallest(s);
  const state = io.stateInputs.find((s) => smallest(s) > maxRequestBytes);
  if (bytes <= maxRequestBytes && state === undefined) return;
  const what =
    state !== undefined
      ? `state input ${shape(state)} holds ${sizeText(smallest(state))} per stream`
      : `inputs ${io.inputs.filter((s) => smallest(s) > 0).map(shape).join(', ')} hold at least ${sizeText(bytes)} per item`;
  throw new EparaError('LOAD_FAILED', `${subject}: ${what}, above its maxRequestBytes (${maxRequestBytes}): no request could be served (${raise})`, {
    serviceId,
    maxRequestBytes,
  });
}

function sizeText(n: number): string {
  return Number.isSafeInteger(n) ? `${n} bytes` : `about ${n.toExponential(2)} bytes`;
}

function elementBytes(type: TensorType): number {
  // A string's bytes are its characters': at least nothing.
  return type === 'string' ? 0 : TENSOR_ELEMENT_BYTES[type];
}

function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** A tensor of `fill` (0 or 1; 1.0 as a half float's bits, `'1'` for strings) of the given type and dims. */
function filled(type: TensorType, dims: number[], fill: 0 | 1): TensorLike {
  const t = zeros(type, dims);
  if (fill === 0) return t;
  const data = t.data;
  if (type === 'string') (data as string[]).fill('1');
  else if (data instanceof BigInt64Array || data instanceof BigUint64Array) data.fill(1n);
  else (data as Float32Array).fill(type === 'float16' ? 0x3c00 : 1);
  return t;
}
