import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { EparaError, invalidOption } from '@epara/core';
import { decodeModel, encodeModel } from './onnx-codec.js';
import { externalTensors } from './external-data.js';
import { ONNX_DATA_TYPE, onnxElemBytes, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxSparseTensor, type OnnxTensor, type OnnxValueInfo } from './onnx-types.js';
import { inferElemTypes, nonTensorValues } from './value-types.js';

/** The ONNX element type codes of the tensors EPARA carries. */
const CARRIED_CODES: ReadonlySet<number> = new Set(Object.values(ONNX_DATA_TYPE));

/** Names of the ONNX element types EPARA does not carry, for messages. */
const ELEM_NAMES: Readonly<Record<number, string>> = {
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
  17: 'float8e4m3fn',
  18: 'float8e4m3fnuz',
  19: 'float8e5m2',
  20: 'float8e5m2fnuz',
  21: 'uint4',
  22: 'int4',
  23: 'float4e2m1',
};
/** Options of {@link splitModel}. */
export interface SplitModelOptions {
  /**
   * Names of intermediate tensors to cut at, in pipeline order. Stage `i` computes everything cut `i`
   * depends on that earlier stages did not; the last stage computes the rest (the graph outputs).
   */
  readonly cutTensors: readonly string[];
  /**
   * The directory the model's external data files are in (the model file's own directory), for a model whose
   * weights are stored beside it (ONNX external data). Each stage is standalone bytes, which onnxruntime cannot
   * resolve a relative weight file from: the weights a stage uses are read from here into the stage.
   * Required when the model has external data.
   */
  readonly externalDataDir?: string;
}

/** One stage of a split model. */
export interface ModelStage {
  /** Position in the pipeline, from 0. */
  readonly index: number;
  /** The stage as a standalone ONNX model. */
  readonly bytes: Uint8Array;
  /** Values the stage reads: graph inputs or values earlier stages produced. */
  readonly inputs: readonly string[];
  /** Values the stage produces for later stages or as graph outputs. */
  readonly outputs: readonly string[];
  /** Operator nodes in the stage. */
  readonly nodeCount: number;
}

/**
 * Cuts an ONNX model into ordered stage models at the given tensors. Each stage holds its nodes, the
 * initializers they use (copied into every stage that needs them), inputs for what it consumes from earlier
 * stages or the graph inputs, and outputs for what later stages or the graph outputs need. Running the
 * stages in order, passing each stage the values it names as inputs, gives the whole model's outputs.
 *
 * @throws EparaError `INVALID_INPUT` for bytes that are not a model; `INVALID_OPTIONS` for a cut that is not
 * produced by a node, repeated, that would leave a stage empty, or that would pass a value that is not a tensor
 * (a sequence, a map, an optional) or a tensor of a type EPARA does not carry (int4, bfloat16…) from one stage to
 * another.
 * @example
 * ```ts
 * const stages = splitModel(buildMlp({ inputSize: 8, hidden: [16, 16], outputs: 2 }), { cutTensors: ['h0'] });
 * // stages[0]: x → h0; stages[1]: h0 → y
 * ```
 */
