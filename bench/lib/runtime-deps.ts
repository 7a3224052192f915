/**
 * Resolves onnxruntime-node (the runtime package's dependency) and p-queue (a root dev dependency) for the benchmarks, which sit
 * at the repository root where pnpm does not link them.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { fitProfile, type LatencyProfile, type ProfileSample } from '@epara/core';
import { models } from '../../test/fixtures/models.js';

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

/**
 * The PP-OCR classifier's profile fitted on raw onnxruntime (one thread, batches 1–32, about 0.3 s each) and the
 * best items/s any batch size reached: the lag benches' load is offered at a multiple of that rate.
 */
export async function classifierRawProfile(): Promise<{ profile: LatencyProfile; best: number }> {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(models.ocrCls, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const samples: ProfileSample[] = [];
  let best = 0;
  for (const b of [1, 2, 4, 8, 16, 32]) {
    const feeds = { x: new ort.Tensor('float32', new Float32Array(b * 3 * 48 * 192), [b, 3, 48, 192]) };
    for (let i = 0; i < 2; i++) await session.run(feeds);
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 300) {
      const s = performance.now();
      await session.run(feeds);
      samples.push({ batch: b, ms: performance.now() - s });
      n += b;
    }
    best = Math.max(best, (n * 1000) / (performance.now() - t0));
  }
  await session.release();
  return { profile: fitProfile('cpu-1t', samples), best };
}
