import type { TensorLike, TensorType } from '@epara/core';
import { ONNX_DATA_TYPE, type OnnxModel, type OnnxTensor } from './onnx-types.js';
import { messageFields, text } from './external-data.js';

/** A graph input that is also an initializer: a value the caller may give, or leave to the model's default. */
export interface DefaultInput {
  readonly name: string;
  readonly value: TensorLike;
}

const TYPE_OF = new Map<number, TensorType>(Object.entries(ONNX_DATA_TYPE).map(([type, code]) => [code, type as TensorType]));

/**
 * Whether the model's main graph lists an initializer among its inputs, read from the wire format without decoding
 * it (ModelProto.graph = 7; GraphProto: initializer = 5, input = 11; TensorProto.name = 8, ValueInfoProto.name = 1).
 */
export function hasDefaultInputs(bytes: Uint8Array): boolean {
  try {
    for (const [field, start, end] of messageFields(bytes, 0, bytes.length)) {
      if (field !== 7) continue;
      const inputs = new Set<string>();
      const initializers: string[] = [];
      for (const [f, s, e] of messageFields(bytes, start, end)) {
        if (f !== 5 && f !== 11) continue;
        for (const [g, a, b] of messageFields(bytes, s, e)) {
          if (f === 11 && g === 1) inputs.add(text(bytes, a, b));
          else if (f === 5 && g === 8) initializers.push(text(bytes, a, b));
        }
      }
      return initializers.some((name) => inputs.has(name));
    }
  } catch {
    // not a model this reads: onnxruntime says why
  }
  return false;
}

/**
 * Takes the initializers that are also graph inputs out of the model's initializers, so that they become plain
 * inputs (onnxruntime-node feeds only the inputs its session lists, which leave such initializers out: a value
 * given for one was dropped, and the default used), and returns their values as defaults. Initializers of a type
 * EPARA does not carry, or stored as external data, stay as they are (not sendable). `undefined` when the model
 * has none: it is left untouched.
 */
export function liftDefaultInputs(model: OnnxModel): { model: OnnxModel; defaults: DefaultInput[] } | undefined {
  const graph = model.graph;
  const inputs = new Set((graph?.input ?? []).map((v) => v.name));
  const defaults: DefaultInput[] = [];
  const lifted = new Set<string>();
  for (const t of graph?.initializer ?? []) {
    if (t.name === undefined || !inputs.has(t.name)) continue;
    const value = tensorValue(t);
    if (value === undefined) continue;
    defaults.push({ name: t.name, value });
    lifted.add(t.name);
  }
  if (defaults.length === 0) return undefined;
  return { model: { ...model, graph: { ...graph, initializer: graph!.initializer!.filter((t) => !lifted.has(t.name!)) } }, defaults };
}

/** An initializer's value as a tensor (`undefined`: external data, or a type EPARA does not carry). */
function tensorValue(t: OnnxTensor): TensorLike | undefined {
  const type = TYPE_OF.get(t.dataType ?? 0);
  if (type === undefined || (t.externalData?.length ?? 0) > 0 || t.dataLocation === 1) return undefined;
  const dims = (t.dims ?? []).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  if (type === 'string') {
    const data = (t.stringData ?? []).map((b) => new TextDecoder().decode(b));
    return data.length === count ? { type, dims, data } : undefined;
  }
  const data = fromFields(type, t, count);
  return data === undefined || data.length !== count ? undefined : ({ type, dims, data } as TensorLike);
}

const ARRAY: Record<Exclude<TensorType, 'string'>, { new (n: number): ArrayLike<number | bigint> & { set(a: ArrayLike<number | bigint>): void }; readonly BYTES_PER_ELEMENT: number }> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
} as never;

function fromFields(type: Exclude<TensorType, 'string'>, t: OnnxTensor, count: number): TensorLike['data'] | undefined {
  const Ctor = ARRAY[type];
  if (t.rawData !== undefined && t.rawData.byteLength > 0) {
    if (t.rawData.byteLength !== count * Ctor.BYTES_PER_ELEMENT) return undefined;
    // Copied into an array of its own: raw data is little-endian, as typed arrays are on every platform Node runs on.
    const out = new Ctor(count);
    new Uint8Array((out as unknown as { buffer: ArrayBuffer }).buffer).set(t.rawData);
    return out as unknown as TensorLike['data'];
  }
  // The typed fields of ONNX's TensorProto: float_data (float), int32_data (every type of 32 bits or less, float16 as
  // bits), int64_data, double_data, uint64_data (uint32, uint64).
  const fields: ArrayLike<number | bigint> | undefined =
    type === 'float32' ? t.floatData : type === 'float64' ? t.doubleData : type === 'int64' ? t.int64Data : type === 'uint64' || type === 'uint32' ? t.uint64Data : t.int32Data;
  if (fields === undefined) return count === 0 ? (new Ctor(0) as unknown as TensorLike['data']) : undefined;
  const out = new Ctor(count);
  const big = type === 'int64' || type === 'uint64';
  for (let i = 0; i < Math.min(count, fields.length); i++) (out as unknown as (number | bigint)[])[i] = big ? BigInt(fields[i]!) : Number(fields[i]!);
  return fields.length === count ? (out as unknown as TensorLike['data']) : undefined;
}
