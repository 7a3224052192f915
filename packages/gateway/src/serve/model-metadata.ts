import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { join } from 'node:path';
import { EparaError } from '@epara/core';
import type { NamedTensors, TensorLike, TensorType } from '@epara/core';
import type { OnnxType } from '@epara/runtime';
import { DATATYPE_OF, allocTyped } from '../protocol/datatypes.js';
import type { TensorMetadata } from '../protocol/infer-types.js';
import type { ServeServiceConfig } from './config-schema.js';
import { readOnnxBoundary } from './onnx-boundary.js';

/** ONNX `TensorProto.DataType` codes of the types EPARA carries. */
const ONNX_TYPES: Readonly<Record<number, TensorType>> = { 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64' };
/** The other ONNX types: how the load error names each, and its protocol data type for the metadata (if any). */
const ONNX_OTHER_TYPES: Readonly<Record<number, { readonly what: string; readonly datatype: string }>> = {
  14: { what: 'complex64', datatype: 'COMPLEX64' },
  15: { what: 'complex128', datatype: 'COMPLEX128' },
  16: { what: 'bfloat16', datatype: 'BF16' },
};

/**
 * One boundary tensor: its metadata, EPARA's type (none when EPARA cannot carry it), whether its rank is known,
 * and (inputs) the shape of its load-time sample when the config declares one.
 */
export type ModelTensor = TensorMetadata & {
  readonly type: TensorType | undefined;
  /** The dims' names (ONNX `dim_param`), when the model names any. */
  readonly dimNames?: readonly (string | undefined)[];
  readonly anyRank?: true;
  readonly sampleDims?: readonly number[];
  /**
   * (inputs) The dimension that holds one item (size 1 in a sample); its other free dimensions are data, which the
   * load-time warning names when no `sampleDims` sizes them. `null`: none (every free dimension is data).
   */
  readonly sampleAxis?: number | null;
  /** (inputs) An initializer the model lists as an input: its default is used when a request leaves it out. */
  readonly optional?: true;
};

/** A model's boundary tensors read from its ONNX file, with the service's input overrides applied. */
export interface ModelIo {
  readonly inputs: readonly ModelTensor[];
  readonly outputs: readonly ModelTensor[];
  /**
   * Why the model cannot be served, when some input or fetched output has a type EPARA does not carry
   * (bfloat16, complex): the server keeps serving its other models and answers this one
   * `LOAD_FAILED` with this message.
   */
  readonly unavailable?: string;
  /** `false` when the config puts some input's batch axis elsewhere than dimension 0 (or declares none), or an output's rank is open. */
  readonly splitItems?: false;
  /**
   * Whether the dim names say every input's first dimension is one and the same dim (the batch): a single
   * input, or the same symbol first in every input. Inputs whose first dims carry different names (or none)
   * may still all be batched, or one may be another dim whose size only happens to match.
   */
  readonly sameFirstDim: boolean;
}

/**
 * Reads the inputs and outputs (name, data type, shape; `-1` for a symbolic dimension) of an ONNX model. A
 * tensor whose rank the model leaves open (no shape at all) is reported as `[-1]` and marked `anyRank`.
 * @throws EparaError `LOAD_FAILED` when the file cannot be read or decoded; `INVALID_OPTIONS` when the service's
 * `inputs` name an input the model does not have.
 */
export function readModelIo(path: string, service: ServeServiceConfig): ModelIo {
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new EparaError('LOAD_FAILED', `service ${service.id}: ${folderMessage(path)}`, { serviceId: service.id, path });
  let model;
  try {
    model = readOnnxBoundary(readFileSync(path));
  } catch (err) {
    throw new EparaError('LOAD_FAILED', `service ${service.id}: cannot read model ${path}: ${(err as Error).message}`, { serviceId: service.id, path });
  }
  const graph = model.graph;
  const constants = new Set((graph.initializer ?? []).map((t) => t.name));
  const problems: string[] = [];
  /** Outputs that are no tensor (a sequence, a map, an optional): the model's tensor outputs may be served alone. */
  const nonTensorOutputs: string[] = [];
  const io = (v: NonNullable<typeof graph.input>[number], role: 'input' | 'output'): ModelTensor => {
    const tt = v.type?.tensorType;
    const code = tt?.elemType ?? 0;
    const type = ONNX_TYPES[code];
    const other = ONNX_OTHER_TYPES[code];
    if (tt === undefined) {
      // No protocol data type says what it is: its metadata must not offer one a client could send (BYTES).
      problems.push(`${role} ${v.name} is ${valueKind(v.type)}, not a tensor`);
      if (role === 'output') nonTensorOutputs.push(v.name ?? '');
      return { name: v.name ?? '', datatype: 'INVALID', shape: [-1], type: undefined, anyRank: true };
    }
    if (type === undefined) problems.push(`tensor ${v.name} is ${other?.what ?? `of ONNX type code ${tt.elemType ?? '(missing)'}`}`);
    const datatype = type !== undefined ? DATATYPE_OF[type] : (other?.datatype ?? 'INVALID');
    // No `shape` at all: the rank is open (a `shape` with no dims is a scalar).
    if (tt?.shape === undefined || tt.shape === null) return { name: v.name ?? '', datatype, shape: [-1], type, anyRank: true };
    const shape = (tt.shape.dim ?? []).map((d) => (typeof d.dimValue === 'number' && d.dimValue > 0 ? d.dimValue : -1));
    // The dims' names, for the gateway's split of a request into items (read by the executor's rule).
    const dimNames = (tt.shape.dim ?? []).map((d) => d.dimParam || undefined);
    return { name: v.name ?? '', datatype, shape, type, ...(dimNames.some((n) => n !== undefined) ? { dimNames } : {}) };
  };
  // A service's inputs must name the model's: a typo would leave the real input undeclared, silently.
  const names = (graph.input ?? []).map((v) => v.name ?? '');
  for (const name of Object.keys(service.inputs ?? {})) {
    if (!names.includes(name)) {
      const field = `services.${service.id}.inputs.${name}`;
      throw new EparaError('INVALID_OPTIONS', `${field}: model ${service.id} has no input ${name} (its inputs: ${names.filter((n) => !constants.has(n)).join(', ') || 'none'})`, { field });
    }
  }
  const graphInputs = (graph.input ?? []).filter((v) => !constants.has(v.name));
  const batchName = graphInputs[0]?.type?.tensorType?.shape?.dim?.[0]?.dimParam || undefined;
  const inputs = graphInputs.map((v) => ({ ...io(v, 'input'), sampleAxis: itemAxis(v, batchName) })).map((m): ModelTensor => {
    const o = service.inputs?.[m.name];
    if (!o) return m;
    const type = o.type ?? m.type;
    // `batchAxis: null` declares no batch axis: the declared dims stand as they are.
    const axis = o.batchAxis === undefined ? 0 : o.batchAxis;
    const datatype = type !== undefined ? DATATYPE_OF[type] : m.datatype;
    const sampleAxis = o.batchAxis === undefined ? m.sampleAxis : o.batchAxis;
    // A declared batchAxis says where the batch is: the dims' names no longer decide it.
    const t: ModelTensor = o.dims ? { name: m.name, type, datatype, shape: o.dims.map((d, k) => (d === null || k === axis ? -1 : d)), sampleAxis } : { ...m, type, datatype, sampleAxis, ...(o.batchAxis !== undefined ? { dimNames: undefined } : {}) };
    return o.sampleDims ? { ...t, sampleDims: checkedSampleDims(service.id, t, o.sampleDims, axis) } : t;
  });
  // Initializers listed as inputs (ONNX IR >= 4): defaults a request may override, shared by a request's items.
  const optional = (graph.input ?? [])
    .filter((v) => constants.has(v.name) && ONNX_TYPES[v.type?.tensorType?.elemType ?? 0] !== undefined)
    .map((v): ModelTensor => ({ ...io(v, 'input'), optional: true }));
  const moved = Object.values(service.inputs ?? {}).some((o) => o.batchAxis !== undefined && o.batchAxis !== 0);
  const firsts = new Set(graphInputs.map((v) => v.type?.tensorType?.shape?.dim?.[0]?.dimParam || undefined));
  const outputs = (graph.output ?? []).filter((o) => !service.outputNames || service.outputNames.includes(o.name ?? '')).map((o) => io(o, 'output'));
  const sameFirstDim = inputs.length <= 1 || (firsts.size === 1 && !firsts.has(undefined) && !inputs.some((i) => i.anyRank));
  // Only outputs stand in the way, and the model has tensor outputs: those can be served alone.
  const tensorOutputs = outputs.filter((o) => o.type !== undefined).map((o) => o.name);
  const alone = nonTensorOutputs.length === problems.length && tensorOutputs.length > 0 ? `; serve the tensor outputs alone with outputNames: [${tensorOutputs.join(', ')}]` : '';
  const unavailable =
    problems.length === 0
      ? undefined
      : `model ${service.id} (${path}) cannot be served: ${problems.join('; ')}, which EPARA does not carry (supported: tensors of ${Object.values(ONNX_TYPES).join(', ')})${alone}`;
  // An output of open rank (onnxruntime reads it as a scalar) has no known batch axis: its requests go whole.
  const whole = moved || outputs.some((o) => o.anyRank);
  return { inputs: optional.length > 0 ? [...inputs, ...optional] : inputs, outputs, sameFirstDim, ...(whole ? { splitItems: false as const } : {}), ...(unavailable !== undefined ? { unavailable } : {}) };
}

/** What a non-tensor value is, in words: `a sequence of maps (int64 to float32 tensor)`, `an optional float32 tensor`. */
function valueKind(t: OnnxType | undefined, nested = false): string {
  const a = (what: string): string => (nested ? what : `${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what}`);
  if (t?.tensorType !== undefined) return a(`${ONNX_TYPES[t.tensorType.elemType ?? 0] ?? ONNX_OTHER_TYPES[t.tensorType.elemType ?? 0]?.what ?? 'untyped'} tensor`);
  if (t?.sequenceType !== undefined) {
    const of = t.sequenceType.elemType;
    return a(of?.mapType !== undefined ? `sequence of maps (${mapTypes(of)})` : `sequence of ${valueKind(of, true)}s`);
  }
  if (t?.mapType !== undefined) return a(`map (${mapTypes(t)})`);
  if (t?.optionalType !== undefined) return a(`optional ${valueKind(t.optionalType.elemType, true)}`);
  if (t?.sparseTensorType !== undefined) return a('sparse tensor');
  return a('value of no declared type');
}

function mapTypes(t: OnnxType): string {
  return `${ONNX_TYPES[t.mapType?.keyType ?? 0] ?? 'untyped'} to ${valueKind(t.mapType?.valueType, true)}`;
}

/**
 * Which dimension of an input holds one item in the load-time sample: the one named like the first input's first
 * dimension (the batch), else its first free dimension (`[2, batch, 128]` beside `[batch, samples]`: axis 1).
 */
function itemAxis(v: { readonly type?: { readonly tensorType?: { readonly shape?: { readonly dim?: readonly { readonly dimParam?: string; readonly dimValue?: number }[] } | null } } }, batchName: string | undefined): number | null {
  const dims = v.type?.tensorType?.shape?.dim ?? [];
  const free = (d: { readonly dimValue?: number }): boolean => !(typeof d.dimValue === 'number' && d.dimValue > 0);
  const named = batchName === undefined ? -1 : dims.findIndex((d) => d.dimParam === batchName);
  if (named >= 0) return named;
  const first = dims.findIndex(free);
  return first >= 0 ? first : null;
}

/**
 * A declared sample shape, checked against the input: the same rank (any, for an input of open rank), the
 * input's fixed sizes, and one item (size 1) on its batch axis.
 * @throws EparaError `INVALID_OPTIONS` naming the field.
 */
function checkedSampleDims(serviceId: string, t: ModelTensor, dims: readonly number[], axis: number | null): readonly number[] {
  const field = `services.${serviceId}.inputs.${t.name}.sampleDims`;
  const fail = (why: string): never => {
    throw new EparaError('INVALID_OPTIONS', `${field}: [${dims.join(', ')}] ${why}`, { field });
  };
  if (t.anyRank) return dims;
  if (dims.length !== t.shape.length) fail(`has rank ${dims.length}, the input [${t.shape.join(', ')}] has rank ${t.shape.length}`);
  t.shape.forEach((d, k) => {
    if (k === axis && dims[k] !== 1) fail(`is one item: its batch dimension ${k} must be 1`);
    else if (d > 0 && dims[k] !== d) fail(`must keep the input's fixed size ${d} at dimension ${k}`);
  });
  return dims;
}

/**
 * Free dimensions that stay free once the batch axis is set aside: their sample size (1 unless `sampleDims`
 * declares one) is what larger requests are estimated from. One line per input, for the load-time warning.
 */
export function undersampledInputs(io: ModelIo): string[] {
  const out: string[] = [];
  for (const i of io.inputs) {
    if (i.sampleDims !== undefined || i.type === undefined) continue;
    if (i.anyRank || i.shape.some((d, k) => d < 0 && k !== i.sampleAxis)) out.push(`${i.name} [${i.shape.map((d) => (d < 0 ? 1 : d)).join(', ')}]`);
  }
  return out;
}

/**
 * The part of the load-time sample the config declares: one item of zeros for each input with `sampleDims`.
 * The executor finds the rest when it loads the model (zeros with each free dimension 1, then ones, then
 * larger free dimensions: see docs/gateway.md), and keeps the item it ran on as the service's sample.
 * `undefined` when no input declares one.
 */
export function declaredSample(io: ModelIo): NamedTensors | undefined {
  const out: Record<string, TensorLike> = {};
  for (const i of io.inputs) {
    if (i.type === undefined || i.sampleDims === undefined) continue; // an unavailable model is never loaded
    const n = i.sampleDims.reduce((a, b) => a * b, 1);
    out[i.name] = { type: i.type, dims: [...i.sampleDims], data: i.type === 'string' ? new Array<string>(n).fill('') : allocTyped(i.type, n) };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Why a folder is no model: `model` names one ONNX file. A Triton model repository's folder
 * (`<model>/<version>/model.onnx`, `config.pbtxt`) is not read; the message names the file to use when the folder
 * holds one (the highest numbered version's `model.onnx`, or a `model.onnx` of its own).
 */
function folderMessage(path: string): string {
  let entries: Dirent[] = [];
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch {
    // An unreadable folder: the message names none.
  }
  const versions = entries
    .filter((e) => e.isDirectory() && /^\d+$/.test(e.name) && existsSync(join(path, e.name, 'model.onnx')))
    .map((e) => e.name)
    .sort((a, b) => Number(b) - Number(a));
  const candidate = versions.length > 0 ? join(path, versions[0]!, 'model.onnx') : existsSync(join(path, 'model.onnx')) ? join(path, 'model.onnx') : undefined;
  return `model ${path} is a folder: services[].model names one ONNX file (a Triton model repository folder and its config.pbtxt are not read)${candidate ? `; use ${candidate}` : ''}`;
}
