import { ONNX_DATA_TYPE, type OnnxAttribute, type OnnxGraph, type OnnxNode } from './onnx-types.js';

const BOOL_OPS = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'NonMaxSuppression']);

/**
 * Element type (ONNX code) of every named value in a graph: from declared inputs, outputs, value infos and
 * initializers, then propagated through the nodes in order with a small rule set (comparisons give bool;
 * `Shape`, `ArgMax` and friends give int64; `Cast` gives its `to`; `ConstantOfShape`/`Constant` give their
 * tensor's type; the second output of `TopK` is int64; anything else keeps its first typed input's type).
 * Enough to type the boundary values of a split; shapes are left to onnxruntime.
 */
export function inferElemTypes(graph: OnnxGraph): Map<string, number> {
  const types = new Map<string, number>();
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    const t = v.type?.tensorType?.elemType;
    if (v.name && t) types.set(v.name, t);
  }
  for (const t of graph.initializer ?? []) if (t.name && t.dataType) types.set(t.name, t.dataType);
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
  if (BOOL_OPS.has(op)) return ONNX_DATA_TYPE.bool;
  if (INT64_OPS.has(op) || (op === 'TopK' && index === 1) || (op === 'MaxPool' && index === 1)) return ONNX_DATA_TYPE.int64;
  if (op === 'Cast') {
    const to = attr('to')?.i;
    return to === undefined ? undefined : Number(to);
  }
  if (op === 'Constant' || op === 'ConstantOfShape') return attr('value')?.t?.dataType ?? ONNX_DATA_TYPE.float32;
  if (op === 'Where') return types.get(node.input?.[1] ?? '');
  for (const input of node.input ?? []) {
    const t = types.get(input);
    if (t !== undefined) return t;
  }
  return undefined;
}
