import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import { affineProfile, type NamedTensors, type TensorLike, type TensorType } from '@epara/core';
import { createExecutor, type BatchDispatchedEvent, type Executor, type ExecutorServiceOptions } from '@epara/runtime';

/*
 * The ground truth of the model tests: raw onnxruntime-node, run on the test's own thread one request at a time,
 * exactly as a host would call it without EPARA. onnxruntime-node is a dependency of the runtime package, so it
 * is loaded from there (the repository root does not depend on it).
 */

interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>, fetches?: string[]): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(model: Uint8Array | string, options?: object): Promise<OrtSession> };
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ort = createRequire(join(root, 'packages', 'runtime', 'package.json'))('onnxruntime-node') as Ort;

/** A raw onnxruntime-node session of one model, for reference answers. */
export interface Reference {
  /** The model's answer to one request, alone (or the error it throws). */
  run(feeds: NamedTensors, outputNames?: readonly string[]): Promise<Record<string, TensorLike>>;
  release(): Promise<void>;
}

/** Opens a raw onnxruntime-node session (one intra-op thread) on a model's bytes or path. */
export async function reference(model: Uint8Array | string): Promise<Reference> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  return {
    async run(feeds, outputNames) {
      const ortFeeds: Record<string, OrtTensor> = {};
      // Copies: a reference run never shares a buffer with what the executor is given.
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type, t.data.slice(), [...t.dims]);
      const out = await (outputNames ? session.run(ortFeeds, [...outputNames]) : session.run(ortFeeds));
      const result: Record<string, TensorLike> = {};
      for (const [name, t] of Object.entries(out)) result[name] = { type: t.type as TensorType, dims: [...t.dims], data: t.data as TensorLike['data'] };
      return result;
    },
    release: () => session.release(),
  };
}

/**
 * Expects `actual` to be the reference's answer: the same output names, types and dims, and the same values —
 * bit for bit (NaN as NaN, ±∞, -0 and every int64 beyond 2^53 included), or for float outputs within `tolerance`
 * (relative to the largest magnitude) when the batch may round differently.
 */
export function expectSameOutputs(actual: NamedTensors, expected: NamedTensors, tolerance = 0): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name]!;
    expect({ name, type: a.type, dims: [...a.dims] }).toEqual({ name, type: e.type, dims: [...e.dims] });
    expect(a.data.constructor.name, name).toBe(e.data.constructor.name);
    expect(a.data.length, name).toBe(e.data.length);
    // Equal bytes are the same values bit for bit (NaN payloads too): answered without a value per element (the 4 MiB
    // outputs of model-failures spent seconds boxing a million numbers each). Unequal bytes are compared as below.
    if (ArrayBuffer.isView(a.data) && ArrayBuffer.isView(e.data) && sameBytes(a.data, e.data)) continue;
    const floats = e.data instanceof Float32Array || e.data instanceof Float64Array;
    if (!floats || tolerance === 0) {
      // Object.is per element: NaN equals NaN, -0 differs from 0, bigints compare exactly.
      const diff = Array.from(e.data as ArrayLike<unknown>).findIndex((v, i) => !Object.is(v, (a.data as ArrayLike<unknown>)[i]));
      expect(diff === -1 ? 'same' : `${name}[${diff}]: ${String((a.data as ArrayLike<unknown>)[diff])} vs ${String((e.data as ArrayLike<unknown>)[diff])}`).toBe('same');
      continue;
    }
    let scale = 0;
    for (const v of e.data as Float32Array) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < e.data.length; i++) {
      const x = (e.data as Float32Array)[i]!;
      const y = (a.data as Float32Array)[i]!;
      if (Object.is(x, y) || Math.abs(x - y) <= tolerance * Math.max(1, scale)) continue;
      expect(`${name}[${i}]: ${y}`).toBe(`${name}[${i}]: ${x}`);
    }
  }
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** What {@link serveAndCompare} saw. */
export interface Served {
  /** Sizes of the batches the executor dispatched for the service. */
  readonly batchSizes: readonly number[];
  /** Each request's outcome, in submit order. */
  readonly results: readonly ({ ok: true; outputs: NamedTensors } | { ok: false; error: { code?: string; message?: string } })[];
}

