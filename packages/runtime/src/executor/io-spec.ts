import { EparaError, type NamedTensors, type TensorLike, type TensorType } from '@epara/core';
import { BATCH_DIM_NAME, LENGTH_DIM_NAME } from '@epara/core/internal';
import type { LoadedModelInfo, ModelIoInfo } from '../devices/device-port.js';
import { VIEW_CTOR } from '../devices/slab-outputs.js';
import type { BatchAxes } from '../tensors/stack.js';
import { plainView, product } from '../tensors/stack.js';
import type { ExecutorServiceOptions } from './executor-options.js';
import { checkDimTies, dimTies, type DimTie } from './dim-ties.js';

/** One input as the executor checks it: per-item dims (size 1 on the batch axis, `null` = free). */
export interface InputSpec {
  readonly name: string;
  readonly type: TensorType;
  readonly dims: readonly (number | null)[];
  readonly batchAxis: number | null;
  /** Any rank and size (the model leaves the rank open): only the type and the data length are checked. */
  readonly anyRank?: true;
}

/**
 * What the model's dim names say about stacking requests: `named` when every batched tensor's batch axis is
 * named by the batch symbol (or given in the service options), `guessed` when some axis was only assumed (a
 * free leading dim under another name: names often lie, so this needs the numeric check), `none` with the
 * reason when some output has no place for a batch (a fixed or foreign leading dim, a scalar) or the model has
 * no free batch dim at all.
 */
export type NameSeparability = { readonly kind: 'named' | 'guessed' } | { readonly kind: 'none'; readonly reason: string };

/** A service's resolved tensor interface. */
export interface IoSpec {
  /** Inputs the caller provides (state inputs excluded). */
  readonly inputs: readonly InputSpec[];
  /** Recurrent state inputs of a stateful service (provided by a stream, or by the caller of `submit`). */
  readonly stateInputs: readonly InputSpec[];
  /**
   * Inputs the model gives a default (an initializer listed as an input): a request may give one (shared by its
   * batch: items stack only when its values are equal) or leave it to the default.
   */
  readonly optionalInputs?: readonly InputSpec[];
  readonly inputAxes: BatchAxes;
  readonly outputAxes: BatchAxes;
  readonly outputNames: readonly string[] | undefined;
  /** State input → output carrying its next value. */
  readonly stateMap: Readonly<Record<string, string>>;
  /** What the dim names say about batching this model. */
  readonly separability: NameSeparability;
  /** Dims of different places the model names alike (not the batch's): a request gives them one size. */
  readonly ties: readonly DimTie[];
  /**
   * The places of the batch's symbol on the inputs' batch axes, when it names more than one: a request that runs
   * whole ({@link wholeRequestSpec}) holds any number of rows there, one number for all of them.
   */
  readonly batchTies?: readonly DimTie[];
}

const ARRAY_OF: Record<TensorType, string> = {
  float32: 'Float32Array',
  float64: 'Float64Array',
  int32: 'Int32Array',
  int64: 'BigInt64Array',
  uint8: 'Uint8Array',
  bool: 'Uint8Array',
  int8: 'Int8Array',
  float16: 'Uint16Array',
  int16: 'Int16Array',
  uint16: 'Uint16Array',
  uint32: 'Uint32Array',
  uint64: 'BigUint64Array',
  string: 'Array',
};

/**
 * The constructor of each type's data in this realm: a request's data is checked against it by identity first, and
 * by name only when that fails (an array made in another realm), since reading a constructor's `name` is a native
 * getter call per request.
 */
const CTOR_OF: Record<TensorType, unknown> = { ...VIEW_CTOR, string: Array };

type AxisHow = 'explicit' | 'named' | 'guessed' | 'shared' | 'none';

/** A dim whose size the model leaves open: a symbol, or a negative size (unnamed dynamic dim). */
function isFree(d: number | string | undefined): boolean {
  return typeof d === 'string' || (typeof d === 'number' && d < 0);
}

