import type { NamedTensors, TensorDataArray, TensorLike } from '@epara/core';

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

/**
 * Rows (leading dimension) of an item, when every tensor of it has one of the same size ≥ 1; `undefined` when
 * the item cannot be stacked with others along dimension 0 (a scalar input, an empty leading dim, inputs whose
 * leading dims differ): it then runs alone, as it is.
 */
export function rowsOf(inputs: NamedTensors): number | undefined {
  let rows: number | undefined;
  for (const name of Object.keys(inputs)) {
    const r = inputs[name]!.dims[0];
    if (r === undefined || r < 1 || (rows !== undefined && r !== rows)) return undefined;
    rows = r;
  }
  return rows;
}

/** The first row of each of an item's tensors (size 1 on dimension 0). */
export function firstRow(inputs: NamedTensors): NamedTensors {
  const out: Record<string, TensorLike> = {};
  for (const [name, t] of Object.entries(inputs)) {
    const perRow = t.dims[0] === 0 ? 0 : t.data.length / t.dims[0]!;
    out[name] = { type: t.type, dims: [1, ...t.dims.slice(1)], data: t.data.slice(0, perRow) as TensorLike['data'] };
  }
  return out;
}

/** Concatenates items (same signature) along dimension 0 into fresh, transferable buffers. */
export function stackItems(items: readonly NamedTensors[]): Record<string, TensorLike> {
  const first = items[0]!;
  if (items.length === 1) return copyAll(first);
  const out: Record<string, TensorLike> = {};
  for (const [name, t] of Object.entries(first)) {
    const parts = items.map((item) => item[name]!);
    const total = parts.reduce((n, p) => n + p.data.length, 0);
    // A string tensor's data is a plain array: concatenated element by element.
    const data = Array.isArray(t.data) ? ([] as string[]).concat(...parts.map((p) => p.data as string[])) : new (t.data.constructor as new (n: number) => TensorDataArray)(total);
    let offset = 0;
    if (!Array.isArray(data)) {
      for (const p of parts) {
        (data as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(p.data as ArrayLike<unknown>, offset);
        offset += p.data.length;
      }
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
