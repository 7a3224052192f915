import { describe, expect, it } from 'vitest';
import type { NamedTensors, TensorLike } from '@epara/core';
import { createGraphBuilder, type AttributeValue } from './graph-builder.js';
import { encodeModel } from './onnx-codec.js';
import { ONNX_DATA_TYPE, type OnnxModel } from './onnx-types.js';
import { splitModel } from './split-model.js';
import { runWithOrt } from './testing/run-with-ort.js';
import { inferElemTypes } from './value-types.js';

/*
 * The element types a split gives the values it cuts at, for ops whose outputs are not of their first input's type:
 * sklearn-onnx's classifiers (an int64 or string label beside float scores), the category and label encoders, the
 * string ops. A wrong type made a stage that onnxruntime refuses to load, for a cut that is valid.
 */

/** Marks the model's nodes of `ops` as of the ai.onnx.ml domain (opset 3). */
function ml(m: OnnxModel, ops: readonly string[]): Uint8Array {
  for (const n of m.graph!.node!) if (ops.includes(n.opType!)) n.domain = 'ai.onnx.ml';
  m.opsetImport!.push({ domain: 'ai.onnx.ml', version: 3 });
  return encodeModel(m);
}

/** A linear classifier over 4 features with int64 or string labels; its outputs passed on through Identity. */
function classifier(labels: 'ints' | 'strings'): Uint8Array {
  const g = createGraphBuilder({ name: 'linear-classifier' });
  g.input('x', 'float32', [null, 4]);
  const coefficients = Array.from({ length: 12 }, (_, i) => ((i * 7) % 5) * 0.3 - 0.5);
  const classes: Record<string, AttributeValue> = labels === 'ints' ? { classlabels_ints: [0, 1, 2] } : {};
  g.node('LinearClassifier', ['x'], ['label', 'scores'], { ...classes, coefficients, intercepts: [0.1, -0.2, 0.3], post_transform: 'SOFTMAX' });
  g.node('Identity', ['label'], ['label_out']);
  g.node('Identity', ['scores'], ['scores_out']);
  g.output('label_out', labels === 'ints' ? 'int64' : 'string', [null]);
  g.output('scores_out', 'float32', [null, 3]);
  const m = g.toModel();
  // The builder writes string attributes one at a time; a list of strings is spelled here.
  if (labels === 'strings') m.graph!.node![0]!.attribute!.push({ name: 'classlabels_strings', type: 8, strings: ['cat', 'dog', 'eel'].map((s) => new TextEncoder().encode(s)) });
  return ml(m, ['LinearClassifier']);
}

const x = (): NamedTensors => ({ x: { type: 'float32', dims: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i * 1.7) * 3) } });

async function runStages(stages: readonly { bytes: Uint8Array }[], feeds: NamedTensors): Promise<Record<string, TensorLike>> {
  let values: Record<string, TensorLike> = { ...feeds };
  for (const s of stages) values = { ...values, ...(await runWithOrt(s.bytes, values)) };
  return values;
}

describe('element types of values a split cuts at', () => {
  it.each(['ints', 'strings'] as const)('a classifier cut at its %s label: the stages load and answer as the whole model', async (labels) => {
    const bytes = classifier(labels);
    const whole = await runWithOrt(bytes, x());
    const staged = await runStages(splitModel(bytes, { cutTensors: ['label'] }), x());
    for (const name of ['label_out', 'scores_out']) {
      expect(staged[name]!.type, name).toBe(whole[name]!.type);
      expect(Array.from(staged[name]!.data as ArrayLike<unknown>), name).toEqual(Array.from(whole[name]!.data as ArrayLike<unknown>));
    }
  });

  it('types the outputs of the ml encoders, regressors and the string ops', () => {
    const g = createGraphBuilder({ name: 'types' });
    g.input('s', 'string', ['N']);
    g.input('i', 'int64', ['N']);
    g.input('f', 'float32', ['N', 2]);
    g.node('CategoryMapper', ['s'], ['s2i'], { cats_strings: 'a' });
    g.node('CategoryMapper', ['i'], ['i2s'], { cats_int64s: [1] });
    g.node('LabelEncoder', ['s'], ['enc_f'], { values_floats: [0.5] });
    g.node('LabelEncoder', ['i'], ['enc_s'], { values_strings: 'x' });
    g.node('LabelEncoder', ['s'], ['enc_i'], { values_int64s: [3] });
    g.node('TreeEnsembleClassifier', ['f'], ['tree_label', 'tree_scores'], { classlabels_int64s: [0, 1] });
    g.node('SVMClassifier', ['f'], ['svm_label', 'svm_scores'], { classlabels_strings: 'a' });
    g.node('LinearRegressor', ['i'], ['reg']);
    g.node('Normalizer', ['i'], ['norm']);
    g.node('RegexFullMatch', ['s'], ['matched']);
    g.node('StringSplit', ['s'], ['parts', 'counts']);
    const types = inferElemTypes(g.toModel().graph!);
    const T = ONNX_DATA_TYPE;
    expect(Object.fromEntries(['s2i', 'i2s', 'enc_f', 'enc_s', 'enc_i', 'tree_label', 'tree_scores', 'svm_label', 'svm_scores', 'reg', 'norm', 'matched', 'parts', 'counts'].map((v) => [v, types.get(v)]))).toEqual({
      s2i: T.int64,
      i2s: T.string,
      enc_f: T.float32,
      enc_s: T.string,
      enc_i: T.int64,
      tree_label: T.int64,
      tree_scores: T.float32,
      svm_label: T.string,
      svm_scores: T.float32,
      reg: T.float32,
      norm: T.float32,
      matched: T.bool,
      parts: T.string,
      counts: T.int64,
    });
  });
});
