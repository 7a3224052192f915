import { ONNX_DATA_TYPE, type OnnxAttribute, type OnnxGraph, type OnnxNode, type OnnxType } from './onnx-types.js';

const BOOL_OPS = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'NonMaxSuppression']);

/**
 * Element type (ONNX code) of every named value in a graph: from declared inputs, outputs, value infos and
 * initializers, then propagated through the nodes in order with a small rule set (comparisons and Dropout's
 * mask give bool; `Shape`, `ArgMax` and friends give int64; `Cast` gives its `to`, `CastLike` its target's type;
 * `ConstantOfShape`/`Constant` give their tensor's type; the second output of `TopK` is int64; `If`, `Loop`
 * and `Scan` give their subgraph's output types; the quantization ops their quantized or real type; the
 * ai.onnx.ml classifiers an int64 or string label and float scores, its encoders and regressors their own types;
 * anything else keeps its first typed input's type).
 * Enough to type the boundary values of a split; shapes are left to onnxruntime.
 */
export function inferElemTypes(graph: OnnxGraph, outer?: ReadonlyMap<string, number>): Map<string, number> {
  const types = new Map<string, number>(outer);
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    const t = v.type?.tensorType?.elemType;
    if (v.name && t) types.set(v.name, t);
  }
  for (const t of graph.initializer ?? []) if (t.name && t.dataType) types.set(t.name, t.dataType);
  for (const t of graph.sparseInitializer ?? []) if (t.values?.name && t.values.dataType) types.set(t.values.name, t.values.dataType);
  for (const node of graph.node ?? []) {
    (node.output ?? []).forEach((out, i) => {
      if (out === '' || types.has(out)) return;
      const t = outputType(node, i, types);
      if (t !== undefined) types.set(out, t);
    });
  }
  return types;
}

