import { describe, expect, it } from 'vitest';
import { createGraphBuilder } from './graph-builder.js';
import { encodeModel } from './onnx-codec.js';
import { constantTensor } from './onnx-tensor.js';
import { externalTensors, refuseExternalDataInBytes } from './external-data.js';
import type { OnnxModel, OnnxTensor } from './onnx-types.js';

const toExternal = (t: OnnxTensor, location: string | undefined, how: 'both' | 'flag' = 'both'): void => {
  delete t.rawData;
  t.dataLocation = 1;
  if (how !== 'flag') t.externalData = [...(location === undefined ? [] : [{ key: 'location', value: location }]), { key: 'offset', value: '0' }];
};

function model(): OnnxModel {
  const g = createGraphBuilder({ name: 'm' });
  g.input('x', 'float32', ['N', 4]);
  g.node('Add', ['x', g.constant('w', 'float32', [4], [1, 2, 3, 4])], ['h']);
  g.node('Mul', ['h', g.constant('big', 'float32', [1024], new Float32Array(1024).fill(0.5))], ['y']);
  g.output('y', 'float32', ['N', 1024]);
  return g.toModel();
}

describe('externalTensors', () => {
  it('finds none in a model whose weights are inline (large raw data skipped)', () => {
    expect(externalTensors(encodeModel(model()))).toEqual([]);
  });

  it('finds graph initializers stored as external data (data_location EXTERNAL), with or without a location', () => {
    const m = model();
    toExternal(m.graph!.initializer![0]!, 'weights/w.bin');
    toExternal(m.graph!.initializer![1]!, undefined, 'flag');
    expect(externalTensors(encodeModel(m))).toEqual([
      { name: 'w', location: 'weights/w.bin' },
      { name: 'big', location: undefined },
    ]);
  });

  it('takes external_data entries without data_location EXTERNAL for inline data, as onnxruntime does', () => {
    const e = model();
    e.graph!.initializer![1]!.externalData = [{ key: 'location', value: 'big.bin' }];
    expect(externalTensors(encodeModel(e))).toEqual([]);
  });

  it("finds a Constant's tensor and the initializers of subgraphs (an If's branches)", () => {
    const m = model();
    const value = constantTensor('c', 'float32', [2], [1, 2]);
    toExternal(value, 'c.bin');
    const branch = (name: string, t: OnnxTensor) => ({ name, node: [{ opType: 'Identity', input: [t.name!], output: [`${name}_out`] }], initializer: [t], output: [{ name: `${name}_out`, type: { tensorType: { elemType: 1 } } }] });
    const inner = constantTensor('inner', 'float32', [2], [3, 4]);
    toExternal(inner, 'deep/inner.bin');
    m.graph!.node!.push({ opType: 'Constant', input: [], output: ['k'], attribute: [{ name: 'value', type: 4, t: value }] });
    m.graph!.node!.push({ opType: 'If', input: ['cond'], output: ['z'], attribute: [{ name: 'then_branch', type: 5, g: branch('then', inner) }, { name: 'else_branch', type: 5, g: branch('else', constantTensor('e', 'float32', [2], [0, 0])) }] });
    expect(externalTensors(encodeModel(m))).toEqual([
      { name: 'c', location: 'c.bin' },
      { name: 'inner', location: 'deep/inner.bin' },
    ]);
  });

  it('reads what it can of bytes that are no model, without throwing', () => {
    const m = model();
    toExternal(m.graph!.initializer![0]!, 'w.bin');
    const bytes = encodeModel(m);
    expect(() => externalTensors(bytes.subarray(0, bytes.length - 7))).not.toThrow();
    expect(externalTensors(new TextEncoder().encode('not a model at all'))).toEqual([]);
    expect(externalTensors(new Uint8Array(0))).toEqual([]);
    expect(externalTensors(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toEqual([]);
  });

  it('refuseExternalDataInBytes: LOAD_FAILED naming the initializer and its file', () => {
    const m = model();
    toExternal(m.graph!.initializer![0]!, 'w.bin');
    toExternal(m.graph!.initializer![1]!, 'big.bin');
    expect(() => refuseExternalDataInBytes(encodeModel(m))).toThrow(expect.objectContaining({ code: 'LOAD_FAILED', details: { initializer: 'w', location: 'w.bin' } }));
    expect(() => refuseExternalDataInBytes(encodeModel(m))).toThrow(/initializer 'w' \(and 1 more\) is stored as external data in 'w\.bin'/);
    expect(() => refuseExternalDataInBytes(encodeModel(model()))).not.toThrow();
  });
});