/** A dim name that says it is the batch, or a length: the rule the gateway's split of requests reads too. */
const BATCH_NAME = BATCH_DIM_NAME;
const LENGTH_NAME = LENGTH_DIM_NAME;

/**
 * A leading dim that may be guessed to be the batch: free, and not named as a length. A model exported without
 * a batch (`x [audio_length]`, `x [sequence, 80]`) takes a whole signal or sequence per request; read as a
 * batch, every request longer than 1 was refused (one item per request), and a model whose elements are
 * independent passed the batch check as if its samples were items.
 */
function guessable(d: number | string | undefined): boolean {
  return isFree(d) && !(typeof d === 'string' && LENGTH_NAME.test(d));
}

/**
 * The batch symbol: a free dim of the inputs named as the batch, wherever it sits (a time-major model's
 * `[seq, batch, features]`), else the leading dim of the first input that leaves it free and does not name it
 * a length. `undefined` when no input has one (a model with a fixed batch cannot stack requests).
 */
function batchSymbolOf(info: LoadedModelInfo): number | string | undefined {
  const repeated = new Set<string>();
  for (const io of [...info.inputs, ...info.outputs]) for (const d of io.dims) if (repeats(io.dims, d)) repeated.add(d as string);
  for (const io of info.inputs) for (const d of io.dims) if (typeof d === 'string' && BATCH_NAME.test(d) && !repeated.has(d)) return d;
  for (const io of info.inputs) if (guessable(io.dims[0]) && !(typeof io.dims[0] === 'string' && repeated.has(io.dims[0]))) return io.dims[0];
  return undefined;
}

/**
 * Whether `d` is a symbol that names two dims of one tensor (a square `[N, N]`: an adjacency, a `[seq, seq]` mask).
 * It cannot be the batch: stacking items grows one of its dims, and onnxruntime reads the symbol as one size.
 */
function repeats(dims: ModelIoInfo['dims'], d: number | string | undefined): boolean {
  return typeof d === 'string' && d !== '' && dims.indexOf(d) !== dims.lastIndexOf(d);
}

/**
 * Where a tensor's batch axis is, and how we know. An input without the batch symbol and with a fixed
 * leading dim is shared (items batch together only when its values are equal); an output without one has no
 * place for a batch, so the model is not batch-separable by its names. A leading dim left free under another
 * name is only a guess: the numeric check at load decides.
 */
function axisOf(io: ModelIoInfo, symbol: number | string | undefined, explicit: number | null | undefined, output: boolean): { axis: number | null; how: AxisHow } {
  if (explicit !== undefined) return { axis: explicit, how: 'explicit' };
  // An output with no place for a batch keeps axis 0 only for `batchable: true`, which vouches for it: an export
  // that fixed a batch of 1 in the output's declaration (`[1, 4]`, the run answers `[n, 4]`). A scalar, or an
  // output whose dims are all fixed with a leading dim other than 1 (a constant `labels [3]`), cannot hold one
  // row per item at every batch size: it is the batch's as a whole, and every item gets it.
  const whole = io.dims.length === 0 || (io.dims.every((d) => typeof d === 'number' && d >= 0) && io.dims[0] !== 1);
  const none = { axis: whole ? null : 0, how: 'none' } as const;
  if (io.dims.length === 0) return output ? none : { axis: null, how: 'shared' };
  const i = typeof symbol === 'string' ? io.dims.indexOf(symbol) : -1;
  if (i >= 0) return { axis: i, how: 'named' };
  if (guessable(io.dims[0]) && !repeats(io.dims, io.dims[0])) return { axis: 0, how: 'guessed' };
  return output ? none : { axis: null, how: 'shared' };
}

/**
 * `record[key]` when the record has it as its own property, else `undefined`: a model's names are keys of plain
 * objects (requests, samples, options), and one named like an `Object.prototype` member (`constructor`,
 * `toString`) would otherwise read the inherited function.
 */
