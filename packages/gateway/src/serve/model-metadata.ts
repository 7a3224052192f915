import { readFileSync } from 'node:fs';
import { EparaError } from '@epara/core';
import type { NamedTensors, TensorType } from '@epara/core';
import { decodeModel } from '@epara/runtime';
import { DATATYPE_OF, allocTyped } from '../protocol/datatypes.js';
import type { TensorMetadata } from '../protocol/infer-types.js';
import type { ServeServiceConfig } from './config-schema.js';

/** ONNX `TensorProto.DataType` codes of the types EPARA carries. */
const ONNX_TYPES: Readonly<Record<number, TensorType>> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };
/** Names of the other ONNX types, for the load error. */
const ONNX_TYPE_NAMES: Readonly<Record<number, string>> = { 4: 'uint16', 5: 'int16', 8: 'a string tensor', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16' };

/** A model's boundary tensors read from its ONNX file, with the service's input overrides applied. */
export interface ModelIo {
  readonly inputs: readonly (TensorMetadata & { readonly type: TensorType })[];
  readonly outputs: readonly TensorMetadata[];
  /** `false` when the config puts some input's batch axis elsewhere than dimension 0 (or declares none). */
  readonly splitItems?: false;
  /**
   * Whether the dim names say every input's first dimension is one and the same dim (the batch): a single
   * input, or the same symbol first in every input. Inputs whose first dims carry different names (or none)
   * may still all be batched, or one may be another dim whose size only happens to match.
   */
  readonly sameFirstDim: boolean;
}

/**
 * Reads the inputs and outputs (name, data type, shape; `-1` for a symbolic dimension) of an ONNX model.
 * @throws EparaError `LOAD_FAILED` when the file cannot be read or decoded.
 */
export function readModelIo(path: string, service: ServeServiceConfig): ModelIo {
  let model;
  try {
    model = decodeModel(readFileSync(path));
  } catch (err) {
    throw new EparaError('LOAD_FAILED', `service ${service.id}: cannot read model ${path}: ${(err as Error).message}`, { serviceId: service.id, path });
  }
  const graph = model.graph ?? {};
  const constants = new Set((graph.initializer ?? []).map((t) => t.name));
  const io = (v: NonNullable<typeof graph.input>[number]): TensorMetadata & { type: TensorType } => {
    const tt = v.type?.tensorType;
    const type = ONNX_TYPES[tt?.elemType ?? 0];
    if (type === undefined) {
      const what = ONNX_TYPE_NAMES[tt?.elemType ?? 0] ?? `type code ${tt?.elemType ?? 'missing'}`;
      throw new EparaError('LOAD_FAILED', `service ${service.id}: tensor ${v.name} of ${path} is ${what}, which EPARA does not carry (supported: ${Object.values(ONNX_TYPES).join(', ')})`, { serviceId: service.id, path, tensor: v.name });
    }
    const shape = (tt?.shape?.dim ?? []).map((d) => (typeof d.dimValue === 'number' && d.dimValue > 0 ? d.dimValue : -1));
    return { name: v.name ?? '', datatype: DATATYPE_OF[type], shape, type };
  };
  const inputs = (graph.input ?? []).filter((v) => !constants.has(v.name)).map(io).map((m) => {
    const o = service.inputs?.[m.name];
    if (!o) return m;
    const type = o.type ?? m.type;
    // `batchAxis: null` declares no batch axis: the declared dims stand as they are.
    const axis = o.batchAxis === undefined ? 0 : o.batchAxis;
    return { ...m, type, datatype: DATATYPE_OF[type], shape: o.dims ? o.dims.map((d, k) => (d === null || k === axis ? -1 : d)) : m.shape };
  });
  const moved = Object.values(service.inputs ?? {}).some((o) => o.batchAxis !== undefined && o.batchAxis !== 0);
  const firsts = new Set((graph.input ?? []).filter((v) => !constants.has(v.name)).map((v) => v.type?.tensorType?.shape?.dim?.[0]?.dimParam || undefined));
  const outputs = (graph.output ?? []).filter((o) => !service.outputNames || service.outputNames.includes(o.name ?? '')).map(io);
  const sameFirstDim = inputs.length <= 1 || (firsts.size === 1 && !firsts.has(undefined));
  return { inputs, outputs: outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })), sameFirstDim, ...(moved ? { splitItems: false as const } : {}) };
}

/**
 * One item of zeros per input (free dimensions, the batch axis among them, set to 1; fixed ones kept), used to
 * profile the model at load time.
 */
export function sampleInputs(io: ModelIo): NamedTensors {
  const out: Record<string, { type: TensorType; dims: number[]; data: ReturnType<typeof allocTyped> }> = {};
  for (const i of io.inputs) {
    const dims = i.shape.map((d) => (d < 0 ? 1 : d));
    out[i.name] = { type: i.type, dims, data: allocTyped(i.type, dims.reduce((a, b) => a * b, 1)) };
  }
  return out;
}
