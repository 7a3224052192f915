/**
 * Resolves onnxruntime-node (the runtime package's dependency) and p-queue (a root dev dependency) for the benchmarks, which sit
 * at the repository root where pnpm does not link them.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(new URL('../../packages/runtime/package.json', import.meta.url));
const rootRequire = createRequire(new URL('../../package.json', import.meta.url));

/** The part of onnxruntime-node the raw baselines use (its types are not linked at the root). */
export interface Ort {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
  InferenceSession: {
    create(model: string | Uint8Array, options: Record<string, unknown>): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, unknown>>; release(): Promise<void> }>;
  };
}

/** The part of p-queue the naive baseline uses. */
export type PQueueCtor = new (options: { concurrency: number }) => { add<T>(fn: () => Promise<T>): Promise<T> };

/** Loads onnxruntime-node as the runtime package resolves it. */
export async function loadOrt(): Promise<Ort> {
  const mod = (await import(pathToFileURL(require.resolve('onnxruntime-node')).href)) as Ort & { default?: Ort };
  return mod.InferenceSession ? mod : mod.default!;
}

/** Loads p-queue's class (a root dev dependency: only the naive baseline uses it). */
export async function loadPQueue(): Promise<PQueueCtor> {
  return ((await import(pathToFileURL(rootRequire.resolve('p-queue')).href)) as { default: PQueueCtor }).default;
}