export function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Combines what the model declares with what the service options say. */
export function resolveIoSpec(loaded: LoadedModelInfo, service: ExecutorServiceOptions): IoSpec {
  // Inputs with a default are no part of an item's shape: they are shared, like a scalar, and may be absent.
  const optionalInputs: InputSpec[] = loaded.inputs
    .filter((io) => io.hasDefault === true)
    .map((io) => ({ name: io.name, type: io.type, dims: io.dims.map((d) => (typeof d === 'number' && d >= 0 ? d : null)), batchAxis: null }));
  const info = optionalInputs.length === 0 ? loaded : { ...loaded, inputs: loaded.inputs.filter((io) => io.hasDefault !== true) };
  const symbol = batchSymbolOf(info);
  const stateMap = service.stateful?.state ?? {};
  const hows: AxisHow[] = [];
  const all: InputSpec[] = info.inputs.map((io) => {
    const exp = own(service.inputs, io.name);
    // An input the model leaves without a shape takes any rank, unless the service gives it dims.
    if (exp?.anyRank === true || (io.anyRank === true && exp?.dims === undefined && exp?.anyRank === undefined)) {
      hows.push('shared');
      return { name: io.name, type: exp?.type ?? io.type, dims: [], batchAxis: null, anyRank: true };
    }
    const { axis: batchAxis, how } = axisOf(io, symbol, exp?.batchAxis, false);
    hows.push(how);
    const modelDims = io.dims.map((d, i) => (i === batchAxis ? 1 : typeof d === 'number' && d >= 0 ? d : null));
    return { name: io.name, type: exp?.type ?? io.type, dims: exp?.dims ?? modelDims, batchAxis };
  });
  const inputAxes: Record<string, number | null> = {};
  for (const s of all) inputAxes[s.name] = s.batchAxis;
  for (const s of optionalInputs) inputAxes[s.name] = null;
  const outputAxes: Record<string, number | null> = {};
  let noBatch: string | undefined;
  // A recurrent state output is its state input's next value: it batches where the input does (Silero's export
  // with every free dim unnamed, `state [2, ?, 128]` → `stateN [?, ?, ?]`, says so in no other way).
  const stateInputOf = new Map(Object.entries(stateMap).map(([input, output]) => [output, input]));
  const fetched = (name: string): boolean => service.outputNames === undefined || service.outputNames.includes(name) || stateInputOf.has(name);
  for (const io of info.outputs) {
    const fromState = stateInputOf.has(io.name) ? inputAxes[stateInputOf.get(io.name)!] : undefined;
    const { axis, how } = axisOf(io, symbol, own(service.outputs, io.name)?.batchAxis ?? fromState ?? undefined, true);
    outputAxes[io.name] = axis;
    // An output no run fetches says nothing about splitting a batch's answers.
    if (!fetched(io.name)) continue;
    hows.push(how);
    if (how === 'none') noBatch ??= io.anyRank ? `output '${io.name}' has an open rank (no shape in the model)` : `output '${io.name}' has no batch dim (dims [${io.dims.join(', ')}])`;
  }
  let separability: NameSeparability;
  if (symbol === undefined && !all.some((s) => s.batchAxis !== null)) separability = { kind: 'none', reason: 'no input has a free batch dim' };
  else if (noBatch !== undefined) separability = { kind: 'none', reason: noBatch };
  else separability = { kind: hows.includes('guessed') ? 'guessed' : 'named' };
  // The batch's symbol ties nothing per item (each request holds one); overridden dims are the service's.
  const overridden = (name: string): boolean => own(service.inputs, name)?.dims !== undefined || own(service.inputs, name)?.anyRank === true;
  const ties = dimTies(info.inputs, (name, axis, d) => d === symbol || inputAxes[name] === axis || overridden(name));
  const batchTies = dimTies(info.inputs, (name, axis, d) => d !== symbol || inputAxes[name] !== axis || overridden(name));
  return {
    ties,
    ...(batchTies.length > 0 ? { batchTies } : {}),
    inputs: all.filter((s) => !Object.hasOwn(stateMap, s.name)),
    stateInputs: all.filter((s) => Object.hasOwn(stateMap, s.name)),
    ...(optionalInputs.length > 0 ? { optionalInputs } : {}),
    inputAxes,
    outputAxes,
    outputNames: service.outputNames,
    stateMap,
    separability,
  };
}

