import { invalidOption } from '@epara/core';
import { decodeModel } from './onnx-codec.js';
import { onnxElemBytes, type OnnxGraph, type OnnxNode, type OnnxTensor } from './onnx-types.js';

/** Options of {@link balancedCuts}. */
export interface BalancedCutsOptions {
  /** Stages wanted (the result has `stages − 1` cuts, or fewer when the graph has too few cut points). */
  readonly stages: number;
}

/** Cuts chosen by {@link balancedCuts}, with the weight bytes each stage would hold. */
export interface BalancedCuts {
  /** Pass to `splitModel({ cutTensors })`. */
  readonly cutTensors: readonly string[];
  /** Weight bytes (initializers and `Constant` tensors) per stage, in order. */
  readonly stageWeightBytes: readonly number[];
}

/**
 * Chooses cut tensors that divide a model's weights into `stages` parts as evenly as possible — the split a
 * memory-bound model needs when its weights do not fit one device. Each stage is what `splitModel` will make
 * of the cut (the cut value's ancestors not in an earlier stage), so the weights are counted exactly; among
 * cuts equally close to an even share, fewer values crossing the cut win (less data between devices), then
 * later cuts. Weights read by several stages count for each.
 *
 * @throws EparaError `INVALID_OPTIONS` for a stage count that is not an integer ≥ 2; `INVALID_INPUT` for bytes
 * that are not a model.
 * @example
 * ```ts
 * const { cutTensors } = balancedCuts(bytes, { stages: 2 });
 * const [first, second] = splitModel(bytes, { cutTensors });
 * ```
 */
export function balancedCuts(modelBytes: Uint8Array, options: BalancedCutsOptions): BalancedCuts {
  const stages = options?.stages;
  if (typeof stages !== 'number' || !Number.isInteger(stages) || stages < 2) invalidOption('stages', stages, 'an integer ≥ 2');
  const graph = decodeModel(modelBytes).graph!;
  const { nodes, reads } = weighNodes(graph);
  const weightsOf = (set: readonly boolean[]): number => {
    const seen = new Set<string>();
    let bytes = 0;
    set.forEach((inside, i) => inside && reads[i]!.forEach(([name, b]) => !seen.has(name) && (seen.add(name), (bytes += b))));
    return bytes;
  };
  const total = weightsOf(nodes.map(() => true));
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o && producer.set(o, i)));
  const readers = nodes.map(() => [] as number[]);
  nodes.forEach((n, i) => (n.input ?? []).forEach((v) => producer.has(v) && readers[producer.get(v)!]!.push(i)));
  const graphOutputs = new Set((graph.output ?? []).map((v) => v.name!));
  let done = nodes.map(() => false);
  const cutTensors: string[] = [];
  const stageWeightBytes: number[] = [];
  let before = 0;
  for (let k = 1; k < stages; k++) {
    const target = (total * k) / stages;
    let best: { i: number; set: boolean[]; weight: number; score: number } | undefined;
    nodes.forEach((_, i) => {
      if (done[i]) return;
      const set = closure(i, done, nodes, producer);
      if (set.every(Boolean)) return; // nothing would be left for the last stage
      const weight = weightsOf(set);
      const crossing = set.filter((inside, j) => inside && !done[j] && (readers[j]!.some((r) => !set[r]) || (nodes[j]!.output ?? []).some((o) => graphOutputs.has(o)))).length;
      const score = Math.abs(weight - target) / Math.max(1, total) + 0.002 * crossing;
      if (best === undefined || score <= best.score) best = { i, set, weight, score };
    });
    if (best === undefined) break;
    cutTensors.push(nodes[best.i]!.output![0]!);
    stageWeightBytes.push(best.weight - before);
    before = best.weight;
    done = best.set;
  }
  stageWeightBytes.push(total - before);
  return { cutTensors, stageWeightBytes };
}

/** Nodes already in earlier stages plus node `i` and its ancestors. */
function closure(i: number, done: readonly boolean[], nodes: readonly OnnxNode[], producer: ReadonlyMap<string, number>): boolean[] {
  const set = [...done];
  const stack = [i];
  while (stack.length > 0) {
    const j = stack.pop()!;
    if (set[j]) continue;
    set[j] = true;
    for (const v of nodes[j]!.input ?? []) {
      const p = producer.get(v);
      if (p !== undefined && !set[p]) stack.push(p);
    }
  }
  return set;
}

/** Non-Constant nodes in order, with the weights (name, bytes) each reads. */
function weighNodes(graph: OnnxGraph): { nodes: OnnxNode[]; reads: [string, number][][] } {
  const weights = new Map<string, number>();
  for (const t of graph.initializer ?? []) if (t.name) weights.set(t.name, tensorBytes(t));
  for (const n of graph.node ?? []) {
    if (n.opType === 'Constant' && n.output?.[0]) weights.set(n.output[0], tensorBytes(n.attribute?.find((a) => a.name === 'value')?.t ?? {}));
  }
  const nodes = (graph.node ?? []).filter((n) => n.opType !== 'Constant');
  const reads = nodes.map((n) => (n.input ?? []).filter((v) => weights.has(v)).map((v): [string, number] => [v, weights.get(v)!]));
  return { nodes, reads };
}

/** Bytes of a weight: its raw data, else (typed fields, external data) its element count times its element size. */
function tensorBytes(t: OnnxTensor): number {
  if (t.rawData) return t.rawData.byteLength;
  const count = (t.dims ?? []).reduce((a, b) => a * b, 1);
  if (t.stringData) return t.stringData.reduce((n, s) => n + s.byteLength, 0);
  return count * (onnxElemBytes(t.dataType ?? 0) ?? 4);
}