function outputType(node: OnnxNode, index: number, types: Map<string, number>): number | undefined {
  const op = node.opType ?? '';
  const attr = (name: string): OnnxAttribute | undefined => node.attribute?.find((a) => a.name === name);
  const inputType = (i: number): number | undefined => types.get(node.input?.[i] ?? '');
  const dtype = (fallback: number | undefined): number | undefined => {
    const d = attr('dtype')?.i;
    return d === undefined ? fallback : Number(d);
  };
  if (BOOL_OPS.has(op) || (op === 'Dropout' && index === 1)) return ONNX_DATA_TYPE.bool;
  // Control flow: the type of the subgraph's output this node output stands for.
  if (op === 'If') return branchType(attr('then_branch')?.g, index, types) ?? branchType(attr('else_branch')?.g, index, types);
  if (op === 'Loop') return branchType(attr('body')?.g, index + 1, types);
  if (op === 'Scan') return branchType(attr('body')?.g, index, types);
  if (op === 'QuantizeLinear') return inputType(2) ?? ONNX_DATA_TYPE.uint8;
  if (op === 'DequantizeLinear') return inputType(1) ?? ONNX_DATA_TYPE.float32;
  if (op === 'DynamicQuantizeLinear') return index === 1 ? ONNX_DATA_TYPE.float32 : ONNX_DATA_TYPE.uint8;
  if (op === 'QLinearMatMul' || op === 'QLinearConv') return inputType(7);
  if (op === 'MatMulInteger' || op === 'ConvInteger') return ONNX_DATA_TYPE.int32;
  if (op === 'CastLike') return inputType(1);
  if (op === 'OneHot') return inputType(2);
  if (op === 'Unique' && index > 0) return ONNX_DATA_TYPE.int64;
  if (op === 'EyeLike' || op === 'RandomNormalLike' || op === 'RandomUniformLike' || op === 'Bernoulli') return dtype(inputType(0));
  if (op === 'RandomNormal' || op === 'RandomUniform') return dtype(ONNX_DATA_TYPE.float32);
  if (op === 'Multinomial') return dtype(ONNX_DATA_TYPE.int32);
  if (INT64_OPS.has(op) || (op === 'TopK' && index === 1) || (op === 'MaxPool' && index === 1)) return ONNX_DATA_TYPE.int64;
  if (op === 'Cast') {
    const to = attr('to')?.i;
    return to === undefined ? undefined : Number(to);
  }
  if (op === 'Constant' || op === 'ConstantOfShape') return attr('value')?.t?.dataType ?? ONNX_DATA_TYPE.float32;
  if (op === 'Where') return types.get(node.input?.[1] ?? '');
  const ml = mlOutputType(op, index, attr, inputType(0));
  if (ml !== undefined) return ml;
  for (const input of node.input ?? []) {
    const t = types.get(input);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** Classifiers of ai.onnx.ml: a label (int64, or string with string class labels) and float scores. */
const CLASSIFIERS = new Set(['LinearClassifier', 'SVMClassifier', 'TreeEnsembleClassifier']);
/** ai.onnx.ml ops whose only output is float whatever their input. */
const FLOAT_ML_OPS = new Set(['LinearRegressor', 'SVMRegressor', 'TreeEnsembleRegressor', 'Normalizer', 'Scaler', 'OneHotEncoder', 'FeatureVectorizer', 'TfIdfVectorizer']);

/**
 * Output types of the ops whose outputs are not of their first input's type beyond the rules above: the
 * ai.onnx.ml classifiers, encoders and regressors (what sklearn-onnx exports), and the string ops.
 */
function mlOutputType(op: string, index: number, attr: (name: string) => OnnxAttribute | undefined, input: number | undefined): number | undefined {
  const T = ONNX_DATA_TYPE;
  if (CLASSIFIERS.has(op)) return index === 0 ? (attr('classlabels_strings') ? T.string : T.int64) : T.float32;
  if (FLOAT_ML_OPS.has(op)) return T.float32;
  // Strings to int64 and back.
  if (op === 'CategoryMapper') return input === T.string ? T.int64 : T.string;
  if (op === 'LabelEncoder') {
    if (attr('values_strings')) return T.string;
    if (attr('values_int64s')) return T.int64;
    if (attr('values_floats')) return T.float32;
    return attr('values_tensor')?.t?.dataType;
  }
  if (op === 'RegexFullMatch') return T.bool;
  if (op === 'StringSplit') return index === 0 ? T.string : T.int64;
  return undefined;
}

/** Element type of output `index` of a subgraph: declared, or inferred inside it (outer values visible). */
function branchType(graph: OnnxGraph | undefined, index: number, outer: ReadonlyMap<string, number>): number | undefined {
  const out = graph?.output?.[index];
  if (graph === undefined || out === undefined) return undefined;
  return out.type?.tensorType?.elemType || inferElemTypes(graph, outer).get(out.name ?? '');
}

/** Ops whose outputs are sequences (of tensors; `ZipMap`'s of maps). */
const SEQUENCE_OPS = new Set(['SequenceConstruct', 'SequenceEmpty', 'SequenceInsert', 'SequenceErase', 'SplitToSequence', 'SequenceMap', 'ZipMap']);

/** What a value that is not a tensor is, as a message names it. */
export type NonTensorKind = 'a sequence' | 'a map' | 'an optional' | 'a sparse tensor';

function kindOfType(t: OnnxType | undefined): NonTensorKind | undefined {
  if (t === undefined || t.tensorType !== undefined) return undefined;
  if (t.sequenceType !== undefined) return 'a sequence';
  if (t.mapType !== undefined) return 'a map';
  if (t.optionalType !== undefined) return 'an optional';
  if (t.sparseTensorType !== undefined) return 'a sparse tensor';
  return undefined;
}

/**
 * The values of a graph that are not tensors, with what they are: as declared (inputs, outputs, value infos),
 * else by the node that makes them — the sequence ops and `ZipMap` make sequences, `Optional` an optional,
 * `Identity` passes its input's kind on, `If` and `Loop` their subgraph's declared output's. onnxruntime-node can
 * neither feed nor return such a value, so no stage boundary may carry one.
 */
export function nonTensorValues(graph: OnnxGraph): Map<string, NonTensorKind> {
  const kinds = new Map<string, NonTensorKind>();
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    const k = kindOfType(v.type);
    if (v.name && k) kinds.set(v.name, k);
  }
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    (node.output ?? []).forEach((out, i) => {
      if (out === '' || kinds.has(out)) return;
      let k: NonTensorKind | undefined;
      if (SEQUENCE_OPS.has(op)) k = 'a sequence';
      else if (op === 'Optional') k = 'an optional';
      else if (op === 'Identity') k = kinds.get(node.input?.[0] ?? '');
      else if (op === 'If' || op === 'Loop') {
        const branch = node.attribute?.find((a) => a.name === (op === 'If' ? 'then_branch' : 'body'))?.g;
        k = kindOfType(branch?.output?.[op === 'If' ? i : i + 1]?.type);
      }
      if (k) kinds.set(out, k);
    });
  }
  return kinds;
}