/**
 * The spec requests are checked against when an instance never stacks them (it runs unbatched for good): any
 * size along the inputs' batch axes, since each request runs alone and whole (a request of several rows, a
 * free leading dim only guessed to be the batch) — one size on every axis the batch's symbol names.
 */
export function wholeRequestSpec(io: IoSpec): IoSpec {
  const free = (s: InputSpec): InputSpec => (s.batchAxis === null ? s : { ...s, dims: s.dims.map((d, i) => (i === s.batchAxis ? null : d)) });
  // Inputs that share the batch's symbol hold one number of rows (onnxruntime would fail or broadcast them).
  return { ...io, inputs: io.inputs.map(free), ...(io.batchTies ? { ties: [...io.ties, ...io.batchTies] } : {}) };
}

/**
 * Checks one item's inputs (names, dtypes, shapes, data length) and returns its batch key: items with equal
 * keys have equal non-batch dims and equal shared tensors, so they may be stacked.
 *
 * @throws EparaError `INVALID_INPUT` naming the tensor and what is wrong.
 */
export function validateItem(spec: IoSpec, inputs: NamedTensors, options: { serviceId: string; withState: boolean }): string {
  if (typeof inputs !== 'object' || inputs === null) bad(options.serviceId, 'inputs', 'inputs must be an object of tensors');
  const exp = expectedInputs(spec, options.withState);
  const { expected, names } = exp;
  // for…in: no key array per request (inputs is a plain object of tensors).
  let given = '';
  for (const name in inputs) {
    if (!Object.prototype.hasOwnProperty.call(inputs, name)) continue;
    if (!names.has(name)) given += optionalKey(spec, names, inputs, name, options.serviceId);
  }
  let same = exp.lastKey !== undefined;
  for (let e = 0; e < expected.length; e++) {
    const s = expected[e]!;
    const t = own(inputs, s.name);
    if (!t) bad(options.serviceId, s.name, `missing input '${s.name}'`);
    checkTensor(options.serviceId, s, t);
    if (same && (s.batchAxis === null || !sameDims(exp.lastDims[e], t.dims))) same = false;
  }
  // Requests of a service mostly share one shape: the key of the last one serves again (building it appended a
  // string piece per dim, ~8 allocations per request on the classifier). The same dims passed the ties then.
  if (same) return given === '' ? exp.lastKey! : exp.lastKey! + given;
  if (spec.ties.length > 0) checkDimTies(spec.ties, inputs, options.serviceId);
  let key = '';
  for (let e = 0; e < expected.length; e++) {
    const s = expected[e]!;
    const t = inputs[s.name]!;
    exp.lastDims[e] = s.batchAxis === null ? undefined : t.dims.slice();
    if (key !== '') key += '|';
    key += s.name;
    key += '=';
    // Built by appending (no filtered copy of dims, no join): this runs on every request.
    let first = true;
    for (let i = 0; i < t.dims.length; i++) {
      if (i === s.batchAxis) continue;
      if (!first) key += 'x';
      key += t.dims[i]!;
      first = false;
    }
    if (s.batchAxis === null) key += `:${sharedKey(t.data)}`;
  }
  exp.lastKey = key;
  return given === '' ? key : key + given;
}