export function splitModel(modelBytes: Uint8Array, options: SplitModelOptions): ModelStage[] {
  const model = decodeModel(modelBytes);
  const graph = model.graph!;
  const cuts = validateCuts(graph, options?.cutTensors);
  // External weights read so far (one read per tensor, however many stages use it).
  const loaded = new Map<OnnxTensor, OnnxTensor>();
  // Every tensor stored as external data: the graph's initializers, Constant nodes' values, subgraphs'.
  const external = externalTensors(modelBytes);
  if (external.length > 0 && typeof options.externalDataDir !== 'string') {
    invalidOption('externalDataDir', options.externalDataDir, `the directory of the model's external data files (initializer ${external[0]!.name} is stored in ${external[0]!.location ?? '?'})`);
  }
  const inline = (t: OnnxTensor): OnnxTensor => (isExternal(t) ? inlined(t, options.externalDataDir!, loaded) : t);
  const stageOf = assignStages(graph, cuts);
  const types = inferElemTypes(graph);
  const nonTensor = nonTensorValues(graph);
  const graphInputs = new Set((graph.input ?? []).map((v) => v.name!));
  // Dense and sparse constants alike: copied into every stage that reads them.
  const sparseOf = (t: OnnxSparseTensor): string => t.values?.name ?? '';
  const initializerNames = new Set([...(graph.initializer ?? []).map((t) => t.name!), ...(graph.sparseInitializer ?? []).map(sparseOf)]);
  const graphOutputs = new Set((graph.output ?? []).map((v) => v.name!));
  const nodes = graph.node ?? [];
  const stageCount = cuts.length + 1;
  // Constant nodes are copied into every stage that reads them, like initializers, instead of being passed on.
  const constants = new Map<string, OnnxNode>();
  for (const n of nodes) if (isConstantNode(n)) constants.set(n.output![0]!, n);
  // Stage that produces each value (-1: graph input); the last stage that reads it.
  const producer = new Map<string, number>();
  const lastReader = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (isConstantNode(n)) return;
    for (const o of n.output ?? []) if (o) producer.set(o, stageOf[i]!);
    for (const v of nodeReads(n)) lastReader.set(v, Math.max(lastReader.get(v) ?? -1, stageOf[i]!));
  });
  const stages: ModelStage[] = [];
  // Graph outputs no (non-Constant) node produces — a graph input or an initializer returned as it is, a
  // Constant's value — are the last stage's: it reads them and returns them.
  const unproduced = [...graphOutputs].filter((v) => !producer.has(v));
  // A graph output a later stage also reads (`y` returned and summed on): the last stage takes it and returns it
  // too, so that the pipeline, which returns what no later stage reads, returns it (it was read as internal, and
  // dropped from every answer).
  const readOn = [...graphOutputs].filter((v) => producer.has(v) && producer.get(v)! < stageCount - 1 && (lastReader.get(v) ?? -1) > producer.get(v)!);
  const lastReads = [...unproduced, ...readOn];
  for (let s = 0; s < stageCount; s++) {
    const ownNodes = nodes.filter((n, i) => stageOf[i] === s && !isConstantNode(n));
    const reads = [...new Set([...ownNodes.flatMap(nodeReads), ...(s === stageCount - 1 ? lastReads : [])])];
    const stageNodes = [...reads.flatMap((v) => constants.get(v) ?? []), ...ownNodes];
    const produced = new Set(stageNodes.flatMap((n) => n.output ?? []).filter((o) => o));
    const inputs = reads.filter((v) => !produced.has(v) && !initializerNames.has(v) && (graphInputs.has(v) || producer.has(v)));
    // A sequence, map or optional between stages: onnxruntime-node can neither return it from one nor feed it to the
    // next; nor a tensor of a type EPARA does not carry (int4 returned ends the process out of memory, bfloat16 at a
    // boundary fails the stage's load).
    for (const v of inputs) {
      if (!producer.has(v)) continue;
      const kind = nonTensor.get(v);
      const code = types.get(v);
      const uncarried = kind === undefined && code !== undefined && !CARRIED_CODES.has(code) ? `a tensor of ONNX element type ${code}${ELEM_NAMES[code] ? ` (${ELEM_NAMES[code]})` : ''}, which onnxruntime-node does not hand over` : undefined;
      if (kind !== undefined || uncarried !== undefined) {
        throw new EparaError('INVALID_OPTIONS', `cutTensors: value '${v}' would cross from stage ${producer.get(v)} to stage ${s}, and it is ${uncarried ?? `${kind}, not a tensor`}: no stage can hand it on; cut where only tensors cross`, { field: 'cutTensors', value: v });
      }
    }
    const outputs = [...produced].filter((v) => !constants.has(v) && (graphOutputs.has(v) || (lastReader.get(v) ?? -1) > s));
    if (s === stageCount - 1) outputs.push(...lastReads);
    // A stage that hands nothing on (a cut at a value no output depends on, or dead nodes alone after the last
    // cut) cannot run: onnxruntime fetches no outputs, and every request of the pipeline failed MODEL_ERROR.
    if (outputs.length === 0) {
      const what = s < cuts.length ? `the cut at '${cuts[s]}'` : `the last cut ('${cuts[cuts.length - 1]}')`;
      throw new EparaError('INVALID_OPTIONS', `cutTensors: ${what} leaves stage ${s} computing only values nothing reads (no graph output depends on them): cut at values the outputs depend on`, { field: 'cutTensors', value: s < cuts.length ? cuts[s] : cuts[cuts.length - 1] });
    }
    const usedInits = new Set(reads.filter((v) => initializerNames.has(v) && !produced.has(v)));
    const stageGraph: OnnxGraph = {
      name: `${graph.name ?? 'graph'}_stage${s}`,
      node: external.length > 0 ? stageNodes.map((n) => inlinedNode(n, inline)) : stageNodes,
      initializer: (graph.initializer ?? []).filter((t) => usedInits.has(t.name!)).map(inline),
      ...(graph.sparseInitializer?.some((t) => usedInits.has(sparseOf(t))) ? { sparseInitializer: graph.sparseInitializer.filter((t) => usedInits.has(sparseOf(t))) } : {}),
      input: inputs.map((v) => declared(graph, v) ?? typed(v, types)),
      output: outputs.map((v) => declared(graph, v) ?? typed(v, types)),
    };
    const stageModel: OnnxModel = { ...model, graph: stageGraph };
    const weightBytes = stageGraph.initializer!.reduce((n, t) => n + (t.rawData?.byteLength ?? 0), 0);
    if (weightBytes > MAX_PROTO_BYTES) {
      invalidOption('cutTensors', cuts, `cuts that leave each stage under 2 GiB of weights (stage ${s} would hold ${weightBytes} bytes, more than one ONNX file can)`);
    }
    stages.push({ index: s, bytes: encodeModel(stageModel), inputs, outputs, nodeCount: ownNodes.length });
  }
  return stages;
}