/** A latency service on one CPU device with a long SLO, a given profile (no measuring) and the given overrides. */
export function service(id: string, model: Uint8Array | string, more: Partial<ExecutorServiceOptions> = {}): ExecutorServiceOptions {
  return {
    id,
    model,
    sensitivity: 'latency',
    slo: { kind: 'latency', deadlineMs: 60_000 },
    profile: affineProfile('cpu-1t', { fixedMs: 1, perItemMs: 0.1, maxBatch: 8 }),
    maxBatch: 8,
    devices: ['cpu0'],
    ...more,
  };
}

/** Starts an executor on one CPU device hosting `services`: an idle device runs the first request at once, the rest queue behind it. */
export async function startExecutor(services: readonly ExecutorServiceOptions[], profiling?: { warmup: number; repetitions: number }): Promise<Executor> {
  const executor = createExecutor({ devices: [{ id: 'cpu0', threads: 1 }], services: [...services], launchWhenIdle: true, ...(profiling ? { profiling } : {}) });
  await executor.start();
  return executor;
}

/** What {@link serveWithReferences} gives a describe block's tests. */
export interface ServedCases {
  /** The cases' names, in order (each a service id). */
  readonly names: readonly string[];
  /** The executor serving every case (started before the block's tests). */
  readonly executor: Executor;
  /** A case's raw onnxruntime-node reference. */
  ref(name: string): Reference;
}

/**
 * For the describe block it is called in: before its tests, each case's raw onnxruntime-node reference and one
 * executor serving every case as a service named after it; after them, the executor closed and the references
 * released.
 */
export function serveWithReferences(cases: Readonly<Record<string, { readonly bytes: Uint8Array }>>): ServedCases {
  const names = Object.keys(cases);
  let executor: Executor | undefined;
  const refs = new Map<string, Reference>();
  beforeAll(async () => {
    for (const name of names) refs.set(name, await reference(cases[name]!.bytes));
    executor = await startExecutor(names.map((name) => service(name, cases[name]!.bytes)));
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of refs.values()) await r.release();
  });
  return {
    names,
    get executor(): Executor {
      return executor!;
    },
    ref: (name) => refs.get(name)!,
  };
}

/**
 * Submits every item to `serviceId` at once (so that they queue together and the executor may batch them),
 * and records the batches it dispatched and each request's outcome.
 */
export async function submitAll(executor: Executor, serviceId: string, items: readonly NamedTensors[]): Promise<Served> {
  const batchSizes: number[] = [];
  const onBatch = (e: BatchDispatchedEvent): void => {
    if (e.serviceId === serviceId) batchSizes.push(e.size);
  };
  executor.on('batchDispatched', onBatch);
  try {
    const settled = await Promise.allSettled(items.map((it) => executor.submit(serviceId, it)));
    const results = settled.map((s) => (s.status === 'fulfilled' ? { ok: true as const, outputs: s.value } : { ok: false as const, error: s.reason as { code?: string; message?: string } }));
    return { batchSizes, results };
  } finally {
    executor.off('batchDispatched', onBatch);
  }
}

/**
 * Serves `items` through the executor, all at once, and expects each answer to equal raw onnxruntime-node's on
 * the same item alone. Returns what was served (to check batching and errors further).
 */
export async function expectServedAsReference(
  executor: Executor,
  serviceId: string,
  ref: Reference,
  items: readonly NamedTensors[],
  o: { tolerance?: number; outputNames?: readonly string[] } = {},
): Promise<Served> {
  // The reference runs first: the executor may take over a request's buffers (a lone item on the copy path).
  const expected: NamedTensors[] = [];
  for (const it of items) expected.push(await ref.run(it, o.outputNames));
  const served = await submitAll(executor, serviceId, items);
  for (let i = 0; i < items.length; i++) {
    const r = served.results[i]!;
    if (!r.ok) throw new Error(`request ${i} failed: ${r.error.code} ${r.error.message}`);
    expectSameOutputs(r.outputs, expected[i]!, o.tolerance ?? 0);
  }
  return served;
}
