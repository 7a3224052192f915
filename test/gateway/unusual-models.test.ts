import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGraphBuilder, encodeModel } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * `epara serve` on hand-built ONNX graphs whose first dimension is not (only) a batch: a reduction over the
 * whole input, outputs without a batch dim, a `Shape` output, several inputs and outputs of int64/bool/float16,
 * and a string input. The gateway used to split every request with N > 1 along dimension 0 into N items and
 * stack the outputs back, which for these models is a wrong answer with status 200.
 */

const dir = mkdtempSync(join(tmpdir(), 'epara-unusual-'));
let serve: ServeProcess;

function buildModels(): void {
  // x f32[n] → the sum of all values, a scalar: dimension 0 is data, not a batch.
  const sum = createGraphBuilder({ name: 'sum' });
  sum.input('x', 'float32', ['n']);
  sum.node('ReduceSum', ['x'], ['total'], { keepdims: 0 });
  sum.output('total', 'float32', []);
  writeFileSync(join(dir, 'sum.onnx'), sum.toBytes());
  // x f32[N,4] → the mean over N, f32[4]: an output without a batch dim.
  const mean = createGraphBuilder({ name: 'mean' });
  mean.input('x', 'float32', ['N', 4]);
  mean.node('ReduceMean', ['x'], ['m'], { keepdims: 0, axes: [0] });
  mean.output('m', 'float32', [4]);
  writeFileSync(join(dir, 'mean.onnx'), mean.toBytes());
  // a i64[b,2], b bool[b,2] → af f32[b,2], nb bool[b,2], and shp i64[2] = Shape(a) (no batch dim); odd dim name.
  const multi = createGraphBuilder({ name: 'multi' });
  multi.input('a', 'int64', ['batch size:odd', 2]);
  multi.input('b', 'bool', ['batch size:odd', 2]);
  multi.node('Cast', ['a'], ['af'], { to: 1 });
  multi.node('Not', ['b'], ['nb']);
  multi.node('Shape', ['a'], ['shp']);
  multi.output('af', 'float32', ['batch size:odd', 2]);
  multi.output('nb', 'bool', ['batch size:odd', 2]);
  multi.output('shp', 'int64', [2]);
  writeFileSync(join(dir, 'multi.onnx'), multi.toBytes());
  // x f32[N,4] → the sum of each row, f32[N]: a true batch model, which the gateway may split.
  const rows = createGraphBuilder({ name: 'rows' });
  rows.input('x', 'float32', ['N', 4]);
  rows.constant('axes', 'int64', [1], [1]);
  rows.node('ReduceSum', ['x', 'axes'], ['s'], { keepdims: 0 });
  rows.output('s', 'float32', ['N']);
  writeFileSync(join(dir, 'rows.onnx'), rows.toBytes());
  // x f16[b,4] → x*x (the builder declares float32; the element types are rewritten to float16).
  const half = createGraphBuilder({ name: 'half' });
  half.input('x', 'float32', ['b', 4]);
  half.node('Mul', ['x', 'x'], ['y']);
  half.output('y', 'float32', ['b', 4]);
  const hm = half.toModel();
  writeFileSync(join(dir, 'half.onnx'), encodeModel(retype(hm, 10)));
  // s bfloat16[b] → Shape(s): a bfloat16 input, which EPARA has no tensor for.
  const bf16 = createGraphBuilder({ name: 'bf16' });
  bf16.input('s', 'int64', ['b']);
  bf16.node('Shape', ['s'], ['n']);
  bf16.output('n', 'int64', [1]);
  const sm = bf16.toModel();
  writeFileSync(join(dir, 'bf16.onnx'), encodeModel({ ...sm, graph: { ...sm.graph, input: [{ ...sm.graph!.input![0]!, type: { tensorType: { ...sm.graph!.input![0]!.type!.tensorType!, elemType: 16 } } }] } }));
}

/** The model with every graph input and output retyped to ONNX element type `elemType`. */
function retype<M extends ReturnType<ReturnType<typeof createGraphBuilder>['toModel']>>(m: M, elemType: number): M {
  const re = (v: NonNullable<NonNullable<M['graph']>['input']>[number]) => ({ ...v, type: { tensorType: { ...v.type!.tensorType!, elemType } } });
  return { ...m, graph: { ...m.graph!, input: m.graph!.input!.map(re), output: m.graph!.output!.map(re) } };
}

const service = (id: string, file: string, extra = ''): string =>
  `  - { id: ${id}, model: ${JSON.stringify(join(dir, file))}, sensitivity: latency, slo: { kind: latency, deadlineMs: 5000 }, devices: [cpu0]${extra} }`;

function config(services: string[]): string {
  return `node: { id: unusual-1, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
${services.join('\n')}
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 } }
`;
}