function validateCuts(graph: OnnxGraph, cutTensors: unknown): string[] {
  if (!Array.isArray(cutTensors) || cutTensors.length === 0) invalidOption('cutTensors', cutTensors, 'a non-empty array of tensor names');
  const produced = new Set((graph.node ?? []).filter((n) => !isConstantNode(n)).flatMap((n) => n.output ?? []));
  const seen = new Set<string>();
  for (const [i, c] of (cutTensors as unknown[]).entries()) {
    if (typeof c !== 'string' || !produced.has(c)) invalidOption(`cutTensors[${i}]`, c, 'the name of a value produced by a (non-Constant) node');
    if (seen.has(c)) invalidOption(`cutTensors[${i}]`, c, 'a name not repeated');
    seen.add(c);
  }
  return cutTensors as string[];
}

/** Stage index of every node: the first cut whose ancestors include it, or the last stage. */
function assignStages(graph: OnnxGraph, cuts: readonly string[]): number[] {
  const nodes = graph.node ?? [];
  const producerIndex = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o && producerIndex.set(o, i)));
  const stageOf = new Array<number>(nodes.length).fill(cuts.length);
  const assigned = new Array<boolean>(nodes.length).fill(false);
  cuts.forEach((cut, s) => {
    const stack = [producerIndex.get(cut)!];
    let count = 0;
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (assigned[i] || isConstantNode(nodes[i]!)) continue;
      assigned[i] = true;
      stageOf[i] = s;
      count++;
      for (const v of nodeReads(nodes[i]!)) {
        const p = producerIndex.get(v);
        if (p !== undefined && !assigned[p]) stack.push(p);
      }
    }
    if (count === 0) invalidOption(`cutTensors[${s}]`, cut, 'a value not already computed by an earlier stage (stage would be empty)');
  });
  if (nodes.every((n, i) => assigned[i] || isConstantNode(n))) {
    throw new EparaError('INVALID_OPTIONS', 'the last cut leaves nothing for the final stage', { field: 'cutTensors' });
  }
  return stageOf;
}

function isConstantNode(node: OnnxNode): boolean {
  return node.opType === 'Constant' && (node.input ?? []).length === 0 && (node.domain ?? '') === '';
}

/** Values a node reads, including outer-scope values referenced inside its subgraphs (If, Loop, Scan). */
function nodeReads(node: OnnxNode): string[] {
  const reads = (node.input ?? []).filter((v) => v);
  for (const a of node.attribute ?? []) for (const g of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) reads.push(...outerReads(g));
  return reads;
}

function outerReads(graph: OnnxGraph): string[] {
  const local = new Set<string>([
    ...(graph.input ?? []).map((v) => v.name!),
    ...(graph.initializer ?? []).map((t) => t.name!),
    ...(graph.node ?? []).flatMap((n) => n.output ?? []),
  ]);
  return (graph.node ?? []).flatMap(nodeReads).filter((v) => !local.has(v));
}

/**
 * How a boundary value is declared: as the graph declares it when it is a graph input or output (the model's
 * own contract), else from its value info with every fixed dim left free. A value info often holds the shapes
 * an exporter traced with (a batch of 1): onnxruntime reads it as a hint inside a graph but enforces it on a
 * graph input, so a stage input declared `[1, 16]` would refuse the batches the whole model takes.
 */
function declared(graph: OnnxGraph, name: string): OnnxValueInfo | undefined {
  const boundary = [...(graph.input ?? []), ...(graph.output ?? [])].find((v) => v.name === name);
  if (boundary) return boundary;
  const info = (graph.valueInfo ?? []).find((v) => v.name === name);
  const tensor = info?.type?.tensorType;
  if (info === undefined || tensor === undefined) return info;
  const shape = tensor.shape ? { dim: (tensor.shape.dim ?? []).map((d) => (d.dimParam ? { dimParam: d.dimParam } : {})) } : undefined;
  return { ...info, type: { ...info.type, tensorType: { ...tensor, ...(shape ? { shape } : {}) } } };
}

