import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors, TensorLike } from '@epara/core';
import { DATATYPE_OF } from '@epara/gateway';
import { createGraphBuilder, encodeModel } from '@epara/runtime';
import { startServe, type ServeProcess } from '../gateway/serve-process.js';
import { ITEMS, MODELS, type Name } from './fixtures/shape-models.js';
import { reference, type Reference } from './ground-truth.js';

/*
 * The models of every shape served by `epara serve` from their files alone, as an operator first tries a model
 * the project never met: several concurrent HTTP requests of different values per model, each answered as raw
 * onnxruntime-node answers that request alone; a model that refuses one request's values fails that request
 * only; a model with a sequence output is left out unless the config names its tensor outputs.
 */

type Json = { name: string; datatype: string; shape: number[]; data: unknown[] };

const dir = mkdtempSync(join(tmpdir(), 'epara-models-'));
const fileOf = (name: string, bytes: Uint8Array): string => {
  const file = join(dir, `${name}.onnx`);
  writeFileSync(file, bytes);
  return file;
};

/** `y = x[n, idx[n, j]]`: an index out of range fails the run. */
function gatherModel(): Uint8Array {
  const g = createGraphBuilder({ name: 'gather' });
  g.input('x', 'float32', ['N', 5]);
  g.input('idx', 'int64', ['N', 2]);
  g.node('GatherElements', ['x', 'idx'], ['y'], { axis: 1 });
  g.output('y', 'float32', ['N', 2]);
  return g.toBytes();
}

/** A sequence output beside `y = 2x`. */
function sequenceModel(): Uint8Array {
  const g = createGraphBuilder({ name: 'sequence-out' });
  g.input('x', 'float32', ['N', 3]);
  g.node('SequenceConstruct', ['x', 'x'], ['s']);
  g.node('Mul', ['x', g.constant('two', 'float32', [], [2])], ['y']);
  g.output('s', 'float32', ['N', 3]);
  g.output('y', 'float32', ['N', 3]);
  const m = g.toModel();
  m.graph!.output![0]!.type = { sequenceType: { elemType: { tensorType: { elemType: 1 } } } };
  return encodeModel(m);
}

const toJson = (name: string, t: TensorLike): Json => ({
  name,
  datatype: DATATYPE_OF[t.type],
  shape: [...t.dims],
  data: Array.from(t.data as ArrayLike<number | bigint | string>, (v) => (typeof v === 'bigint' ? Number(v) : v)),
});

const gatherItem = (seed: number, bad = false): NamedTensors => ({
  x: { type: 'float32', dims: [1, 5], data: Float32Array.from({ length: 5 }, (_, i) => seed * 10 + i) },
  idx: { type: 'int64', dims: [1, 2], data: new BigInt64Array([BigInt(seed % 5), bad ? 99n : BigInt((seed * 3) % 5)]) },
});

const names = Object.keys(MODELS) as Name[];
let serve: ServeProcess;
const refs = new Map<string, Reference>();

beforeAll(async () => {
  const service = (id: string, file: string, extra = ''): string =>
    `  - { id: ${id}, model: ${JSON.stringify(file)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 60000 }, devices: [cpu0], maxBatch: 8${extra} }`;
  const gather = gatherModel();
  const sequence = sequenceModel();
  for (const name of names) refs.set(name, await reference(MODELS[name]));
  refs.set('gather', await reference(gather));
  refs.set('sequence', await reference(sequence));
  serve = await startServe(
    `node: { id: models-1, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1 } }
services:
${names.map((name) => service(name, fileOf(name, MODELS[name]))).join('\n')}
${service('gather', fileOf('gather', gather))}
${service('sequence', fileOf('sequence', sequence))}
${service('sequence-tensors', fileOf('sequence', sequence), ', outputNames: [y]')}
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: false }
`,
    240_000,
  );
}, 240_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
  for (const r of refs.values()) await r.release();
});

const infer = async (model: string, item: NamedTensors, outputs?: string[]): Promise<{ status: number; body: { outputs?: Json[]; error?: string; code?: string } }> => {
  const inputs = Object.entries(item).map(([name, t]) => toJson(name, t));
  const body = { inputs, ...(outputs ? { outputs: outputs.map((name) => ({ name })) } : {}) };
  const res = await fetch(`${serve.http}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as never };
};

/** Expects the HTTP answer to carry raw onnxruntime-node's outputs (by name, shape and values). */
const expectAnswer = (got: { status: number; body: { outputs?: Json[]; error?: string } }, expected: NamedTensors, what: string): void => {
  expect(got.status, `${what}: ${got.body.error}`).toBe(200);
  const outputs = Object.fromEntries((got.body.outputs ?? []).map((o) => [o.name, { shape: o.shape, data: o.data }]));
  // JSON spells -0 as 0.
  const json = (t: TensorLike, name: string): unknown[] => toJson(name, t).data.map((v) => (Object.is(v, -0) ? 0 : v));
  const want = Object.fromEntries(Object.entries(expected).map(([name, t]) => [name, { shape: [...t.dims], data: json(t, name) }]));
  expect(outputs, what).toEqual(want);
};

describe('models of every shape through epara serve (HTTP, against raw onnxruntime-node)', () => {
  it.each(names)('%s: concurrent requests each get their own answer', async (name) => {
    expect((await fetch(`${serve.http}/v2/models/${name}/ready`)).status, serve.output()).toBe(200);
    const items = [1, 2, 3, 4, 5, 6].map((k) => ITEMS[name](k));
    const expected = await Promise.all(items.map((it) => refs.get(name)!.run(it)));
    const answers = await Promise.all(items.map((it) => infer(name, it)));
    answers.forEach((a, i) => expectAnswer(a, expected[i]!, `${name} request ${i}`));
  });

  it('a request whose values the model refuses fails alone; the concurrent others are answered', async () => {
    const items = [1, 2, 3, 4, 5, 6].map((s) => gatherItem(s, s === 3));
    const answers = await Promise.all(items.map((it) => infer('gather', it)));
    for (const [i, a] of answers.entries()) {
      if (i === 2) expect({ status: a.status, code: a.body.code }).toEqual({ status: 500, code: 'MODEL_ERROR' });
      else expectAnswer(a, await refs.get('gather')!.run(items[i]!), `gather request ${i}`);
    }
  });

  it('leaves out a model with a sequence output, and serves it when the config names its tensor outputs', async () => {
    expect((await fetch(`${serve.http}/v2/models/sequence/ready`)).status).toBe(503);
    const item = { x: { type: 'float32', dims: [1, 3], data: new Float32Array([1, -2, 3]) } } as const;
    const { y } = await refs.get('sequence')!.run(item, ['y']);
    expectAnswer(await infer('sequence-tensors', item), { y: y! }, 'sequence-tensors');
  });
});
