import { readFileSync } from 'node:fs';
import { EparaError } from '@epara/core';
import type { NamedTensors, TensorType } from '@epara/core';
import { decodeModel } from '@epara/runtime';
import { DATATYPE_OF, allocTyped } from '../protocol/datatypes.js';
import type { TensorMetadata } from '../protocol/infer-types.js';
import type { ServeServiceConfig } from './config-schema.js';

/** ONNX `TensorProto.DataType` codes of the types EPARA carries. */
const ONNX_TYPES: Readonly<Record<number, TensorType>> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };

/** A model's boundary tensors read from its ONNX file, with the service's input overrides applied. */
export interface ModelIo {
  readonly inputs: readonly (TensorMetadata & { readonly type: TensorType })[];
  readonly outputs: readonly TensorMetadata[];
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
    const type = ONNX_TYPES[tt?.elemType ?? 0] ?? 'float32';
    const shape = (tt?.shape?.dim ?? []).map((d) => (typeof d.dimValue === 'number' && d.dimValue > 0 ? d.dimValue : -1));
    return { name: v.name ?? '', datatype: DATATYPE_OF[type], shape, type };
  };
  const inputs = (graph.input ?? []).filter((v) => !constants.has(v.name)).map(io).map((m) => {
    const o = service.inputs?.[m.name];
    if (!o) return m;
    const type = o.type ?? m.type;
    return { ...m, type, datatype: DATATYPE_OF[type], shape: o.dims ? o.dims.map((d, k) => (d === null || k === (o.batchAxis ?? 0) ? -1 : d)) : m.shape };
  });
  const outputs = (graph.output ?? []).map(io).filter((o) => !service.outputNames || service.outputNames.includes(o.name));
  return { inputs, outputs: outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })) };
}

/**
 * One item of zeros per input (symbolic dimensions set to 1; the first dimension is the batch axis), used to
 * profile the model at load time.
 */
export function sampleInputs(io: ModelIo): NamedTensors {
  const out: Record<string, { type: TensorType; dims: number[]; data: ReturnType<typeof allocTyped> }> = {};
  for (const i of io.inputs) {
    const dims = i.shape.map((d, k) => (k === 0 || d < 0 ? 1 : d));
    out[i.name] = { type: i.type, dims, data: allocTyped(i.type, dims.reduce((a, b) => a * b, 1)) };
  }
  return out;
}
