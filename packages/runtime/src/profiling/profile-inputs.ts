import { invalidOption, type NamedTensors, type TensorDataArray, type TensorLike, type TensorType } from '@epara/core';
import { floatToHalf } from '@epara/core/internal';
import type { LoadedModelInfo } from '../devices/device-port.js';
import { resolveIoSpec, type InputSpec, type IoSpec } from '../executor/io-spec.js';
import { sampleFeeds, zeros } from '../executor/model-inputs.js';
import { refuseOversizedItem } from '../tensors/item-shapes.js';
import { DEFAULT_MAX_REQUEST_BYTES } from '../batching/input-cost.js';

/** What a profiling run is told about a model's inputs (the `epara-profile` flags). */
export interface ProfileInputOptions {
  /** Per-item dims by input name (size 1 on the batch axis), for inputs with free dims. */
  readonly dims?: Readonly<Record<string, readonly number[]>>;
  /** A constant to fill an input with, by name (e.g. a sample rate of 16000). @default a sine pattern for floats, zeros otherwise */
  readonly fill?: Readonly<Record<string, number>>;
  /** Batch axis by input name; `null` for a tensor shared by the batch. @default read from the model as the executor does */
  readonly batchAxis?: Readonly<Record<string, number | null>>;
  /**
   * Bytes one item may hold at most, as a service's `maxRequestBytes` (`--max-request-bytes`): a model whose item
   * is larger is refused before the item is allocated. @default 128 MiB (the executor's default)
   */
  readonly maxRequestBytes?: number;
}

/** A model's inputs as the executor understands them, and one item to profile with. */
export interface ProfileInputs {
  readonly io: IoSpec;
  /** One item's inputs (size 1 on each batch axis; shared inputs whole). */
  readonly item: NamedTensors;
  /** Inputs of a batch of `batch` copies of the item, stacked on each input's batch axis (fresh buffers). */
  readonly batch: (batch: number) => NamedTensors;
}

/**
 * Builds profiling inputs with the executor's own reading of the model ({@link resolveIoSpec}: batch axes from
 * the dim names, rank-0 and fixed inputs shared, a state `[2, batch, 64]` stacked on axis 1) and its own
 * stacking ({@link sampleFeeds}), so that a profile measures what the executor will run.
 *
 * @throws EparaError `INVALID_OPTIONS` naming an input whose dims are free and not given (with the dims to pass),
 * or an unknown input name; `LOAD_FAILED` when one item is larger than `maxRequestBytes`.
 */
export function resolveProfileInputs(info: LoadedModelInfo, o: ProfileInputOptions = {}): ProfileInputs {
  const known = new Set(info.inputs.map((i) => i.name));
  for (const [flag, map] of [['--input', o.dims], ['--fill', o.fill], ['--axis', o.batchAxis]] as const) {
    for (const name of Object.keys(map ?? {})) if (!known.has(name)) invalidOption(`${flag} ${name}`, name, `one of the model's inputs (${[...known].join(', ')})`);
  }
  for (const [name, dims] of Object.entries(o.dims ?? {})) {
    if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) invalidOption(`--input ${name}`, Array.isArray(dims) ? dims.join('x') : dims, 'sizes ≥ 0 joined by x (1x3x48x192), or scalar');
  }
  for (const io of info.inputs) {
    const fill = o.fill?.[io.name];
    if (fill !== undefined) checkFill(io.name, io.type, fill);
  }
  const inputs: Record<string, { batchAxis?: number | null; dims?: readonly number[] }> = {};
  for (const name of known) {
    const axis = o.batchAxis?.[name];
    const dims = o.dims?.[name];
    if (axis !== undefined || dims !== undefined) inputs[name] = { ...(axis !== undefined ? { batchAxis: axis } : {}), ...(dims ? { dims } : {}) };
  }
  const io = resolveIoSpec(info, { id: 'profile', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 1 }, inputs });
  refuseOversizedItem('profile', io, o.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES, 'profiler', 'raise it with --max-request-bytes');
  const item: Record<string, TensorLike> = {};
  for (const s of [...io.inputs, ...io.stateInputs]) item[s.name] = itemTensor(s, o.fill?.[s.name]);
  return { io, item, batch: (b) => sampleFeeds(io, b, item, {}) };
}

/** How to name an input's per-item dims on the command line: `1x3x?x?` (`?` for a free dim, `scalar` for rank 0). */
export function dimsHint(s: InputSpec): string {
  return s.dims.length === 0 ? 'scalar' : s.dims.map((d) => d ?? '?').join('x');
}

function itemTensor(s: InputSpec, fill: number | undefined): TensorLike {
  if (s.dims.some((d) => d === null)) {
    const axis = s.batchAxis === null ? 'shared by the batch' : `batch axis ${s.batchAxis}`;
    invalidOption(`--input ${s.name}`, dimsHint(s), `fixed per-item dims (${axis}): pass --input ${s.name}=${dimsHint(s).replaceAll('?', 'N')}`);
  }
  const t = zeros(s.type, s.dims as number[]);
  const data = t.data as TensorDataArray | string[];
  for (let i = 0; i < data.length; i++) {
    if (Array.isArray(data)) data[i] = String(fill ?? i);
    else if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(fill ?? 0);
    // A float16 input holds the halves' bits: the value, or the sine pattern, as a half.
    else if (s.type === 'float16') data[i] = floatToHalf(fill ?? Math.sin(i));
    else if (fill !== undefined) data[i] = fill;
    else if (data instanceof Float32Array || data instanceof Float64Array) data[i] = Math.sin(i);
  }
  return t;
}

/** The range of each integer type a fill must lie in (a typed array would wrap or truncate it silently). */
const INTEGER_RANGE: Partial<Record<TensorType, readonly [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  bool: [0, 1],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * Checks a `--fill` value against its input's type: a number for floats (NaN and ±∞ included), a whole number
 * in the type's range for integers and bools.
 *
 * @throws EparaError `INVALID_OPTIONS` naming `--fill <input>`.
 */
function checkFill(name: string, type: TensorType, fill: number): void {
  if (typeof fill !== 'number') invalidOption(`--fill ${name}`, fill, 'a number');
  const range = INTEGER_RANGE[type];
  if (range === undefined) return;
  if (!Number.isInteger(fill) || fill < range[0] || fill > range[1]) invalidOption(`--fill ${name}`, fill, `a whole number from ${range[0]} to ${range[1]} (the input is ${type})`);
}
