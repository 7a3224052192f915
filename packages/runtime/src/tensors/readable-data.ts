import { EparaError, type NamedTensors, type TensorDataArray, type TensorLike } from '@epara/core';

/**
 * Whether a tensor's array still holds the values its dims call for. An array whose `ArrayBuffer` was
 * transferred away (to a worker, with `postMessage` or `structuredClone`) is detached: it reads as empty, so a
 * tensor of non-empty dims over it fails this check.
 */
export function holdsItsData(t: TensorLike): boolean {
  let values = 1;
  for (let i = 0; i < t.dims.length; i++) values *= t.dims[i]!;
  return t.data.length === values;
}

/** The first tensor of `tensors` that fails {@link holdsItsData}, by name; `undefined` when all hold theirs. */
export function unreadableTensor(tensors: NamedTensors): string | undefined {
  for (const name in tensors) if (!holdsItsData(tensors[name]!)) return name;
  return undefined;
}

/**
 * The error for tensor `name` that fails {@link holdsItsData}. Checked before a tensor is sent to a worker:
 * Node's `postMessage` drops a message whose transfer list holds a detached buffer without a word, so the call
 * would never be answered; and a detached item stacked into a batch would run on whatever its place held.
 */
export function unreadableTensorError(name: string, t: TensorLike): EparaError {
  const detached = !Array.isArray(t.data) && (t.data as TensorDataArray).byteLength === 0 && (t.data as TensorDataArray).buffer.byteLength === 0;
  const why = detached ? 'its ArrayBuffer was detached (transferred away)' : `it holds ${t.data.length} values for dims [${t.dims.join(', ')}]`;
  return new EparaError('INVALID_INPUT', `input '${name}' cannot be read: ${why}`, { input: name, detached, values: t.data.length, dims: [...t.dims] });
}
