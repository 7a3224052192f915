import * as ort from 'onnxruntime-node';
import type { NamedTensors, TensorLike } from '@epara/core';

/**
 * Test-only adapter: runs model bytes directly with onnxruntime-node on the calling thread (one intra-op
 * thread), to check generated and split models against a reference. Production code runs models through a
 * `DeviceHandle` instead.
 */
export async function runWithOrt(model: Uint8Array | string, feeds: NamedTensors): Promise<Record<string, TensorLike>> {
  const session = await ort.InferenceSession.create(model as Uint8Array, { intraOpNumThreads: 1 });
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, [...t.dims]);
    const out = await session.run(ortFeeds);
    const result: Record<string, TensorLike> = {};
    for (const [name, t] of Object.entries(out)) result[name] = { type: t.type as TensorLike['type'], dims: [...t.dims], data: t.data as Float32Array };
    return result;
  } finally {
    await session.release();
  }
}

/** Input and output names of a model, as onnxruntime sees them. */
export async function ioNames(model: Uint8Array | string): Promise<{ inputs: string[]; outputs: string[] }> {
  const session = await ort.InferenceSession.create(model as Uint8Array);
  try {
    return { inputs: [...session.inputNames], outputs: [...session.outputNames] };
  } finally {
    await session.release();
  }
}

/** Largest absolute element-wise difference of two float tensors (Infinity when shapes differ). */
export function maxAbsDiff(a: TensorLike, b: TensorLike): number {
  if (a.dims.join(',') !== b.dims.join(',')) return Infinity;
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return m;
}

/** Elements of any tensor as numbers. */
export function values(t: TensorLike): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}
