import { describe, expect, it } from 'vitest';
import type { LoadedModelInfo, ModelIoInfo } from '../devices/device-port.js';
import type { ExecutorServiceOptions } from './executor-options.js';
import { checkServableIo } from './servable-io.js';

const tensor = (name: string): ModelIoInfo => ({ name, type: 'float32', dims: ['N', 2] });
const info = (inputs: ModelIoInfo[], outputs: ModelIoInfo[]): LoadedModelInfo => ({ inputs, outputs, memoryBytes: 0, executionProvider: 'cpu' });
const service = (more: Partial<ExecutorServiceOptions> = {}): ExecutorServiceOptions => ({ id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 }, ...more });
const seq: ModelIoInfo = { name: 'seq', type: 'float32', dims: [], nonTensor: 'sequence' };

describe('what a loaded model can serve', () => {
  it('serves tensors, and a model whose non-tensor output is not fetched', () => {
    expect(() => checkServableIo(info([tensor('x')], [tensor('y')]), service())).not.toThrow();
    expect(() => checkServableIo(info([tensor('x')], [seq, tensor('y')]), service({ outputNames: ['y'] }))).not.toThrow();
  });

  it('refuses a fetched non-tensor output with LOAD_FAILED, naming it and the tensors to ask for', () => {
    expect(() => checkServableIo(info([tensor('x')], [seq, tensor('y')]), service())).toThrow(
      expect.objectContaining({ code: 'LOAD_FAILED', message: expect.stringMatching(/output 'seq' is a sequence \(not a tensor\).*outputNames \(tensors: y\)/) }),
    );
    const unknown: ModelIoInfo = { ...seq, nonTensor: 'unknown' };
    expect(() => checkServableIo(info([tensor('x')], [unknown]), service())).toThrow(/output 'seq' is not a tensor, which onnxruntime-node cannot return$/);
  });

  it('refuses a non-tensor input with LOAD_FAILED', () => {
    expect(() => checkServableIo(info([{ ...seq, nonTensor: 'map' }], [tensor('y')]), service())).toThrow(expect.objectContaining({ code: 'LOAD_FAILED', message: expect.stringMatching(/input 'seq' is a map/) }));
  });

  it('refuses an input or a fetched output of a type EPARA does not carry (int4, uint4) with LOAD_FAILED, and serves the model without it', () => {
    const int4 = { ...tensor('q'), type: 'int4' } as unknown as ModelIoInfo;
    const uint4 = { ...tensor('u'), type: 'uint4' } as unknown as ModelIoInfo;
    expect(() => checkServableIo(info([uint4], [tensor('y')]), service())).toThrow(expect.objectContaining({ code: 'LOAD_FAILED', message: expect.stringMatching(/input 'u' is a uint4 tensor \(a type onnxruntime-node does not hand over\)/) }));
    expect(() => checkServableIo(info([tensor('x')], [int4, tensor('y')]), service())).toThrow(
      expect.objectContaining({ code: 'LOAD_FAILED', message: expect.stringMatching(/output 'q' is an int4 tensor .*outputNames \(tensors: y\)/) }),
    );
    expect(() => checkServableIo(info([tensor('x')], [int4, tensor('y')]), service({ outputNames: ['y'] }))).not.toThrow();
  });

  it('refuses a model that names a value __proto__ (tensors are keyed by name in plain objects) with LOAD_FAILED', () => {
    expect(() => checkServableIo(info([tensor('__proto__')], [tensor('y')]), service())).toThrow(expect.objectContaining({ code: 'LOAD_FAILED', message: expect.stringMatching(/'__proto__'/) }));
  });

  it('refuses output and state names the model lacks with INVALID_OPTIONS', () => {
    const model = info([tensor('x'), tensor('h')], [tensor('y'), tensor('hN')]);
    expect(() => checkServableIo(model, service({ outputNames: ['z'] }))).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/outputNames.*\(y, hN\), got `z`/) }));
    expect(() => checkServableIo(model, service({ stateful: { state: { g: 'hN' } } }))).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => checkServableIo(model, service({ stateful: { state: { h: 'gN' } } }))).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => checkServableIo(model, service({ stateful: { state: { h: 'hN' } }, outputNames: ['y'] }))).not.toThrow();
  });
});
