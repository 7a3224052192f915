import { EparaError } from '@epara/core';
import type { TensorLike } from '@epara/core';
import { halfToFloat } from '@epara/core/internal';
import type { InferParameters } from '../protocol/infer-types.js';
import { shown } from '../protocol/request-controls.js';

/** The output parameter of Triton's classification extension: how many classes to answer. */
const CLASSIFICATION_PARAMETER = 'classification';

/** Data types whose values can be ranked (Triton ranks the integer and float types; FP16 is decoded first). */
const RANKED: ReadonlySet<string> = new Set(['UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64']);

/**
 * The class count an output asks for (`parameters.classification`), `undefined` when it asks for the tensor.
 * `datatype` is the output's type when the model's metadata lists it, checked before anything runs.
 * @throws EparaError `INVALID_INPUT` for a count that is not a positive integer, or an output that cannot be ranked.
 */
export function classCount(parameters: InferParameters | undefined, field: string, datatype: string | undefined): number | undefined {
  const k = parameters?.[CLASSIFICATION_PARAMETER];
  if (k === undefined) return undefined;
  if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1) {
    throw new EparaError('INVALID_INPUT', `${field}.parameters.classification must be a positive integer (the number of classes to answer), got ${shown(k)}`, { field: `${field}.parameters.classification` });
  }
  if (datatype !== undefined && !RANKED.has(datatype)) throw unranked(field, datatype);
  return k;
}

function unranked(field: string, datatype: string): EparaError {
  return new EparaError('INVALID_INPUT', `${field}.parameters.classification: an output of type ${datatype} has no values to rank`, { field: `${field}.parameters.classification` });
}

/**
 * Triton's classification of one output tensor: the `k` highest values of the whole tensor (the model
 * configuration says `max_batch_size` 0, so the tensor is one batch, as Triton ranks a model that does not batch),
 * highest first, each as the text `"<value>:<index>"` — the value as C's `%f` prints it (six decimals) for
 * floats and in digits for integers, the index into the row-major tensor. Equal values keep their index order.
 * Answered as a `BYTES` tensor of shape `[min(k, elements)]`.
 * @throws EparaError `INVALID_INPUT` for a tensor whose type cannot be ranked (BOOL, BYTES).
 */
export function classify(t: TensorLike, k: number, field: string, datatype: string): TensorLike {
  if (t.type === 'string' || t.type === 'bool') throw unranked(field, datatype);
  const data = t.data as ArrayLike<number | bigint>;
  const values: (number | bigint)[] = new Array<number | bigint>(data.length);
  for (let i = 0; i < data.length; i++) values[i] = t.type === 'float16' ? halfToFloat(data[i] as number) : data[i]!;
  const order = topIndices(values, Math.min(k, values.length));
  const out = new Array<string>(order.length);
  for (let r = 0; r < order.length; r++) {
    const i = order[r]!;
    const v = values[i]!;
    out[r] = `${typeof v === 'bigint' || !t.type.startsWith('float') ? String(v) : printfFloat(v)}:${i}`;
  }
  return { type: 'string', dims: [out.length], data: out };
}

/**
 * The indices of the `n` highest values, highest first (equal values in index order). A few classes out of a
 * large tensor are picked in one pass over it, keeping the best `n` sorted, rather than sorting the whole tensor.
 */
function topIndices(values: readonly (number | bigint)[], n: number): number[] {
  const before = (a: number, b: number): boolean => (descending(values[a]!, values[b]!) || a - b) < 0;
  if (n * 8 >= values.length) return Array.from({ length: values.length }, (_, i) => i).sort((a, b) => (before(a, b) ? -1 : 1)).slice(0, n);
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length === n && !before(i, best[n - 1]!)) continue;
    let at = best.length === n ? n - 1 : best.length;
    while (at > 0 && before(i, best[at - 1]!)) {
      best[at] = best[at - 1]!;
      at--;
    }
    best[at] = i;
  }
  return best;
}

/** Higher first; NaN after every number. */
function descending(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'number' && Number.isNaN(a)) return typeof b === 'number' && Number.isNaN(b) ? 0 : 1;
  if (typeof b === 'number' && Number.isNaN(b)) return -1;
  return a > b ? -1 : a < b ? 1 : 0;
}

/** A float as C's `printf("%f")` (what Triton's `std::to_string` writes): six decimals, `inf`, `nan`. */
export function printfFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  // The exact value of the double, m · 2^e, rounded to millionths as glibc's printf rounds it: to nearest, and a
  // value exactly halfway to the even one (Number#toFixed rounds halves up: 0.0078125 gave 0.007813, not 0.007812).
  const { mantissa, exponent } = binaryParts(Math.abs(v));
  const scaled = mantissa * 1_000_000n;
  let micros: bigint;
  if (exponent >= 0) micros = scaled << BigInt(exponent);
  else {
    const shift = BigInt(-exponent);
    micros = scaled >> shift;
    const rest = scaled - (micros << shift);
    const half = 1n << (shift - 1n);
    if (rest > half || (rest === half && (micros & 1n) === 1n)) micros += 1n;
  }
  const digits = micros.toString().padStart(7, '0');
  return `${sign}${digits.slice(0, -6)}.${digits.slice(-6)}`;
}

const view = new DataView(new ArrayBuffer(8));

/** A finite double `a` ≥ 0 as `mantissa · 2^exponent` exactly (subnormals included). */
function binaryParts(a: number): { mantissa: bigint; exponent: number } {
  view.setFloat64(0, a);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  return biased === 0 ? { mantissa: fraction, exponent: -1074 } : { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}
