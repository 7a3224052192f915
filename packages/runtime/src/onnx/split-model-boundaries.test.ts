import { describe, expect, it } from 'vitest';
import type { NamedTensors, TensorLike } from '@epara/core';
import { createGraphBuilder, type GraphBuilder } from './graph-builder.js';
import { decodeModel, encodeModel } from './onnx-codec.js';
import { buildMlp } from './models/mlp.js';
import { constantTensor } from './onnx-tensor.js';
import { ONNX_ATTRIBUTE_TYPE, type OnnxGraph } from './onnx-types.js';
import { splitModel, type ModelStage } from './split-model.js';
import { runWithOrt } from './testing/run-with-ort.js';

/*
 * Graphs whose outputs or cut values are not plain node outputs of a float type: a graph output that is a graph
 * input or an initializer (no node produces it), and cut values whose element type differs from the first
 * input of the node that makes them (If, Loop, Dropout's mask, QuantizeLinear, CastLike). Every split must give
 * the whole model's outputs, exactly.
 */

async function runStages(stages: readonly ModelStage[], feeds: NamedTensors): Promise<Record<string, TensorLike>> {
  const values: Record<string, TensorLike> = { ...feeds };
  for (const stage of stages) Object.assign(values, await runWithOrt(stage.bytes, Object.fromEntries(stage.inputs.map((n) => [n, values[n]!]))));
  return values;
}

async function expectSplitAnswersAsWhole(bytes: Uint8Array, cutTensors: string[], feeds: NamedTensors): Promise<void> {
  const whole = await runWithOrt(bytes, feeds);
  const stages = splitModel(bytes, { cutTensors });
  const staged = await runStages(stages, feeds);
  const produced = new Set(stages.flatMap((s) => s.outputs));
  for (const [name, t] of Object.entries(whole)) {
    expect(produced.has(name), `graph output ${name} is an output of some stage`).toBe(true);
    expect({ name, type: staged[name]?.type, dims: staged[name]?.dims, data: Array.from(staged[name]?.data as ArrayLike<unknown>) }).toEqual({ name, type: t.type, dims: t.dims, data: Array.from(t.data as ArrayLike<unknown>) });
  }
}

const build = (name: string, f: (g: GraphBuilder) => void, opset = 17): Uint8Array => {
  const g = createGraphBuilder({ name });
  f(g);
  return g.toBytes({ opset });
};
const x = (): NamedTensors => ({ x: { type: 'float32', dims: [2, 3], data: new Float32Array([0.5, -1, 2, 3.25, -0.75, 1]) } });

describe('splitModel: graph outputs no node produces, and cut values of other element types', () => {
  it('returns a graph output that is the graph input itself, and one that is an initializer', async () => {
    const bytes = build('pass', (g) => {
      g.input('x', 'float32', ['N', 3]);
      g.constant('labels', 'int64', [2], [7n, 9n]);
      g.node('Relu', ['x'], ['h']);
      g.node('Neg', ['h'], ['y']);
      g.output('x', 'float32', ['N', 3]);
      g.output('labels', 'int64', [2]);
      g.output('y', 'float32', ['N', 3]);
    });
    await expectSplitAnswersAsWhole(bytes, ['h'], x());
  });

  it('types a cut at the output of an If (its branches\' type, not the bool condition\'s)', async () => {
    const g = createGraphBuilder({ name: 'if' });
    g.input('x', 'float32', ['N', 3]);
    g.node('ReduceSum', ['x'], ['s'], { keepdims: 0 });
    g.node('Greater', ['s', g.constant('zero', 'float32', [], [0])], ['cond']);
    const two = g.constant('two', 'float32', [], [2]);
    g.output('y', 'float32', ['N', 3]);
    const model = g.toModel();
    const branch = (name: string, op: string): OnnxGraph => ({
      name,
      node: [{ opType: op, input: ['x'], output: [`${name}_out`], name: `${name}_op` }],
      output: [{ name: `${name}_out`, type: { tensorType: { elemType: 1 } } }],
    });
    model.graph!.node!.push(
      {
        opType: 'If',
        input: ['cond'],
        output: ['picked'],
        name: 'if',
        attribute: [
          { name: 'then_branch', type: ONNX_ATTRIBUTE_TYPE.GRAPH, g: branch('then', 'Relu') },
          { name: 'else_branch', type: ONNX_ATTRIBUTE_TYPE.GRAPH, g: branch('else', 'Neg') },
        ],
      },
      { opType: 'Mul', input: ['picked', two], output: ['y'], name: 'mul' },
    );
    await expectSplitAnswersAsWhole(encodeModel(model), ['picked'], x());
  });

  it('types cuts at Dropout’s mask (bool), QuantizeLinear (its zero point’s type) and CastLike (its target’s)', async () => {
    const bytes = build('mixed', (g) => {
      g.input('x', 'float32', ['N', 3]);
      g.node('Dropout', ['x'], ['d', 'mask']);
      g.node('QuantizeLinear', ['d', g.constant('scale', 'float32', [], [0.1]), g.constant('zp', 'int8', [], [3])], ['q']);
      g.node('CastLike', ['x', g.constant('like', 'int32', [], [0])], ['c']);
      g.node('Cast', ['mask'], ['m'], { to: 6 });
      g.node('Cast', ['q'], ['qi'], { to: 6 });
      g.node('Add', ['m', 'qi'], ['s']);
      g.node('Add', ['s', 'c'], ['y']);
      g.output('y', 'int32', ['N', 3]);
    });
    await expectSplitAnswersAsWhole(bytes, ['mask', 'q', 'c'], x());
  });
});

