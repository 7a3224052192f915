import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGraphBuilder, encodeModel } from '@epara/runtime';
import type { DimSpec, OnnxType } from '@epara/runtime';
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

describe('readModelIo: values that are not tensors (sequences, maps, optionals)', () => {
  const tensorOf = (elemType: number): OnnxType => ({ tensorType: { elemType, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } } });
  /** sklearn's classifier shape: `label` int64 beside `probabilities`, a sequence of maps (ZipMap), and `y` = x. */
  function zipMap(): string {
    const g = createGraphBuilder({ name: 'zipmap' });
    g.input('x', 'float32', ['N', 2]);
    g.node('ZipMap', ['x'], ['probabilities'], { classlabels_int64s: [0, 1] });
    g.node('ArgMax', ['x'], ['label'], { axis: 1, keepdims: 0 });
    g.output('label', 'int64', ['N']);
    g.output('probabilities', 'float32', ['N']);
    const m = g.toModel();
    m.graph!.node![0]!.domain = 'ai.onnx.ml';
    m.opsetImport!.push({ domain: 'ai.onnx.ml', version: 3 });
    m.graph!.output![1]!.type = { sequenceType: { elemType: { mapType: { keyType: 7, valueType: { tensorType: { elemType: 1 } } } } } };
    const path = join(dir, 'zipmap.onnx');
    writeFileSync(path, encodeModel(m));
    return path;
  }
  /** `has = OptionalHasElement(o)`, `y = OptionalGetElement(o)` over an optional input. */
  function optionalInput(): string {
    const g = createGraphBuilder({ name: 'optional-in' });
    g.input('o', 'float32', ['N', 2]);
    g.node('OptionalHasElement', ['o'], ['has']);
    g.node('OptionalGetElement', ['o'], ['y']);
    g.output('has', 'bool', []);
    g.output('y', 'float32', ['N', 2]);
    const m = g.toModel();
    m.graph!.input![0]!.type = { optionalType: { elemType: tensorOf(1) } };
    m.opsetImport![0]!.version = 18;
    const path = join(dir, 'optional-in.onnx');
    writeFileSync(path, encodeModel(m));
    return path;
  }

  it('names what each is, not an ONNX type code, and which outputs to serve alone', () => {
    const io = readModelIo(zipMap(), service);
    expect(io.unavailable).toMatch(/output probabilities is a sequence of maps \(int64 to float32 tensor\), not a tensor/);
    expect(io.unavailable).toMatch(/serve the tensor outputs alone with outputNames: \[label\]/);
    expect(io.unavailable).not.toMatch(/type code/);
    const opt = readModelIo(optionalInput(), service);
    expect(opt.unavailable).toMatch(/input o is an optional float32 tensor, not a tensor/);
    expect(opt.unavailable).not.toMatch(/outputNames/);
  });

  it('shows them in the metadata as INVALID, never as BYTES a client could send', () => {
    expect(readModelIo(zipMap(), service).outputs).toMatchObject([
      { name: 'label', datatype: 'INT64' },
      { name: 'probabilities', datatype: 'INVALID' },
    ]);
    expect(readModelIo(optionalInput(), service).inputs).toMatchObject([{ name: 'o', datatype: 'INVALID' }]);
  });

  it('serves the model when outputNames leaves them out', () => {
    const io = readModelIo(zipMap(), { ...(service as object), outputNames: ['label'] } as never);
    expect(io.unavailable).toBeUndefined();
    expect(io.outputs).toMatchObject([{ name: 'label', datatype: 'INT64', shape: [-1] }]);
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
