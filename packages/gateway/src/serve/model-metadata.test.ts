import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGraphBuilder, encodeModel } from '@epara/runtime';
import type { DimSpec } from '@epara/runtime';
import { describe, expect, it } from 'vitest';
import { declaredSample, readModelIo, undersampledInputs } from './model-metadata.js';

const dir = mkdtempSync(join(tmpdir(), 'epara-model-io-'));

/** A model adding every input (of the given dims) to a constant, with one output per input. */
function file(name: string, inputs: Record<string, readonly DimSpec[]>): string {
  const g = createGraphBuilder({ name });
  for (const [input, dims] of Object.entries(inputs)) {
    g.input(input, 'float32', dims);
    g.node('Neg', [input], [`${input}_neg`]);
    g.output(`${input}_neg`, 'float32', dims);
  }
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, g.toBytes());
  return path;
}

const service = { id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 }, devices: [] } as never;

describe('readModelIo: do the names say every input starts with the same dim?', () => {
  it('yes for one input, or the same symbol first in every input', () => {
    expect(readModelIo(file('one', { x: ['b', 4] }), service).sameFirstDim).toBe(true);
    expect(readModelIo(file('same', { x: ['b', 4], m: ['b', 'len'] }), service).sameFirstDim).toBe(true);
  });

  it('no when the first dims carry different names, or no name', () => {
    expect(readModelIo(file('other', { x: ['b', 4], k: ['n'] }), service).sameFirstDim).toBe(false);
    expect(readModelIo(file('unnamed', { x: ['b', 4], k: ['', 4] }), service).sameFirstDim).toBe(false);
    expect(readModelIo(file('fixed', { x: ['b', 4], k: [2, 4] }), service).sameFirstDim).toBe(false);
  });
});

describe('readModelIo: tensors EPARA cannot carry, and inputs of open rank', () => {
  /** A model `y = Identity(x)` whose tensors are retyped (ONNX code) or have their shape removed. */
  function edited(name: string, o: { elemType?: number; noShape?: boolean }): string {
    const g = createGraphBuilder({ name });
    g.input('x', 'float32', ['b', 3]);
    g.node('Identity', ['x'], ['y']);
    g.output('y', 'float32', ['b', 3]);
    const m = g.toModel();
    const edit = <V extends { type?: { tensorType?: object } }>(v: V): V => {
      const tt: Record<string, unknown> = { ...v.type!.tensorType! };
      if (o.elemType !== undefined) tt['elemType'] = o.elemType;
      if (o.noShape) delete tt['shape'];
      return { ...v, type: { tensorType: tt } };
    };
    const path = join(dir, `${name}.onnx`);
    writeFileSync(path, encodeModel({ ...m, graph: { ...m.graph!, input: m.graph!.input!.map(edit), output: m.graph!.output!.map(edit) } }));
    return path;
  }

  it('a string tensor is carried as BYTES; a bfloat16 one makes the model unavailable (with the reason) instead of throwing', () => {
    const strings = readModelIo(edited('strings', { elemType: 8 }), service);
    expect(strings.unavailable).toBeUndefined();
    expect(strings.inputs).toMatchObject([{ name: 'x', datatype: 'BYTES', shape: [-1, 3], type: 'string' }]);
    const declared = readModelIo(edited('strings', { elemType: 8 }), { ...(service as object), inputs: { x: { sampleDims: [1, 3] } } } as never);
    expect(declaredSample(declared)).toEqual({ x: { type: 'string', dims: [1, 3], data: ['', '', ''] } });
    // It threw LOAD_FAILED, which stopped `epara serve` and every other model with it.
    const io = readModelIo(edited('bf16', { elemType: 16 }), service);
    expect(io.unavailable).toMatch(/tensor x is bfloat16; tensor y is bfloat16, which EPARA does not carry/);
    expect(io.inputs).toMatchObject([{ name: 'x', datatype: 'BF16', shape: [-1, 3], type: undefined }]);
  });

  it('int16, uint16, uint32 and uint64 are carried', () => {
    for (const [code, datatype] of [[5, 'INT16'], [4, 'UINT16'], [12, 'UINT32'], [13, 'UINT64']] as const) {
      const io = readModelIo(edited(`t${code}`, { elemType: code }), service);
      expect(io.unavailable, datatype).toBeUndefined();
      expect(io.inputs[0]!.datatype).toBe(datatype);
    }
  });

  it('an input with no shape is of open rank: [-1], marked anyRank (it was read as a scalar)', () => {
    const io = readModelIo(edited('open', { noShape: true }), service);
    expect(io.inputs).toMatchObject([{ name: 'x', shape: [-1], anyRank: true }]);
    expect(io.outputs).toMatchObject([{ name: 'y', shape: [-1], anyRank: true }]);
    // Its [-1] must not read as a free batch dim: without the executor's verdict, requests go whole.
    expect(io.splitItems).toBe(false);
  });
});

describe('sampleDims: the shape a model is profiled on at load', () => {
  const withInputs = (inputs: object): never => ({ id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 }, devices: [], inputs }) as never;
  const image = file('image', { x: ['n', 3, 'h', 'w'] });

  it('shapes the sample and leaves the metadata free', () => {
    const io = readModelIo(image, withInputs({ x: { sampleDims: [1, 3, 64, 96] } }));
    expect(io.inputs).toMatchObject([{ name: 'x', shape: [-1, 3, -1, -1], sampleDims: [1, 3, 64, 96] }]);
    expect(declaredSample(io)!['x']!.dims).toEqual([1, 3, 64, 96]);
    // Nothing declared: the executor finds the whole sample at load.
    expect(declaredSample(readModelIo(image, service))).toBeUndefined();
    expect(undersampledInputs(io)).toEqual([]);
  });

  it('without it, free dims besides the batch axis are named as sampled at 1', () => {
    expect(undersampledInputs(readModelIo(image, service))).toEqual(['x [1, 3, 1, 1]']);
    const batchOnly = file('batch-only', { x: ['n', 4] });
    expect(undersampledInputs(readModelIo(batchOnly, service))).toEqual([]);
  });

  it('refuses a sample of another rank, other fixed sizes, or more than one item', () => {
    const read = (sampleDims: number[]): unknown => readModelIo(image, withInputs({ x: { sampleDims } }));
    expect(() => read([1, 3, 64])).toThrow(/services\.s\.inputs\.x\.sampleDims: \[1, 3, 64\] has rank 3, the input \[-1, 3, -1, -1\] has rank 4/);
    expect(() => read([1, 4, 64, 64])).toThrow(/must keep the input's fixed size 3 at dimension 1/);
    expect(() => read([2, 3, 64, 64])).toThrow(/is one item: its batch dimension 0 must be 1/);
    expect(() => read([2, 3, 64, 64])).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});
