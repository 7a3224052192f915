import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGraphBuilder } from '@epara/runtime';
import type { GraphBuilder } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oipGrpcClient } from './oip-grpc-client.js';
import { modelFilesConfig, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * Models of kinds `epara serve` had not met, served from the file alone (no dims, no sample declared) and called
 * as outside clients call it: a model with no inputs at all, a scalar integer divisor (zeros are no sample for
 * it), outputs of four types beside a rank-0 one, uint8 and bool inputs, an output whose size a scalar input's
 * value sets. Every answer is compared with raw onnxruntime-node on the same inputs; refusals quote what the
 * client sent.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: ArrayLike<number | bigint | boolean>;
}
interface Ort {
  Tensor: new (type: string, data: ArrayLike<number | bigint> | ArrayBufferView, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(path: string): Promise<{ run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release(): Promise<void> }> };
}
const ort = createRequire(join(root, 'packages', 'runtime', 'package.json'))('onnxruntime-node') as Ort;

const dir = mkdtempSync(join(tmpdir(), 'epara-hunt-'));
const MODELS: Record<string, (g: GraphBuilder) => void> = {
  /** No inputs at all: a constant table. */
  zero_in: (g) => {
    g.node('Identity', [g.constant('table', 'float32', [2, 3], [1, 2, 3, 4, 5, 6])], ['y']);
    g.output('y', 'float32', [2, 3]);
  },
  /** x int64[batch, 3] / n, n a rank-0 int64: onnxruntime refuses a division by zero, so zeros are no sample. */
  scalar_div: (g) => {
    g.input('x', 'int64', ['batch', 3]);
    g.input('n', 'int64', []);
    g.node('Div', ['x', 'n'], ['y']);
    g.output('y', 'int64', ['batch', 3]);
  },
  /** Four outputs of four types, one of them rank 0 (the sum of the whole request). */
  multi_out: (g) => {
    g.input('x', 'float32', ['batch', 4]);
    g.node('ArgMax', ['x'], ['idx'], { axis: 1, keepdims: 0 });
    g.node('Greater', ['x', g.constant('zero', 'float32', [], [0])], ['pos']);
    g.node('Cast', ['x'], ['i8'], { to: 3 });
    g.node('ReduceSum', ['x'], ['total'], { keepdims: 0 });
    g.output('idx', 'int64', ['batch']);
    g.output('pos', 'bool', ['batch', 4]);
    g.output('i8', 'int8', ['batch', 4]);
    g.output('total', 'float32', []);
  },
  /** uint8 pixels where a bool mask holds, else -1. */
  u8_bool: (g) => {
    g.input('img', 'uint8', ['batch', 4]);
    g.input('mask', 'bool', ['batch', 4]);
    g.node('Where', ['mask', g.op('Cast', ['img'], { to: 1 }), g.constant('neg', 'float32', [], [-1])], ['y']);
    g.output('y', 'float32', ['batch', 4]);
  },
  /** Range(0, n): an output whose size the scalar input's value sets. */
  range_n: (g) => {
    g.input('n', 'int64', []);
    g.node('Range', [g.constant('s', 'int64', [], [0]), 'n', g.constant('d', 'int64', [], [1])], ['r']);
    g.output('r', 'int64', ['k']);
  },
};
const file = (id: string): string => join(dir, `${id}.onnx`);

