import { EparaError, type NamedTensors, type TensorDataArray, type TensorLike } from '@epara/core';
import { holdsItsData, unreadableTensorError } from './readable-data.js';

/**
 * Prepares tensors to cross a thread boundary with `postMessage`: a typed array that owns its whole
 * (non-shared) buffer is transferred as is; a view of a larger or shared buffer is copied first so that
 * transferring never detaches memory that other tensors still use.
 *
 * Transferring detaches the buffers in the sending thread: callers hand ownership over.
 *
 * @throws EparaError `INVALID_INPUT` when a tensor's array does not hold its dims' values (a detached buffer:
 * `postMessage` would drop the whole message silently).
 */
export function prepareTransfer(tensors: NamedTensors): { tensors: Record<string, TensorLike>; transfer: ArrayBuffer[] } {
  if (typeof tensors !== 'object' || tensors === null) throw new EparaError('INVALID_INPUT', 'feeds must be an object of tensors by input name', { type: tensors === null ? 'null' : typeof tensors });
  const out: Record<string, TensorLike> = {};
  const transfer: ArrayBuffer[] = [];
  // A handful of tensors per message: a linear scan beats a Set. `dims` is not copied: postMessage clones it.
  for (const name of Object.keys(tensors)) {
    const t = tensors[name]!;
    if (!isTensorShaped(t)) throw new EparaError('INVALID_INPUT', `input '${name}' is not a tensor ({ type, dims: number[], data: an array })`, { input: name });
    if (!holdsItsData(t)) throw unreadableTensorError(name, t);
    // A string tensor's array is cloned by postMessage: there is no buffer to transfer.
    if (Array.isArray(t.data)) {
      out[name] = t;
      continue;
    }
    let data = t.data as TensorDataArray;
    if (!ownsWholeBuffer(data) || transfer.includes(data.buffer as ArrayBuffer)) data = data.slice() as typeof data;
    transfer.push(data.buffer as ArrayBuffer);
    out[name] = { type: t.type, dims: t.dims, data };
  }
  return { tensors: out, transfer };
}

/** True when the array spans its entire, transferable `ArrayBuffer`. */
export function ownsWholeBuffer(data: TensorDataArray): boolean {
  const buffer = data.buffer;
  if (data.byteOffset !== 0 || data.byteLength !== buffer.byteLength) return false;
  return typeof SharedArrayBuffer === 'undefined' || !(buffer instanceof SharedArrayBuffer);
}

/** Whether `t` has a tensor's parts: dims an array, data an array or typed array (not yet checked against a model). */
function isTensorShaped(t: unknown): t is TensorLike {
  if (typeof t !== 'object' || t === null) return false;
  const { dims, data } = t as { dims?: unknown; data?: unknown };
  return Array.isArray(dims) && (Array.isArray(data) || ArrayBuffer.isView(data));
}
