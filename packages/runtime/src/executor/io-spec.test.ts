import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { LoadedModelInfo } from '../devices/device-port.js';
import type { ExecutorServiceOptions } from './executor-options.js';
import { resolveIoSpec, validateItem, wholeRequestSpec } from './io-spec.js';

/*
 * An ONNX input with no shape has an open rank, which onnxruntime reports as a scalar (`[]`): without
 * `anyRank`, every request giving it a shape was refused ("has rank 2, expected 0").
 */

const info: LoadedModelInfo = { inputs: [{ name: 'x', type: 'float32', dims: [] }], outputs: [{ name: 'y', type: 'float32', dims: [] }], memoryBytes: 0, executionProvider: 'cpu' };
const service = (inputs: ExecutorServiceOptions['inputs']): ExecutorServiceOptions => ({ id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 }, ...(inputs ? { inputs } : {}) });
const tensor = (dims: number[], n = dims.reduce((a, b) => a * b, 1)): { type: 'float32'; dims: number[]; data: Float32Array } => ({ type: 'float32', dims, data: new Float32Array(n) });
const check = { serviceId: 's', withState: false };

describe('io spec: inputs of open rank', () => {
  it('takes any rank and size with anyRank, and never batches the input', () => {
    const io = wholeRequestSpec(resolveIoSpec(info, service({ x: { anyRank: true } })));
    expect(io.inputs).toEqual([{ name: 'x', type: 'float32', dims: [], batchAxis: null, anyRank: true }]);
    expect(io.separability.kind).toBe('none');
    for (const dims of [[], [4], [2, 3], [1, 2, 2]]) expect(() => validateItem(io, { x: tensor(dims) }, check), JSON.stringify(dims)).not.toThrow();
    // Sizes and the data length are still checked, and the type.
    expect(() => validateItem(io, { x: tensor([2, 3], 5) }, check)).toThrow(/holds 5 values for dims \[2, 3\]/);
    // A dim of 0 is an empty tensor, which onnxruntime runs; a negative or fractional one is no size.
    expect(() => validateItem(io, { x: tensor([2, 0]) }, check)).not.toThrow();
    expect(() => validateItem(io, { x: tensor([2, -1], 0) }, check)).toThrow(/dim 1 is -1/);
    expect(() => validateItem(io, { x: tensor([2, 0.5], 1) }, check)).toThrow(/dim 1 is 0.5/);
    // A dim given as a string reads as one in the message, not as the number it spells.
    expect(() => validateItem(io, { x: tensor(['2' as unknown as number, 3], 6) }, check)).toThrow(/dim 0 is "2", expected a whole number/);
    expect(() => validateItem(io, { x: { type: 'int32', dims: [1], data: new Int32Array(1) } }, check)).toThrow(/dtype int32, expected float32/);
  });

  it('without it, the input reads as the scalar onnxruntime reports', () => {
    const io = wholeRequestSpec(resolveIoSpec(info, service(undefined)));
    expect(() => validateItem(io, { x: tensor([]) }, check)).not.toThrow();
    expect(() => validateItem(io, { x: tensor([2, 3]) }, check)).toThrow(/has rank 2, expected 0/);
  });
});

describe('io spec: what the device read from the graph', () => {
  it('takes any rank for an input the model gives no shape (the device marks it), unless the service gives dims', () => {
    const open: LoadedModelInfo = { ...info, inputs: [{ name: 'x', type: 'float32', dims: [], anyRank: true }] };
    const io = resolveIoSpec(open, service(undefined));
    expect(io.inputs[0]).toMatchObject({ anyRank: true, batchAxis: null });
    expect(() => validateItem(io, { x: tensor([2, 3]) }, check)).not.toThrow();
    expect(resolveIoSpec(open, service({ x: { dims: [2, 3] } })).inputs[0]).not.toHaveProperty('anyRank');
  });

  it('does not batch an output of open rank', () => {
    const open: LoadedModelInfo = { ...info, inputs: [{ name: 'x', type: 'float32', dims: ['N', 2] }], outputs: [{ name: 'y', type: 'float32', dims: [], anyRank: true }] };
    expect(resolveIoSpec(open, service(undefined)).separability).toEqual({ kind: 'none', reason: "output 'y' has an open rank (no shape in the model)" });
  });

  it('batches a recurrent state output on its state input\'s axis when no dim is named', () => {
    const vad: LoadedModelInfo = {
      ...info,
      inputs: [{ name: 'input', type: 'float32', dims: ['', ''] }, { name: 'state', type: 'float32', dims: [2, '', 128] }],
      outputs: [{ name: 'output', type: 'float32', dims: ['', 1] }, { name: 'stateN', type: 'float32', dims: ['', '', ''] }],
    };
    const io = resolveIoSpec(vad, { ...service(undefined), stateful: { state: { state: 'stateN' } } });
    expect(io.inputAxes).toEqual({ input: 0, state: 1 });
    expect(io.outputAxes).toEqual({ output: 0, stateN: 1 });
  });
});

describe('io spec: names of Object.prototype members', () => {
  const model: LoadedModelInfo = {
    inputs: [
      { name: 'constructor', type: 'float32', dims: ['N', 2] },
      { name: 'toString', type: 'float32', dims: ['N', 2] },
    ],
    outputs: [{ name: 'valueOf', type: 'float32', dims: ['N', 2] }],
    memoryBytes: 0,
    executionProvider: 'cpu',
  };

  it('reads inputs named constructor and toString as request inputs, not as state (they were, through `in`)', () => {
    const io = resolveIoSpec(model, service(undefined));
    expect(io.inputs.map((i) => i.name)).toEqual(['constructor', 'toString']);
    expect(io.stateInputs).toEqual([]);
    expect(io.separability).toEqual({ kind: 'named' });
  });

  it('refuses a request without such an input as missing (not the inherited function as a tensor)', () => {
    const io = resolveIoSpec(model, service(undefined));
    expect(() => validateItem(io, { toString: tensor([1, 2]) }, check)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/missing input 'constructor'/) }));
    expect(() => validateItem(io, { constructor: tensor([1, 2]), toString: tensor([1, 2]) } as never, check)).not.toThrow();
  });
});

describe('io spec: the class of a tensor’s data', () => {
  const model: LoadedModelInfo = { inputs: [{ name: 'x', type: 'float32', dims: ['N', 2] }], outputs: [{ name: 'y', type: 'float32', dims: ['N', 2] }], memoryBytes: 0, executionProvider: 'cpu' };

  it('takes the type’s array of this realm or of another (by name), and refuses any other class', () => {
    const io = resolveIoSpec(model, service(undefined));
    const x = (data: unknown): Parameters<typeof validateItem>[1] => ({ x: { type: 'float32', dims: [1, 2], data: data as Float32Array } });
    expect(() => validateItem(io, x(new Float32Array(2)), check)).not.toThrow();
    expect(() => validateItem(io, x(runInNewContext('new Float32Array(2)')), check)).not.toThrow();
    for (const data of [new Float64Array(2), new Uint8Array(8), [0, 0], runInNewContext('new Int32Array(2)'), { length: 2, constructor: undefined }]) {
      expect(() => validateItem(io, x(data), check)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/data must be a Float32Array/) }));
    }
  });
});