/**
 * The key part of an input the model gives a default, checked against its spec: its name, dims and values (items
 * stack only when they give it alike, or all leave it out).
 * @throws EparaError `INVALID_INPUT` for a name that is no input of the model.
 */
function optionalKey(spec: IoSpec, names: ReadonlySet<string>, inputs: NamedTensors, name: string, serviceId: string): string {
  const s = spec.optionalInputs?.find((o) => o.name === name);
  if (s === undefined) {
    const optional = spec.optionalInputs?.map((o) => o.name) ?? [];
    bad(serviceId, name, `unexpected input '${name}'; expected ${[...names].join(', ')}${optional.length > 0 ? ` (optional: ${optional.join(', ')})` : ''}`);
  }
  const t = inputs[name]!;
  checkTensor(serviceId, s, t);
  return `|${name}=${t.dims.join('x')}:${sharedKey(t.data)}`;
}

/** Whether `dims` equal the `last` request's (undefined: none kept). */
function sameDims(last: readonly number[] | undefined, dims: readonly number[]): boolean {
  if (last === undefined || last.length !== dims.length) return false;
  for (let i = 0; i < dims.length; i++) if (last[i] !== dims[i]) return false;
  return true;
}


/** Shared tensors up to this many values are keyed by value (a sample rate); larger ones by identity. */
const SHARED_BY_VALUE = 64;
const sharedIds = new WeakMap<object, number>();
let nextSharedId = 0;

/**
 * The key part of a shared tensor: its values when small, else the identity of its data array — items that
 * pass the same array batch together, equal copies do not (always safe; spelling out a large tensor for
 * every request would cost more than the batching gains). Values are spelled so that two tensors a model can
 * tell apart never share a key: floats by their bits (`String` reads -0 as 0, and `x / s` answers -∞ for one
 * and +∞ for the other), strings quoted (joined bare, `['a,b', 'c']` read as `['a', 'b,c']`).
 */
function sharedKey(data: TensorLike['data']): string {
  if (data.length <= SHARED_BY_VALUE) {
    if (Array.isArray(data)) return JSON.stringify(data);
    if (data instanceof Float32Array || data instanceof Float64Array) {
      // A typed array's offset is a multiple of its element size: a 32-bit view of its bytes always fits.
      return new Uint32Array(data.buffer, data.byteOffset, data.byteLength / 4).join(',');
    }
    return Array.from(data as ArrayLike<unknown>, String).join(',');
  }
  let id = sharedIds.get(data);
  if (id === undefined) sharedIds.set(data, (id = nextSharedId++));
  return `#${id}`;
}

interface Expected {
  readonly expected: readonly InputSpec[];
  readonly names: ReadonlySet<string>;
  /** The last request's key, and its dims per expected input (undefined for a shared one: keyed by value). */
  lastKey: string | undefined;
  readonly lastDims: (readonly number[] | undefined)[];
}

/** The inputs an item must carry, computed once per spec (validation runs on every request). */
const expectedCache = new WeakMap<IoSpec, { plain: Expected; withState: Expected }>();

function expectedInputs(spec: IoSpec, withState: boolean): Expected {
  let cached = expectedCache.get(spec);
  if (!cached) {
    const of = (expected: readonly InputSpec[]): Expected => ({ expected, names: new Set(expected.map((s) => s.name)), lastKey: undefined, lastDims: [] });
    cached = { plain: of(spec.inputs), withState: of([...spec.inputs, ...spec.stateInputs]) };
    expectedCache.set(spec, cached);
  }
  return withState ? cached.withState : cached.plain;
}

/**
 * Checks one tensor against its input's spec: dtype and typed-array class, rank, fixed dims (size 1 on the
 * batch axis), the data length.
 *
 * @throws EparaError `INVALID_INPUT` naming the input and what is wrong.
 */