describe('splitModel: value infos of a traced shape', () => {
  it('does not fix a cut value to the batch the exporter traced with (value_info [1, 16]): stages run at any batch, as the whole model does', async () => {
    const model = decodeModel(buildMlp({ inputSize: 8, hidden: [16, 16], outputs: 2, seed: 1 }));
    model.graph!.valueInfo = [{ name: 'h0', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 16 }] } } } }];
    const feeds: NamedTensors = { x: { type: 'float32', dims: [3, 8], data: Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)) } };
    await expectSplitAnswersAsWhole(encodeModel(model), ['h0'], feeds);
  });
});

describe('splitModel and the codec keep what a graph may hold beyond nodes and dense initializers', () => {
  /** `y = AddOne(relu(x)) · w` where AddOne is a model-local function (domain `local`), w a sparse initializer. */
  function functionModel(): Uint8Array {
    const g = createGraphBuilder({ name: 'local-functions' });
    g.input('x', 'float32', ['N', 3]);
    g.node('Relu', ['x'], ['r']);
    g.output('y', 'float32', ['N', 3]);
    const model = g.toModel();
    model.opsetImport!.push({ domain: 'local', version: 1 });
    model.graph!.node!.push(
      { opType: 'AddOne', domain: 'local', input: ['r'], output: ['a'], name: 'add_one' },
      { opType: 'Mul', input: ['a', 'w'], output: ['y'], name: 'mul' },
    );
    const one = constantTensor('one_value', 'float32', [], [1]);
    model.functions = [
      {
        name: 'AddOne',
        domain: 'local',
        input: ['v'],
        output: ['out'],
        opsetImport: [{ domain: '', version: 17 }],
        node: [
          { opType: 'Constant', input: [], output: ['one'], name: 'one', attribute: [{ name: 'value', type: ONNX_ATTRIBUTE_TYPE.TENSOR, t: one }] },
          { opType: 'Add', input: ['v', 'one'], output: ['out'], name: 'add' },
        ],
      },
    ];
    // w = [2, 0, -3] as a sparse tensor: values at indices 0 and 2.
    model.graph!.sparseInitializer = [
      { values: constantTensor('w', 'float32', [2], [2, -3]), indices: constantTensor('w_indices', 'int64', [2], [0n, 2n]), dims: [3] },
    ];
    return encodeModel(model);
  }

  it('a model-local function and a sparse initializer survive a decode → encode round trip', async () => {
    const bytes = functionModel();
    const whole = await runWithOrt(bytes, x());
    const again = await runWithOrt(encodeModel(decodeModel(bytes)), x());
    expect(Array.from(again['y']!.data as Float32Array)).toEqual(Array.from(whole['y']!.data as Float32Array));
  });

  it('stages that call a model-local function or read a sparse initializer carry them', async () => {
    await expectSplitAnswersAsWhole(functionModel(), ['r'], x());
  });
});