let serve: ServeProcess;
beforeAll(async () => {
  for (const [id, build] of Object.entries(MODELS)) {
    const g = createGraphBuilder({ name: id, seed: 3 });
    build(g);
    writeFileSync(file(id), g.toBytes());
  }
  serve = await startServe(modelFilesConfig('hunt-1', Object.fromEntries(Object.keys(MODELS).map((id) => [id, file(id)]))));
}, 120_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

interface JsonOutput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
  readonly data: (number | boolean)[];
}
async function infer(model: string, body: object): Promise<{ status: number; body: { outputs?: JsonOutput[]; error?: string; code?: string } }> {
  const res = await fetch(`${serve.http}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as never };
}

/** Raw onnxruntime-node's outputs on `feeds`, as JSON would carry them (numbers and booleans, by name). */
async function reference(id: string, feeds: Record<string, OrtTensor>): Promise<Record<string, { shape: number[]; data: (number | boolean)[] }>> {
  const session = await ort.InferenceSession.create(file(id));
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(
      Object.entries(out).map(([name, t]) => [name, { shape: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint | boolean>, (v) => (typeof v === 'bigint' ? Number(v) : t.type === 'bool' ? Boolean(v) : (v as number))) }]),
    );
  } finally {
    await session.release();
  }
}
const byName = (outputs: JsonOutput[] | undefined): Record<string, { shape: number[]; data: (number | boolean)[] }> =>
  Object.fromEntries((outputs ?? []).map((o) => [o.name, { shape: o.shape, data: o.data }]));

describe('models epara serve had not met, answered as raw onnxruntime-node answers them', () => {
  it('a model with no inputs answers a request of no inputs, over HTTP JSON and gRPC', async () => {
    const res = await infer('zero_in', { inputs: [] });
    expect(res.status, res.body.error).toBe(200);
    expect(byName(res.body.outputs)).toEqual(await reference('zero_in', {}));
    const client = oipGrpcClient<(req: object, cb: (err: Error | null, res: { outputs: { name: string; shape: number[] }[]; raw_output_contents: Buffer[] }) => void) => void>(serve.grpc);
    try {
      const grpc = await new Promise<{ outputs: { name: string; shape: number[] }[]; raw_output_contents: Buffer[] }>((resolve, reject) =>
        client['ModelInfer']!({ model_name: 'zero_in', inputs: [] }, (err, r) => (err ? reject(err) : resolve(r))),
      );
      expect(grpc.outputs).toMatchObject([{ name: 'y', shape: [2, 3] }]);
      const raw = grpc.raw_output_contents[0]!;
      expect(Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)))).toEqual([1, 2, 3, 4, 5, 6]);
    } finally {
      client.close();
    }
    // A model that has inputs still refuses a request of none, naming what it needs.
    expect(await infer('u8_bool', { inputs: [] })).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT', error: expect.stringMatching(/no inputs.*needs input img/) } });
  });

  it('a rank-0 integer divisor is loaded on ones (zeros fail) and answers as onnxruntime does', async () => {
    expect(serve.output()).toMatch(/service scalar_div failed on its load-time sample \(zeros shaped x \[1,3\], n \[\]/);
    const res = await infer('scalar_div', { inputs: [{ name: 'x', datatype: 'INT64', shape: [2, 3], data: [7, -8, 9, 10, 11, -12] }, { name: 'n', datatype: 'INT64', shape: [], data: [3] }] });
    expect(res.status, res.body.error).toBe(200);
    expect(byName(res.body.outputs)).toEqual(await reference('scalar_div', { x: new ort.Tensor('int64', BigInt64Array.from([7n, -8n, 9n, 10n, 11n, -12n]), [2, 3]), n: new ort.Tensor('int64', BigInt64Array.from([3n]), []) }));
    const zero = await infer('scalar_div', { inputs: [{ name: 'x', datatype: 'INT64', shape: [1, 3], data: [1, 2, 3] }, { name: 'n', datatype: 'INT64', shape: [], data: [0] }] });
    expect(zero).toMatchObject({ status: 500, body: { code: 'MODEL_ERROR', error: expect.stringMatching(/division by zero/) } });
  });

  it('outputs of four types beside a rank-0 one, uint8 and bool inputs, and an output sized by a value', async () => {
    const x = [1.5, -2, 3.25, -4, 5, 6.5, -7, 8];
    const multi = await infer('multi_out', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: x }] });
    expect(multi.status, multi.body.error).toBe(200);
    expect(multi.body.outputs?.map((o) => o.datatype)).toEqual(['INT64', 'BOOL', 'INT8', 'FP32']);
    expect(byName(multi.body.outputs)).toEqual(await reference('multi_out', { x: new ort.Tensor('float32', Float32Array.from(x), [2, 4]) }));
    const img = [0, 255, 7, 9, 1, 2, 3, 4];
    const mask = [true, false, true, true, false, true, true, false];
    const masked = await infer('u8_bool', { inputs: [{ name: 'img', datatype: 'UINT8', shape: [2, 4], data: img }, { name: 'mask', datatype: 'BOOL', shape: [2, 4], data: mask }] });
    expect(masked.status, masked.body.error).toBe(200);
    expect(byName(masked.body.outputs)).toEqual(await reference('u8_bool', { img: new ort.Tensor('uint8', Uint8Array.from(img), [2, 4]), mask: new ort.Tensor('bool', Uint8Array.from(mask, Number), [2, 4]) }));
    for (const n of [5, 0, 1]) {
      const r = await infer('range_n', { inputs: [{ name: 'n', datatype: 'INT64', shape: [], data: [n] }] });
      expect(r.status, r.body.error).toBe(200);
      expect(byName(r.body.outputs)).toEqual(await reference('range_n', { n: new ort.Tensor('int64', BigInt64Array.from([BigInt(n)]), []) }));
    }
  });
});

describe('refusals quote what a JSON client sent, not the double it was parsed to', () => {
  it('a shape value or an INT64 number past 2^53', async () => {
    const shape = await fetch(`${serve.http}/v2/models/scalar_div/infer`, { method: 'POST', body: '{"inputs":[{"name":"x","datatype":"INT64","shape":[1,9007199254740993],"data":[1,2,3]}]}' });
    const shapeBody = (await shape.json()) as { error: string; code: string };
    expect(shape.status).toBe(400);
    expect(shapeBody.error).toMatch(/inputs\[0\] \(x\)\.shape .*past 2\^53/);
    expect(shapeBody.error).not.toContain('9007199254740992');
    const data = await fetch(`${serve.http}/v2/models/scalar_div/infer`, { method: 'POST', body: '{"inputs":[{"name":"x","datatype":"INT64","shape":[1,3],"data":[9007199254740993,1,2]},{"name":"n","datatype":"INT64","shape":[],"data":[1]}]}' });
    const dataBody = (await data.json()) as { error: string; code: string };
    expect(data.status).toBe(400);
    expect(dataBody.error).toMatch(/inputs\[0\] \(x\)\.data\[0\] .*past 2\^53.*decimal string/);
    expect(dataBody.error).not.toContain('9007199254740992');
  });
});
