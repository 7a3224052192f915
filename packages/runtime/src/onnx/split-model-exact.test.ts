import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NamedTensors, TensorLike } from '@epara/core';
import { createGraphBuilder } from './graph-builder.js';
import { decodeModel, encodeModel } from './onnx-codec.js';
import { onnxModelType } from './onnx-schema.js';
import { splitModel, type ModelStage } from './split-model.js';
import type { OnnxGraph, OnnxTensor } from './onnx-types.js';
import { runWithOrt } from './testing/run-with-ort.js';

/*
 * int64 values beyond 2^53 where exporters write them: an initializer's `int64_data` (not `raw_data`), a uint64
 * initializer's `uint64_data`, a `Constant` node's `value_int` attribute and its `value` tensor. The bytes are
 * written with protobufjs from decimal strings, so nothing in the codec under test decides what they hold.
 */

const BIG = '1152921504606846977'; // 2^60 + 1: a JS number reads it as 2^60
const NEG = '-9007199254740993'; // -(2^53 + 1)
const TOP = '18446744073709551615'; // 2^64 - 1

function exactModel(): Uint8Array {
  const int64Type = { tensorType: { elemType: 7, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } } };
  const model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'exact',
      initializer: [
        { name: 'big', dims: [2], dataType: 7, int64Data: [BIG, NEG] },
        { name: 'top', dims: [1], dataType: 13, uint64Data: [TOP] },
      ],
      node: [
        { opType: 'Add', input: ['x', 'big'], output: ['h'], name: 'add0' },
        { opType: 'Constant', input: [], output: ['c'], name: 'c', attribute: [{ name: 'value_int', type: 2, i: '1152921504606846979' }] },
        { opType: 'Constant', input: [], output: ['t'], name: 't', attribute: [{ name: 'value', type: 4, t: { dims: [2], dataType: 7, int64Data: ['4611686018427387905', NEG] } }] },
        { opType: 'Sub', input: ['h', 'c'], output: ['d'], name: 'sub' },
        { opType: 'Add', input: ['d', 't'], output: ['y'], name: 'add1' },
        { opType: 'Identity', input: ['top'], output: ['u'], name: 'id' },
      ],
      input: [{ name: 'x', type: int64Type }],
      output: [
        { name: 'y', type: int64Type },
        { name: 'u', type: { tensorType: { elemType: 13, shape: { dim: [{ dimValue: 1 }] } } } },
      ],
    },
  };
  const type = onnxModelType();
  return type.encode(type.fromObject(model)).finish();
}

async function runStages(stages: readonly ModelStage[], feeds: NamedTensors): Promise<Record<string, TensorLike>> {
  const values: Record<string, TensorLike> = { ...feeds };
  for (const stage of stages) Object.assign(values, await runWithOrt(stage.bytes, Object.fromEntries(stage.inputs.map((n) => [n, values[n]!]))));
  return values;
}

const x = (): NamedTensors => ({ x: { type: 'int64', dims: [2, 2], data: new BigInt64Array([1n, 2n, -3n, 2n ** 40n]) } });

describe('int64 values beyond 2^53 survive the codec and splitModel exactly', () => {
  it('a split model answers bit for bit what the whole model answers', async () => {
    const bytes = exactModel();
    const whole = await runWithOrt(bytes, x());
    // The model as written: y = x + big − c + t, u = 2^64 − 1.
    const [big, neg, c, t0] = [BigInt(BIG), BigInt(NEG), 2n ** 60n + 3n, 2n ** 62n + 1n];
    const want = [...(x()['x']!.data as BigInt64Array)].map((v, i) => BigInt.asIntN(64, v + (i % 2 === 0 ? big : neg) - c + (i % 2 === 0 ? t0 : neg)));
    expect([...(whole['y']!.data as BigInt64Array)]).toEqual(want);
    expect([...(whole['u']!.data as BigUint64Array)]).toEqual([2n ** 64n - 1n]);
    const staged = await runStages(splitModel(bytes, { cutTensors: ['h'] }), x());
    expect([...(staged['y']!.data as BigInt64Array)]).toEqual([...(whole['y']!.data as BigInt64Array)]);
    expect([...(staged['u']!.data as BigUint64Array)]).toEqual([...(whole['u']!.data as BigUint64Array)]);
  });

  it('decodeModel reads them exactly (bigints beyond 2^53, numbers below), and encodeModel writes them back', async () => {
    const bytes = exactModel();
    const model = decodeModel(bytes);
    const graph = model.graph!;
    expect(graph.initializer![0]!.int64Data).toEqual([2n ** 60n + 1n, -(2n ** 53n) - 1n]);
    expect(graph.initializer![1]!.uint64Data).toEqual([2n ** 64n - 1n]);
    expect(graph.node![1]!.attribute![0]!.i).toBe(2n ** 60n + 3n);
    expect(graph.input![0]!.type!.tensorType!.shape!.dim![1]!.dimValue).toBe(2);
    expect(model.irVersion).toBe(8);
    const again = await runWithOrt(encodeModel(model), x());
    const whole = await runWithOrt(bytes, x());
    expect([...(again['y']!.data as BigInt64Array)]).toEqual([...(whole['y']!.data as BigInt64Array)]);
    expect([...(again['u']!.data as BigUint64Array)]).toEqual([...(whole['u']!.data as BigUint64Array)]);
  });
});