describe('splitModel: values that are not tensors never cross between stages', () => {
  /** `s = [x, 2x]` (a sequence), `y = concat(s)`; `h = relu(x)` beside it, so that a cut may leave `s` inside one stage. */
  const sequenceModel = (declare: boolean): Uint8Array => {
    const g = createGraphBuilder({ name: 'sequence' });
    g.input('x', 'float32', ['N', 3]);
    g.node('Relu', ['x'], ['h']);
    g.node('Mul', ['h', g.constant('two', 'float32', [], [2])], ['d']);
    g.node('SequenceConstruct', ['h', 'd'], ['s']);
    g.node('ConcatFromSequence', ['s'], ['y'], { axis: 0 });
    g.output('y', 'float32', ['M', 3]);
    const m = g.toModel();
    if (declare) m.graph!.valueInfo = [{ name: 's', type: { sequenceType: { elemType: { tensorType: { elemType: 1 } } } } }];
    return encodeModel(m);
  };

  it.each([false, true])('refuses a cut at a sequence (declared in value infos: %s) with INVALID_OPTIONS naming it, instead of stages that cannot load or hand it on', (declare) => {
    expect(() => splitModel(sequenceModel(declare), { cutTensors: ['s'] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/'s' .*a sequence/) }));
  });

  it('refuses a cut that leaves a sequence crossing to a later stage (not itself a cut)', () => {
    // s is made in stage 0 (with the cut s_copy) and read in the last stage (after the cut h).
    const g = createGraphBuilder({ name: 'crossing' });
    g.input('x', 'float32', ['N', 3]);
    g.node('SequenceConstruct', ['x', 'x'], ['s']);
    g.node('Relu', ['x'], ['h']);
    g.node('SequenceInsert', ['s', 'h'], ['s2']);
    g.node('ConcatFromSequence', ['s2'], ['y'], { axis: 0 });
    g.output('y', 'float32', ['M', 3]);
    g.node('Identity', ['s'], ['s_copy']);
    const bytes = g.toBytes();
    expect(() => splitModel(bytes, { cutTensors: ['s_copy', 'h'] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(/'s' .*a sequence/) }));
  });

  it.each([
    ['int4', 22],
    ['uint4', 21],
    ['bfloat16', 16],
  ])('refuses a cut at a %s tensor with INVALID_OPTIONS naming it: onnxruntime-node cannot hand one from stage to stage', (type, code) => {
    // x → q (quantized, or cast to bfloat16) → y: q is made by one node and read by the next.
    const g = createGraphBuilder({ name: `cut-${type}` });
    g.input('x', 'float32', ['N', 4]);
    if (code === 16) g.node('Cast', ['x'], ['q'], { to: code });
    else g.node('QuantizeLinear', ['x', g.constant('scale', 'float32', [], [0.5]), g.constant('zero', 'int8', [], [0])], ['q']);
    g.node(code === 16 ? 'Cast' : 'DequantizeLinear', code === 16 ? ['q'] : ['q', 'scale'], ['y'], code === 16 ? { to: 1 } : {});
    g.output('y', 'float32', ['N', 4]);
    const m = g.toModel({ irVersion: 10, opset: 21 });
    const zero = m.graph!.initializer!.find((t) => t.name === 'zero');
    if (zero) {
      zero.dataType = code;
      zero.rawData = new Uint8Array([0]);
    }
    expect(() => splitModel(encodeModel(m), { cutTensors: ['q'] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(new RegExp(`'q' .*element type ${code} \\(${type}\\)`)) }));
  });

  it('returns a graph output that a later stage also reads from the last stage, which takes it in and hands it back', async () => {
    const bytes = build('read-on', (g) => {
      g.input('x', 'float32', ['N', 3]);
      g.node('Relu', ['x'], ['h']);
      g.node('Neg', ['h'], ['y']);
      g.node('ReduceSum', ['y', g.constant('down', 'int64', [1], [0])], ['m'], { keepdims: 0 });
      g.output('y', 'float32', ['N', 3]);
      g.output('m', 'float32', [3]);
    });
    const stages = splitModel(bytes, { cutTensors: ['h', 'y'] });
    expect(stages.map((st) => [st.inputs, st.outputs])).toEqual([
      [['x'], ['h']],
      [['h'], ['y']],
      [['y'], ['m', 'y']],
    ]);
    await expectSplitAnswersAsWhole(bytes, ['h', 'y'], x());
  });

  it('splits a model whose sequence stays inside one stage, and answers as the whole model', async () => {
    await expectSplitAnswersAsWhole(sequenceModel(false), ['d'], x());
    await expectSplitAnswersAsWhole(sequenceModel(true), ['h'], x());
  });
});
