import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSeededRandom, type NamedTensors, type TensorLike } from '@epara/core';
import { createGraphBuilder, type GraphBuilder } from '@epara/runtime';
import type { Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstDifference, randomModel, type FuzzModel } from '../fixtures/differential-models.js';
import { reference, type Reference } from '../runtime-models/ground-truth.js';
import { oipGrpcClient } from './oip-grpc-client.js';
import { ownClusterKey } from './cluster-key.js';
import { clusterMemberConfig, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';
import { inferOver, servedDifferences, type GrpcCall, type Served, type Transport } from './tensor-transports.js';

/*
 * The differential check of `epara serve` through a cluster: the models are served by a worker, and clients call
 * an entry server that declares the same models but has no device for them, so every request is offloaded over
 * the mesh. The entry has no local instance to ask whether a model's rows are separable; each answer must still be
 * raw onnxruntime-node's on that request alone, over HTTP JSON, HTTP binary and gRPC. The entry sends a request of
 * several rows whole; the worker runs it whole, or refuses it whole when its instance stacks requests (its batch
 * check found the rows separate), and the entry then splits it along the axes the dim names give. Where the names do
 * not give them (unnamed dims, inputs named apart) that refusal is the answer: typed, never a wrong answer.
 *
 * More random models, or one seed again:
 *   EPARA_FUZZ_MODELS=30 EPARA_FUZZ_SEED=1 npx vitest run --project shared test/gateway/differential-cluster-serve.test.ts
 */

const FIRST = Number(process.env['EPARA_FUZZ_SEED'] ?? 1);
const COUNT = Number(process.env['EPARA_FUZZ_MODELS'] ?? 4);

const model = (name: string, build: (g: GraphBuilder) => void): Uint8Array => {
  const g = createGraphBuilder({ name });
  build(g);
  return g.toBytes();
};

/** A running sum down the batch, its dims named as a batch and a sequence: rows that must not be split. */
const cumsumBatch = model('cumsum-batch', (g) => {
  g.input('x', 'int32', ['batch', 'seq', 3]);
  g.node('CumSum', [g.op('ReduceMax', ['x'], { axes: [-1], keepdims: 1 }), g.constant('ax', 'int64', [], [0])], ['y']);
  g.output('y', 'int32', ['batch', 'seq', 1]);
});
/** Rows reversed (a flip of dimension 0), named as a batch everywhere. */
const reversedBatch = model('reversed-batch', (g) => {
  g.input('x', 'float32', ['batch', 4]);
  g.node('Slice', ['x', g.constant('st', 'int64', [1], [-1]), g.constant('en', 'int64', [1], [-(2 ** 62)]), g.constant('ax', 'int64', [1], [0]), g.constant('sp', 'int64', [1], [-1])], ['y']);
  g.output('y', 'float32', ['batch', 4]);
});

/** A batch beside an input of fixed dims every item shares (`k [2]`): y = max(x row) + sum(k). */
const sharedFixed = model('shared-fixed', (g) => {
  g.input('x', 'float32', ['batch', 3]);
  g.input('k', 'float32', [2]);
  g.node('Add', [g.op('ReduceMax', ['x'], { axes: [-1], keepdims: 1 }), g.op('ReduceSum', ['k'], { keepdims: 0 })], ['y']);
  g.output('y', 'float32', ['batch', 1]);
});

/*
 * Separable models whose dim names do not give the batch axes: an input's `N` beside an output's exporter name
 * `unk__3`, a numeric -1, an output batched on axis 1 under another name. Only the worker that runs them knows
 * (its executor's check and batch axes); the entry reads that in the worker's view entry.
 */
const namedApart = model('named-apart', (g) => {
  g.input('a', 'float32', ['N', 4]);
  g.input('b', 'float32', ['unk__2', 4]);
  g.node('Add', ['a', 'b'], ['y']);
  g.output('y', 'float32', ['unk__3', 4]);
});
const minusOne = model('minus-one', (g) => {
  g.input('a', 'float32', [-1, 3]);
  g.input('b', 'float32', [-1, 3]);
  g.node('Mul', ['a', 'b'], ['y']);
  g.output('y', 'float32', [-1, 3]);
});
const transposedApart = model('transposed-apart', (g) => {
  g.input('a', 'float32', ['N', 3]);
  g.input('b', 'float32', ['M', 3]);
  g.node('Transpose', [g.op('Sub', ['a', 'b'])], ['y'], { perm: [1, 0] });
  g.output('y', 'float32', [3, 'unk__1']);
});
const apart = { apart: namedApart, minusone: minusOne, transposed: transposedApart };

const fuzz = Array.from({ length: COUNT }, (_, i) => randomModel(FIRST + i));
const files: Record<string, Uint8Array> = { cumsum: cumsumBatch, reversed: reversedBatch, shared: sharedFixed, ...apart, ...Object.fromEntries(fuzz.map((m) => [`m${m.seed}`, m.bytes])) };


const processes: ServeProcess[] = [];
let entry: Served & { client: Client };
const refs = new Map<string, Reference>();

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'epara-cluster-models-'));
  const paths = Object.fromEntries(
    Object.entries(files).map(([id, bytes]) => {
      writeFileSync(join(dir, `${id}.onnx`), bytes);
      return [id, join(dir, `${id}.onnx`)];
    }),
  );
  const keyed = ownClusterKey();
  const worker = await startServe(keyed(clusterMemberConfig('worker', paths, [], ['cpu0'])), 120_000);
  processes.push(worker);
  const e = await startServe(keyed(clusterMemberConfig('entry', paths, [worker.mesh], [])), 120_000);
  processes.push(e);
  entry = { http: e.http, client: oipGrpcClient<GrpcCall>(e.grpc) };
  refs.set('cumsum', await reference(cumsumBatch));
  refs.set('reversed', await reference(reversedBatch));
  refs.set('shared', await reference(sharedFixed));
  for (const [id, bytes] of Object.entries(apart)) refs.set(id, await reference(bytes));
  for (const m of fuzz) refs.set(`m${m.seed}`, await reference(m.referenceBytes));
  // Every model served through the entry: its view holds the worker's instances.
  for (const id of Object.keys(files)) {
    for (;;) {
      const res = await fetch(`${e.http}/v2/models/${id}/ready`);
      if (res.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}, 240_000);
afterAll(async () => {
  entry?.client.close();
  for (const p of processes) p.child.kill('SIGTERM');
  await Promise.all(processes.map((p) => p.exited));
  for (const r of refs.values()) await r.release();
});

const i32 = (dims: number[], values: number[]): TensorLike => ({ type: 'int32', dims, data: Int32Array.from(values) });
const f32 = (dims: number[], values: number[]): TensorLike => ({ type: 'float32', dims, data: Float32Array.from(values) });
const TRANSPORTS: Transport[] = ['json', 'binary', 'grpc'];

describe('models served through a cluster entry that has no instance of them', () => {
  it.each(TRANSPORTS)('rows that must not be split are answered whole, and rows that stack are split, over %s', async (how) => {
    const cases: [string, { name: string; type: TensorLike['type'] }[], NamedTensors][] = [
      ['cumsum', [{ name: 'y', type: 'int32' }], { x: i32([2, 1, 3], [2, 42, 7, 1, 0, 2]) }],
      ['reversed', [{ name: 'y', type: 'float32' }], { x: f32([3, 4], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) }],
      // Separable (the worker stacks it, so refuses it whole): split, `k` given whole to every item.
      ['shared', [{ name: 'y', type: 'float32' }], { x: f32([2, 3], [1, 5, 2, 7, 3, 4]), k: f32([2], [10, 20]) }],
    ];
    for (const [id, outputs, request] of cases) {
      const want = await refs.get(id)!.run(request);
      const got = await inferOver(entry, id, outputs, request, how);
      expect(got.ok ? firstDifference(got.outputs, want) : got.error, `${id} over ${how}`).toBeUndefined();
    }
  });

  it.each(TRANSPORTS)('separable rows whose dim names do not give the batch axes are split along the axes the worker publishes, over %s', async (how) => {
    const cases: [string, NamedTensors][] = [
      ['apart', { a: f32([3, 4], [1, 9, 2, 3, 4, 0, 5, 6, 7, 8, 2, 1]), b: f32([3, 4], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) }],
      ['minusone', { a: f32([2, 3], [1, 2, 3, 4, 5, 6]), b: f32([2, 3], [-1, 0.5, 2, 3, 0, 1]) }],
      ['transposed', { a: f32([4, 3], [1, -2, 3, 4, 5, -6, 7, 8, 9, -1, 0, 2]), b: f32([4, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) }],
    ];
    for (const [id, request] of cases) {
      const want = await refs.get(id)!.run(request);
      // A first request of one row lets the worker check the model; the rows after run where its instance stacks.
      const one = Object.fromEntries(Object.entries(request).map(([k, t]) => [k, { ...t, dims: [1, ...t.dims.slice(1)], data: t.data.slice(0, t.data.length / t.dims[0]!) }])) as NamedTensors;
      expect((await inferOver(entry, id, [{ name: 'y', type: 'float32' }], one, how)).ok, `${id} one row over ${how}`).toBe(true);
      for (let i = 0; i < 4; i++) {
        const got = await inferOver(entry, id, [{ name: 'y', type: 'float32' }], request, how);
        expect(got.ok ? firstDifference(got.outputs, want) : got.error, `${id} over ${how}, try ${i}`).toBeUndefined();
      }
    }
  });

  it(`random models ${FIRST}..${FIRST + COUNT - 1}: concurrent requests of 1-4 rows, each answered as onnxruntime answers it alone`, async () => {
    const found: string[] = [];
    for (const m of fuzz) found.push(...(await round(m)));
    expect(found).toEqual([]);
  }, 120_000);
});

/** The reference's answer: the overridable initializer's default fed when the request leaves it out. */
async function expected(m: FuzzModel, request: NamedTensors): Promise<NamedTensors | Error> {
  const feeds: Record<string, TensorLike> = { ...request };
  if (m.optional && !(m.optional.name in feeds)) feeds[m.optional.name] = m.optional.value;
  try {
    return await refs.get(`m${m.seed}`)!.run(feeds);
  } catch (err) {
    return err as Error;
  }
}

async function round(m: FuzzModel): Promise<string[]> {
  const r = createSeededRandom(m.seed * 100 + 7);
  const seq = 1 + Math.floor(r.next() * 3);
  const plans = Array.from({ length: 6 }, () => ({ rows: 1 + Math.floor(r.next() * 4), override: r.next() < 0.5, how: TRANSPORTS[Math.floor(r.next() * 3)]! }));
  const requests = plans.map((p) => m.request(r, p.rows, seq, p.override));
  const answers: (NamedTensors | Error)[] = [];
  for (const q of requests) answers.push(await expected(m, q));
  const outcomes = await Promise.all(requests.map((q, i) => inferOver(entry, `m${m.seed}`, m.outputs, q, plans[i]!.how)));
  return servedDifferences(
    outcomes,
    answers,
    (i) => {
      const p = plans[i]!;
      return `model ${m.seed} (${m.description}) request ${i} (${p.how}, rows ${p.rows}, seq ${seq}${p.override ? ', override' : ''})`;
    },
    // Every answer is onnxruntime's: the rows the worker stacks are split along the axes it publishes.
    () => false,
  );
}