export function checkTensor(serviceId: string, s: InputSpec, t: TensorLike): void {
  if (typeof t !== 'object' || t === null || !Array.isArray(t.dims)) bad(serviceId, s.name, `input '${s.name}' is not a tensor`);
  if (t.type !== s.type) bad(serviceId, s.name, `input '${s.name}' has dtype ${t.type}, expected ${s.type}`);
  const ctor = (t.data as { constructor?: { name?: unknown } } | undefined)?.constructor;
  if (ctor !== CTOR_OF[s.type] && ctor?.name !== ARRAY_OF[s.type] && !isByteBuffer(s.type, t.data)) bad(serviceId, s.name, `input '${s.name}' data must be a${s.type === 'string' ? 'n Array of strings' : ` ${ARRAY_OF[s.type]}`}`);
  if (s.type === 'string' && !(t.data as readonly unknown[]).every((v) => typeof v === 'string')) bad(serviceId, s.name, `input '${s.name}' data must be an Array of strings`);
  // An input of open rank has no dims to compare (its spec's are empty): only sizes and the data length are checked.
  if (!s.anyRank && t.dims.length !== s.dims.length) bad(serviceId, s.name, `input '${s.name}' has rank ${t.dims.length}, expected ${s.dims.length}`);
  for (let i = 0; i < t.dims.length; i++) {
    const d = t.dims[i]!;
    // A dim of 0 is an empty tensor, which onnxruntime takes (a sequence of no tokens, a box list with no box).
    // A string dim ('1') reads like a number in a message: it is quoted (JSON) so the message says what is wrong.
    if (!Number.isInteger(d) || d < 0) bad(serviceId, s.name, `input '${s.name}' dim ${i} is ${typeof d === 'number' ? d : JSON.stringify(d) ?? String(d)}, expected a whole number ≥ 0`);
    const want = s.dims[i];
    if (want !== null && want !== undefined && want !== d) {
      const what = i === s.batchAxis ? ' (one item per request: size 1 on the batch axis)' : '';
      bad(serviceId, s.name, `input '${s.name}' dim ${i} is ${d}, expected ${want}${what}`);
    }
  }
  if (t.data.length !== product(t.dims)) bad(serviceId, s.name, `input '${s.name}' holds ${t.data.length} values for dims [${t.dims.join(', ')}]`);
}

/**
 * A Node `Buffer` given for a uint8 or bool input: a `Uint8Array` under another constructor name, which
 * onnxruntime-node takes as it is. The executor reads it through a plain view ({@link plainArrays}).
 */
function isByteBuffer(type: TensorType, data: unknown): boolean {
  return (type === 'uint8' || type === 'bool') && data instanceof Uint8Array && typeof Buffer !== 'undefined' && Buffer.isBuffer(data);
}

/**
 * `inputs` with every Node `Buffer` replaced by a plain `Uint8Array` view of the same memory (no copy), and
 * `inputs` itself when none is one. A Buffer's `slice()` is a view, not a copy, its constructor makes Buffers,
 * and a small one is a view into Node's shared pool: downstream, a batch copies and transfers typed arrays by
 * their class, which for a Buffer would share or detach the pool. A view is copied before transfer like any
 * view of a larger buffer.
 */
export function plainArrays(inputs: NamedTensors): NamedTensors {
  let out: Record<string, TensorLike> | undefined;
  for (const name in inputs) {
    const t = inputs[name];
    if (t === undefined) continue;
    const plain = plainTensor(t);
    if (plain === t) continue;
    out ??= { ...inputs };
    out[name] = plain;
  }
  return out ?? inputs;
}

/** One tensor as {@link plainArrays} gives it: a plain `Uint8Array` view for a Node `Buffer`, else `t` itself. */
export function plainTensor(t: TensorLike): TensorLike {
  const data = plainView(t.data);
  return data === t.data ? t : { type: t.type, dims: t.dims, data };
}

function bad(serviceId: string, input: string, message: string): never {
  throw new EparaError('INVALID_INPUT', `${serviceId}: ${message}`, { serviceId, input });
}
