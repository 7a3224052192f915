import { EparaError, type NamedTensors, type TensorDataArray, type TensorLike } from '@epara/core';

/**
 * A key that is equal for two items exactly when their tensors can be stacked along the batch dimension:
 * same names, element types and non-batch dimensions.
 */
export function stackSignature(inputs: NamedTensors): string {
  return Object.keys(inputs)
    .sort()
    .map((name) => `${name}:${inputs[name]!.type}:${inputs[name]!.dims.slice(1).join('x')}`)
    .join('|');
}

/** Rows (leading dimension) of an item; every tensor of the item must agree. */
export function rowsOf(inputs: NamedTensors): number {
  let rows: number | undefined;
  for (const [name, t] of Object.entries(inputs)) {
    const r = t.dims[0];
    if (r === undefined || !Number.isInteger(r) || r < 1) {
      throw new EparaError('INVALID_INPUT', `input ${name} needs a leading batch dimension ≥ 1, got [${t.dims.join(',')}]`, { name });
    }
    if (rows !== undefined && r !== rows) throw new EparaError('INVALID_INPUT', `inputs disagree on the batch size (${rows} vs ${r} at ${name})`, { name });
    rows = r;
  }
  if (rows === undefined) throw new EparaError('INVALID_INPUT', 'an item needs at least one input tensor', {});
  return rows;
}

/** Concatenates items (same signature) along dimension 0 into fresh, transferable buffers. */
export function stackItems(items: readonly NamedTensors[]): Record<string, TensorLike> {
  const first = items[0]!;
  if (items.length === 1) return copyAll(first);
  const out: Record<string, TensorLike> = {};
  for (const [name, t] of Object.entries(first)) {
    const parts = items.map((item) => item[name]!);
    const total = parts.reduce((n, p) => n + p.data.length, 0);
    const data = new (t.data.constructor as new (n: number) => TensorDataArray)(total);
    let offset = 0;
    for (const p of parts) {
      (data as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(p.data as ArrayLike<unknown>, offset);
      offset += p.data.length;
    }
    const rows = parts.reduce((n, p) => n + p.dims[0]!, 0);
    out[name] = { type: t.type, dims: [rows, ...t.dims.slice(1)], data };
  }
  return out;
}

/**
 * Splits batch outputs back into items of `rows[i]` rows each. A tensor whose leading dimension is not the
 * batch total (a per-batch value) is given whole to every item.
 */
export function splitRows(outputs: NamedTensors, rows: readonly number[]): NamedTensors[] {
  const total = rows.reduce((a, b) => a + b, 0);
  const result: Record<string, TensorLike>[] = rows.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims[0] !== total) {
      result.forEach((r) => (r[name] = t));
      continue;
    }
    const perRow = total === 0 ? 0 : t.data.length / total;
    let row = 0;
    rows.forEach((n, i) => {
      const data = t.data.slice(row * perRow, (row + n) * perRow) as TensorDataArray;
      result[i]![name] = { type: t.type, dims: [n, ...t.dims.slice(1)], data };
      row += n;
    });
  }
  return result;
}

/** Copies every tensor into its own buffer (so handing it to a device never detaches caller memory). */
export function copyAll(tensors: NamedTensors): Record<string, TensorLike> {
  const out: Record<string, TensorLike> = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = { type: t.type, dims: [...t.dims], data: t.data.slice() as TensorDataArray };
  return out;
}