function typed(name: string, types: Map<string, number>): OnnxValueInfo {
  const elemType = types.get(name);
  if (elemType === undefined) throw new EparaError('INVALID_INPUT', `cannot infer the element type of boundary value ${name}`, { name });
  return { name, type: { tensorType: { elemType } } };
}

/** A protobuf message (an ONNX file without external data) is at most 2 GiB. */
const MAX_PROTO_BYTES = 2 ** 31 - 1;

/** `TensorProto.DataLocation.EXTERNAL`: the tensor's bytes are in a file named by its `externalData`. */
const EXTERNAL = 1;

function isExternal(t: OnnxTensor): boolean {
  return t.dataLocation === EXTERNAL;
}

/**
 * `n` with the external tensors its attributes hold — a Constant's value, the initializers and nodes of its
 * subgraphs, at any depth — read in by `inline` (a node that holds none is returned as it is).
 */
function inlinedNode(n: OnnxNode, inline: (t: OnnxTensor) => OnnxTensor): OnnxNode {
  if (!n.attribute?.some((a) => a.t !== undefined || a.g !== undefined || (a.tensors?.length ?? 0) > 0 || (a.graphs?.length ?? 0) > 0)) return n;
  const graphOf = (g: OnnxGraph): OnnxGraph => ({ ...g, ...(g.node ? { node: g.node.map((m) => inlinedNode(m, inline)) } : {}), ...(g.initializer ? { initializer: g.initializer.map(inline) } : {}) });
  const attribute = n.attribute.map((a) => ({
    ...a,
    ...(a.t ? { t: inline(a.t) } : {}),
    ...(a.tensors ? { tensors: a.tensors.map(inline) } : {}),
    ...(a.g ? { g: graphOf(a.g) } : {}),
    ...(a.graphs ? { graphs: a.graphs.map(graphOf) } : {}),
  }));
  return { ...n, attribute };
}

function externalEntry(t: OnnxTensor, key: string): string | undefined {
  return t.externalData?.find((e) => e.key === key)?.value;
}

/**
 * `t` with its external bytes read from `dir` into `rawData` (`location`, `offset` and `length` as the ONNX
 * external-data spec gives them; without `length`, the size its dims and type call for).
 *
 * @throws EparaError `INVALID_INPUT` when the file is outside `dir` (an absolute path, or above it: onnxruntime
 * refuses both from a model's path), cannot be read or holds fewer bytes than the tensor needs.
 */
function inlined(t: OnnxTensor, dir: string, loaded: Map<OnnxTensor, OnnxTensor>): OnnxTensor {
  const done = loaded.get(t);
  if (done) return done;
  const location = externalEntry(t, 'location');
  const offset = Number(externalEntry(t, 'offset') ?? 0);
  const count = (t.dims ?? []).reduce((a, b) => a * b, 1);
  const elemBytes = onnxElemBytes(t.dataType ?? 0);
  const length = externalEntry(t, 'length') !== undefined ? Number(externalEntry(t, 'length')) : elemBytes === undefined ? Number.NaN : count * elemBytes;
  const fail = (why: string, cause?: unknown): never => {
    throw new EparaError('INVALID_INPUT', `external data of initializer ${t.name ?? '?'} (${location ?? 'no location'}): ${why}`, { name: t.name, location, dir }, cause === undefined ? undefined : { cause });
  };
  if (location === undefined || location === '') fail('no location');
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) fail(`offset ${offset} and length ${length} are not byte counts`);
  // As onnxruntime reads a model from its path: the weight files lie in the model's folder or below it.
  const path = resolve(dir, location!);
  const within = relative(resolve(dir), path);
  if (isAbsolute(location!) || within === '' || within.startsWith('..') || isAbsolute(within)) fail(`${path} is outside the model's folder ${dir}`);
  const data = new Uint8Array(length);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    if (offset + length > size) fail(`the file holds ${size} bytes, the tensor needs ${length} from offset ${offset}`);
    for (let at = 0; at < length; ) {
      const n = readSync(fd, data, at, length - at, offset + at);
      if (n === 0) fail(`the file ended after ${at} of ${length} bytes`);
      at += n;
    }
  } catch (err) {
    if (err instanceof EparaError) throw err;
    fail(`cannot read ${path}: ${(err as Error).message}`, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const { externalData: _e, dataLocation: _l, ...rest } = t;
  const out: OnnxTensor = { ...rest, rawData: data };
  loaded.set(t, out);
  return out;
}