describe('splitModel on a model whose weights are external data beside it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'epara-split-external-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // y = relu(x · w0) · w1, both weights in one file `weights.bin` (w1 at an offset), as exporters write large models.
  const g = createGraphBuilder({ name: 'external', seed: 3 });
  g.input('x', 'float32', ['N', 4]);
  g.node('MatMul', ['x', g.weight('w0', [4, 8], 0.5)], ['h']);
  g.node('Relu', ['h'], ['r']);
  g.node('MatMul', ['r', g.weight('w1', [8, 3], 0.5)], ['y']);
  g.output('y', 'float32', ['N', 3]);
  const model = g.toModel();
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph!.initializer!) {
    const data = t.rawData!;
    delete t.rawData;
    t.dataLocation = 1;
    t.externalData = [
      { key: 'location', value: 'weights.bin' },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(data.byteLength) },
    ];
    parts.push(data, new Uint8Array(64 - (data.byteLength % 64))); // aligned, with a gap
    offset += data.byteLength + 64 - (data.byteLength % 64);
  }
  writeFileSync(join(dir, 'weights.bin'), Buffer.concat(parts));
  const path = join(dir, 'model.onnx');
  writeFileSync(path, encodeModel(model));
  const feeds = (): NamedTensors => ({ x: { type: 'float32', dims: [2, 4], data: new Float32Array([1, -2, 0.5, 3, 0, 1, -1, 2]) } });

  it('reads the weights each stage uses from externalDataDir into the stage: the stages answer as the whole model', async () => {
    const whole = await runWithOrt(path, feeds());
    const stages = splitModel(readFileSync(path), { cutTensors: ['r'], externalDataDir: dir });
    const staged = await runStages(stages, feeds());
    expect([...(staged['y']!.data as Float32Array)]).toEqual([...(whole['y']!.data as Float32Array)]);
    for (const s of stages) expect(decodeModel(s.bytes).graph!.initializer!.every((t) => t.dataLocation !== 1 && t.rawData !== undefined)).toBe(true);
  });

  it('refuses a model with external data and no externalDataDir, or a directory without the file, with typed errors', () => {
    expect(() => splitModel(readFileSync(path), { cutTensors: ['r'] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => splitModel(readFileSync(path), { cutTensors: ['r'], externalDataDir: join(dir, 'nowhere') })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('reads external data held by Constant nodes and by subgraphs (an If\'s branch) into the stages too', async () => {
    // y = relu(x · w0) · w1 + k, k a Constant's value and c an If's then-branch initializer, both in `more.bin`.
    const m = decodeModel(readFileSync(path));
    const k = Float32Array.from([0.5, -1, 2]);
    const c = Float32Array.from([10, 20, 30]);
    writeFileSync(join(dir, 'more.bin'), Buffer.concat([Buffer.from(k.buffer), Buffer.from(c.buffer)]));
    const external = (name: string, offset: number): OnnxTensor => ({
      name,
      dims: [3],
      dataType: 1,
      dataLocation: 1,
      externalData: [
        { key: 'location', value: 'more.bin' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: '12' },
      ],
    });
    const branch = (name: string, t: OnnxTensor): OnnxGraph => ({ name, node: [{ opType: 'Identity', input: [t.name!], output: [`${name}_out`] }], initializer: [t], output: [{ name: `${name}_out`, type: { tensorType: { elemType: 1 } } }] });
    const zeros: OnnxTensor = { name: 'zeros', dims: [3], dataType: 1, rawData: new Uint8Array(12) };
    const graph = m.graph!;
    graph.node!.at(-1)!.output = ['y0'];
    graph.node!.push(
      { opType: 'Constant', input: [], output: ['k'], attribute: [{ name: 'value', type: 4, t: external('k_value', 0) }] },
      { opType: 'Constant', input: [], output: ['flag'], attribute: [{ name: 'value', type: 4, t: { name: 'flag_value', dims: [], dataType: 9, int32Data: [1] } }] },
      { opType: 'If', input: ['flag'], output: ['c'], attribute: [{ name: 'then_branch', type: 5, g: branch('then', external('c_value', 12)) }, { name: 'else_branch', type: 5, g: branch('else', zeros) }] },
      { opType: 'Add', input: ['y0', 'k'], output: ['yk'] },
      { opType: 'Add', input: ['yk', 'c'], output: ['y'] },
    );
    const bytes = encodeModel(m);
    writeFileSync(join(dir, 'nested.onnx'), bytes);
    const whole = await runWithOrt(join(dir, 'nested.onnx'), feeds());
    expect(() => splitModel(bytes, { cutTensors: ['r'] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/externalDataDir/) }));
    const stages = splitModel(bytes, { cutTensors: ['r'], externalDataDir: dir });
    const staged = await runStages(stages, feeds());
    expect([...(staged['y']!.data as Float32Array)]).toEqual([...(whole['y']!.data as Float32Array)]);
  });

  it('refuses weights outside the model\'s folder (above it, or at an absolute path), as onnxruntime refuses them from a path', () => {
    // The same weights, found from a folder below: `../weights.bin` reads them; so would an absolute path.
    mkdirSync(join(dir, 'below'), { recursive: true });
    for (const location of ['../weights.bin', join(dir, 'weights.bin')]) {
      const moved = decodeModel(readFileSync(path));
      for (const t of moved.graph!.initializer!) t.externalData!.find((e) => e.key === 'location')!.value = location;
      expect(() => splitModel(encodeModel(moved), { cutTensors: ['r'], externalDataDir: join(dir, 'below') }), location).toThrow(
        expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/external data of initializer w0 .*outside the model's folder/) }),
      );
    }
  });
});