beforeAll(async () => {
  buildModels();
  serve = await startServe(
    config([
      service('sum', 'sum.onnx'),
      service('sumfree', 'sum.onnx', ', inputs: { x: { batchAxis: null } }'),
      service('sum5', 'sum.onnx', ', inputs: { x: { dims: [5], batchAxis: null } }'),
      service('mean', 'mean.onnx'),
      service('meanfree', 'mean.onnx', ', inputs: { x: { batchAxis: null } }'),
      service('multi', 'multi.onnx'),
      service('rows', 'rows.onnx'),
      service('half', 'half.onnx'),
    ]),
  );
}, 120_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

async function infer(model: string, inputs: object[]): Promise<{ status: number; body: { outputs?: { name: string; shape: number[]; data: unknown[] }[]; code?: string; error?: string } }> {
  const res = await fetch(`${serve.http}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify({ inputs }), headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: (await res.json()) as never };
}

const fp32 = (shape: number[], data: number[]) => ({ name: 'x', datatype: 'FP32', shape, data });

describe('a first dimension that is not a batch', () => {
  it('never splits a request over a reduction: a correct sum, or a typed 400', async () => {
    const whole = await infer('sumfree', [fp32([3], [1, 2, 3])]);
    expect(whole.status).toBe(200);
    expect(whole.body.outputs).toEqual([{ name: 'total', datatype: 'FP32', shape: [], data: [6] }]);
    const fixed = await infer('sum5', [fp32([5], [1, 2, 3, 4, 5])]);
    expect(fixed.body.outputs?.[0]).toMatchObject({ shape: [], data: [15] });
    // Undeclared, dimension 0 is taken for a batch, but the scalar output rules batching out: the instance
    // runs every request alone, so N > 1 is summed whole (it used to be refused), never per item.
    const guessed = await infer('sum', [fp32([3], [1, 2, 3])]);
    expect(guessed.status).toBe(200);
    expect(guessed.body.outputs).toEqual([{ name: 'total', datatype: 'FP32', shape: [], data: [6] }]);
  });

  it('never stacks an output that has no batch dim', async () => {
    const free = await infer('meanfree', [fp32([2, 4], [1, 2, 3, 4, 5, 6, 7, 8])]);
    expect(free.status).toBe(200);
    expect(free.body.outputs).toEqual([{ name: 'm', datatype: 'FP32', shape: [4], data: [3, 4, 5, 6] }]);
    // Run whole by an instance that never batches it (it used to be refused): the mean over both rows.
    const pinned = await infer('mean', [fp32([2, 4], [1, 2, 3, 4, 5, 6, 7, 8])]);
    expect(pinned.status).toBe(200);
    expect(pinned.body.outputs).toEqual([{ name: 'm', datatype: 'FP32', shape: [4], data: [3, 4, 5, 6] }]);
    const one = await infer('mean', [fp32([1, 4], [1, 2, 3, 4])]);
    expect(one.body.outputs?.[0]).toMatchObject({ shape: [4], data: [1, 2, 3, 4] });
  });

  it('keeps a Shape output whole and answers int64/bool outputs exactly', async () => {
    const a = { name: 'a', datatype: 'INT64', shape: [1, 2], data: [7, '9007199254740993'] };
    const b = { name: 'b', datatype: 'BOOL', shape: [1, 2], data: [true, false] };
    const one = await infer('multi', [a, b]);
    expect(one.status).toBe(200);
    expect(one.body.outputs).toEqual([
      { name: 'af', datatype: 'FP32', shape: [1, 2], data: [7, 9007199254740992] },
      { name: 'nb', datatype: 'BOOL', shape: [1, 2], data: [false, true] },
      { name: 'shp', datatype: 'INT64', shape: [2], data: [1, 2] },
    ]);
    const three = await infer('multi', [{ ...a, shape: [3, 2], data: [1, 2, 3, 4, 5, 6] }, { ...b, shape: [3, 2], data: [true, true, true, false, false, false] }]);
    // Not [6] of [1,2,1,2,1,2]: either the whole request's answer or a typed refusal.
    if (three.status === 200) expect(three.body.outputs?.find((o) => o.name === 'shp')).toMatchObject({ shape: [2], data: [3, 2] });
    else expect(three.body.code).toBe('INVALID_INPUT');
  });

  it('still splits a true batch model and stacks its rows in order', async () => {
    const r = await infer('rows', [fp32([3, 4], [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1])]);
    expect(r.status).toBe(200);
    expect(r.body.outputs?.[0]).toMatchObject({ shape: [3], data: [10, 26, 1] });
  });

  it('carries float16 both ways (an overflow to infinity comes back as null in JSON)', async () => {
    const r = await infer('half', [{ name: 'x', datatype: 'FP16', shape: [1, 4], data: [1, 2, 0.5, 65504] }]);
    expect(r.status).toBe(200);
    expect(r.body.outputs?.[0]).toMatchObject({ datatype: 'FP16', shape: [1, 4], data: [1, 4, 0.25, null] });
  });
});

describe('a tensor type EPARA has no tensor for', () => {
  it('fails `epara serve --check` naming the tensor and its type, instead of serving it as FP32', () => {
    const file = join(dir, 'bf16.yaml');
    writeFileSync(file, config([service('bf16', 'bf16.onnx')]));
    const r = spawnSync(process.execPath, [BIN, 'serve', '--check', file], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/model bf16 .* cannot be served: tensor s is bfloat16, which EPARA does not carry/);
  });
});
