import type { OnnxModel, OnnxType, OnnxValueInfo } from './onnx-types.js';

/** The kinds of value an ONNX graph input or output may be. */
export type OnnxValueKind = 'tensor' | 'sequence' | 'map' | 'optional' | 'sparse tensor' | 'unknown';

/** What a graph declares for one of its inputs or outputs. */
export interface DeclaredValue {
  readonly kind: OnnxValueKind;
  /** A tensor's rank, when the graph gives it a shape (`0`: a scalar); undefined: the rank is open. */
  readonly rank: number | undefined;
}

/** The declared inputs and outputs of a model's graph, by name. */
export interface DeclaredBoundary {
  readonly inputs: ReadonlyMap<string, DeclaredValue>;
  readonly outputs: ReadonlyMap<string, DeclaredValue>;
}

/**
 * What the graph of `model` declares for its inputs and outputs: the kind of each value, and a tensor's rank
 * when its shape is given. onnxruntime's metadata cannot tell a scalar from a tensor without a shape (both read
 * `[]`), nor a sequence from a map (both "not a tensor"): the file can.
 */
export function declaredBoundary(model: OnnxModel): DeclaredBoundary {
  const read = (values: readonly OnnxValueInfo[] | undefined): Map<string, DeclaredValue> => {
    const out = new Map<string, DeclaredValue>();
    for (const v of values ?? []) if (v.name) out.set(v.name, declared(v.type));
    return out;
  };
  return { inputs: read(model.graph?.input), outputs: read(model.graph?.output) };
}

function declared(type: OnnxType | undefined): DeclaredValue {
  if (type?.tensorType) return { kind: 'tensor', rank: type.tensorType.shape ? (type.tensorType.shape.dim ?? []).length : undefined };
  if (type?.sequenceType) return { kind: 'sequence', rank: undefined };
  if (type?.mapType) return { kind: 'map', rank: undefined };
  if (type?.optionalType) return { kind: 'optional', rank: undefined };
  if (type?.sparseTensorType) return { kind: 'sparse tensor', rank: undefined };
  return { kind: 'unknown', rank: undefined };
}
