import { invalidOption, isEparaError, type NamedTensors, type TensorLike, type TensorType } from '@epara/core';
import { product, stackTensors } from '../tensors/stack.js';
import { checkTensor, own, plainArrays, plainTensor, type InputSpec, type IoSpec } from './io-spec.js';

/** A deep copy of tensors (fresh, transferable buffers). */
export function cloneTensors(tensors: NamedTensors): Record<string, TensorLike> {
  const out: Record<string, TensorLike> = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = { type: t.type, dims: [...t.dims], data: t.data.slice() };
  return out;
}

/** A tensor of zeros (empty strings for `string`) of the given type and dims. */
export function zeros(type: TensorType, dims: readonly number[]): TensorLike {
  const n = product(dims);
  const data =
    type === 'float32' ? new Float32Array(n)
    : type === 'float64' ? new Float64Array(n)
    : type === 'int32' ? new Int32Array(n)
    : type === 'int64' ? new BigInt64Array(n)
    : type === 'int8' ? new Int8Array(n)
    : type === 'float16' || type === 'uint16' ? new Uint16Array(n)
    : type === 'int16' ? new Int16Array(n)
    : type === 'uint32' ? new Uint32Array(n)
    : type === 'uint64' ? new BigUint64Array(n)
    : type === 'string' ? new Array<string>(n).fill('')
    : new Uint8Array(n);
  return { type, dims: [...dims], data };
}

function fixedDims(spec: InputSpec, what: string): number[] {
  return spec.dims.map((d, i) => {
    if (d === null) invalidOption(`${what}.${spec.name}.dims[${i}]`, d, 'a fixed size (give the service `sampleInputs` or an explicit state)');
    return d;
  });
}

/**
 * The initial per-stream state of a stateful service: the given tensors, or zeros of the model's state shape.
 * A given tensor is checked as a frame's input would be (one stream: size 1 on its batch axis): one the model
 * would refuse failed every frame of every stream, and one of several rows was stacked as several streams.
 *
 * @throws EparaError `INVALID_OPTIONS` naming `stateful.initial.<input>` and what is wrong.
 */
export function initialState(io: IoSpec, given: NamedTensors | undefined): NamedTensors {
  const out: Record<string, TensorLike> = {};
  const names = new Set(io.stateInputs.map((s) => s.name));
  for (const name of Object.keys(given ?? {})) if (!names.has(name)) invalidOption(`stateful.initial.${name}`, name, `a state input of the model (${[...names].join(', ')})`);
  for (const s of io.stateInputs) {
    const t = own(given, s.name);
    if (t === undefined) {
      out[s.name] = zeros(s.type, fixedDims(s, 'stateful.initial'));
      continue;
    }
    checkOptionTensor('stateful.initial', s, t, 'a tensor the model takes');
    out[s.name] = plainTensor(t);
  }
  return out;
}

/**
 * Checks an option's tensor as a request's item of input `s` would be checked; a refusal is `INVALID_OPTIONS`
 * naming `<field>.<input>`, its message led by `expected` instead of the field.
 */
function checkOptionTensor(field: string, s: InputSpec, t: TensorLike, expected: string): void {
  try {
    checkTensor(field, s, t);
  } catch (err) {
    if (!isEparaError(err)) throw err;
    const prefix = `${field}: `;
    invalidOption(`${field}.${s.name}`, describeTensor(t), err.message.startsWith(prefix) ? `${expected}: ${err.message.slice(prefix.length)}` : err.message);
  }
}

function describeTensor(t: TensorLike): string {
  return `${String(t?.type)}[${Array.isArray(t?.dims) ? t.dims.join(', ') : '?'}] (${String(t?.data?.constructor?.name)} of ${String(t?.data?.length)})`;
}

/**
 * Inputs of a batch of `batch` copies of one sample item (for profiling): `sample` when given, else zeros of
 * the model's fixed input shapes; state inputs from `state`. Every call returns fresh buffers.
 *
 * @throws EparaError `INVALID_OPTIONS` when the model has free dims and no sample is given.
 */
export function sampleFeeds(io: IoSpec, batch: number, sample: NamedTensors | undefined, state: NamedTensors): NamedTensors {
  const item: Record<string, TensorLike> = { ...state };
  for (const s of io.inputs) item[s.name] = own(sample, s.name) ?? zeros(s.type, fixedDims(s, 'sampleInputs'));
  const items = Array.from({ length: batch }, () => cloneTensors(item));
  return stackTensors(items, io.inputAxes);
}

/** Every {@link TensorType}: the element types EPARA carries. */
export const TENSOR_TYPES: ReadonlySet<string> = new Set(['float32', 'float64', 'int32', 'int64', 'uint8', 'int8', 'bool', 'float16', 'int16', 'uint16', 'uint32', 'uint64', 'string']);

/**
 * `options.sampleInputs` of a load, checked as tensors whose data holds as many elements as their dims.
 * @throws EparaError `INVALID_OPTIONS` naming the input and field.
 */
export function checkSampleInputs(sample: NamedTensors): NamedTensors {
  if (typeof sample !== 'object' || sample === null || Array.isArray(sample)) invalidOption('options.sampleInputs', sample, 'an object of tensors by input name');
  for (const [name, t] of Object.entries(sample)) {
    const field = `options.sampleInputs.${name}`;
    if (typeof t !== 'object' || t === null || !TENSOR_TYPES.has(t.type)) invalidOption(`${field}.type`, (t as { type?: unknown } | null)?.type, 'a tensor type');
    if (!Array.isArray(t.dims) || !t.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) invalidOption(`${field}.dims`, t.dims, 'an array of integers >= 0');
    const elements = t.dims.reduce((a, d) => a * d, 1);
    if (typeof t.data !== 'object' || t.data === null || t.data.length !== elements) invalidOption(`${field}.data`, t.data, `${elements} elements (the product of its dims)`);
  }
  return plainArrays(sample);
}

/**
 * Checks a service's `sampleInputs` against the model, once it is loaded: each tensor must be one item of an
 * input (or state input) the model takes, as a request's would be — dtype and typed array, rank, fixed dims,
 * size 1 on the batch axis. A sample the model refuses failed the load with the model's own error, and one of
 * several rows was measured as one item and failed the batch check: a separable model ran unbatched, and
 * `itemSeparability` called it not separable.
 *
 * @throws EparaError `INVALID_OPTIONS` naming `sampleInputs.<input>` and what is wrong.
 */
export function checkSampleAgainst(io: IoSpec, sample: NamedTensors): void {
  const specs = new Map([...io.inputs, ...io.stateInputs].map((s) => [s.name, s]));
  for (const [name, t] of Object.entries(sample)) {
    const spec = specs.get(name);
    if (spec === undefined) invalidOption(`sampleInputs.${name}`, name, `an input of the model (${[...specs.keys()].join(', ')})`);
    checkOptionTensor('sampleInputs', spec, t, 'one item the model takes');
  }
}
