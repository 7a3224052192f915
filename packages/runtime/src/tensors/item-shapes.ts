import { EparaError, TENSOR_ELEMENT_BYTES, invalidOption, isEparaError, type NamedTensors, type TensorLike, type TensorType } from '@epara/core';
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
 * one element (Silero VAD needs 256 audio samples) — the sizes `epara serve` tries for its load-time sample.
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
 * The items worth trying for a model with free dims and no sample, in order: every free dim of every unsampled
 * input at one size of {@link FREE_DIM_SIZES} (one size for all, so dims the model names alike agree), size 1 on
 * the batch axes, zeros — then ones where an unsampled input is an integer or bool (a divisor, a count or a mask
 * that must not be all zeros). Inputs `sample` gives keep it; an input of open rank gets a scalar.
 */
export function freeDimCandidates(io: IoSpec, sample: NamedTensors | undefined): NamedTensors[] {
  const open = unsampledFreeInputs(io, sample);
  const counted = open.some((s) => s.type !== 'float32' && s.type !== 'float64' && s.type !== 'float16' && s.type !== 'string');
  const out: NamedTensors[] = [];
  for (const size of FREE_DIM_SIZES) {
    for (const fill of counted ? ([0, 1] as const) : ([0] as const)) {
      let bytes = 0;
      const dimsOf = (s: InputSpec): number[] => (s.anyRank === true ? [] : s.dims.map((d) => d ?? size));
      for (const s of io.inputs) if (own(sample, s.name) === undefined) bytes += elementCount(dimsOf(s)) * elementBytes(s.type);
      if (bytes > MAX_CANDIDATE_BYTES) continue;
      const item: Record<string, TensorLike> = {};
      for (const s of io.inputs) {
        const given = own(sample, s.name);
        item[s.name] = given ?? filled(s.type, dimsOf(s), open.includes(s) ? fill : 0);
      }
      out.push(item);
    }
  }
  return out;
}

/**
 * Finds one item the model runs on when its inputs leave dims free besides the batch and no sample says how large
 * they are: the first of {@link freeDimCandidates} that `run` completes. Only a refusal by the model
 * (`MODEL_ERROR`) moves on to the next candidate; any other failure (the device closed, the load aborted) is
 * thrown as it is.
 *
 * @throws EparaError `INVALID_OPTIONS` naming `sampleInputs.<input>` when the model runs on none of them, with the
 * model's last refusal.
 */
export async function findFreeDimItem(io: IoSpec, sample: NamedTensors | undefined, run: (item: NamedTensors) => Promise<unknown>): Promise<NamedTensors> {
  const open = unsampledFreeInputs(io, sample);
  let last = 'no candidate fits';
  for (const candidate of freeDimCandidates(io, sample)) {
    try {
      await run(candidate);
      return candidate;
    } catch (err) {
      if (!isEparaError(err) || err.code !== 'MODEL_ERROR') throw err;
      last = err.message;
    }
  }
  const names = open.map((s) => `'${s.name}' [${s.anyRank ? '…' : s.dims.map((d) => d ?? '?').join(', ')}]`).join(', ');
  const sizes = FREE_DIM_SIZES.join(', ');
  return invalidOption(
    `sampleInputs.${open[0]?.name ?? ''}`,
    undefined,
    `one item to measure the model with: inputs ${names} leave dims free and the model ran on none of the sizes ${sizes} (zeros, or ones) — give the service sampleInputs or a profile (last error: ${last})`,
  );
}

/**
 * Refuses, at load, a model one item of which is larger than the service's `maxRequestBytes`, counting what its
 * declared dims fix (size 1 on the batch axes, 0 on free dims: an empty tensor is the smallest a request can send):
 * every request would be refused, and measuring, checking or warming the model on such an item would allocate it
 * (a declared `[1, 1048576, 4096]` float32 is 16 GiB: the host ran out of memory, or hung paging). State inputs
 * count one by one (a stream's state travels with every frame). The profiler refuses such a model the same way
 * (`subject` names who refuses).
 *
 * @throws EparaError `LOAD_FAILED` naming the inputs, their dims and the bytes.
 */
export function refuseOversizedItem(serviceId: string, io: IoSpec, maxRequestBytes: number, subject = `service ${serviceId}`): void {
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
  throw new EparaError('LOAD_FAILED', `${subject}: ${what}, above its maxRequestBytes (${maxRequestBytes}): no request could be served (raise maxRequestBytes to serve it)`, {
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
