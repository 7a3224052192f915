import { createSeededRandom, invalidOption, type Random } from '@epara/core';
import { encodeModel } from './onnx-codec.js';
import { constantTensor, onnxElemType, type BuilderElemType, type ConstantData } from './onnx-tensor.js';
import { ONNX_ATTRIBUTE_TYPE, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx-types.js';

/** A node attribute value: integers → INT(S), other numbers → FLOAT(S), `{ float }` forces a float, tensors. */
export type AttributeValue = number | readonly number[] | string | { readonly float: number } | { readonly tensor: OnnxTensor };

/** A dimension: a fixed size, a symbolic name such as `'batch'`, or `null` for a free dim left unnamed. */
export type DimSpec = number | string | null;

/** Builds one ONNX graph in code. Create with {@link createGraphBuilder}. */
export interface GraphBuilder {
  /** Declares a graph input. */
  input(name: string, type: BuilderElemType, dims: readonly DimSpec[]): string;
  /** Declares a graph output (an existing value). */
  output(name: string, type: BuilderElemType, dims: readonly DimSpec[]): string;
  /** Adds a constant with the given data; returns its name. */
  constant(name: string, type: BuilderElemType, dims: readonly number[], data: ConstantData): string;
  /** Adds a float32 weight drawn uniformly with standard deviation `std` from the seeded generator. */
  weight(name: string, dims: readonly number[], std: number): string;
  /** Adds a node with explicit output names; returns them. */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs?: Record<string, AttributeValue>): string[];
  /** Adds a single-output node with a generated output name; returns it. */
  op(opType: string, inputs: readonly string[], attrs?: Record<string, AttributeValue>): string;
  /** The model object (IR 8, opset 17 by default). */
  toModel(options?: { irVersion?: number; opset?: number; producerName?: string }): OnnxModel;
  /** The encoded model bytes. */
  toBytes(options?: { irVersion?: number; opset?: number; producerName?: string }): Uint8Array;
}

/**
 * Creates a {@link GraphBuilder}. Weights are deterministic: the same seed and the same sequence of calls
 * give the same bytes.
 *
 * @example
 * ```ts
 * const g = createGraphBuilder({ name: 'affine', seed: 1 });
 * g.input('x', 'float32', ['batch', 4]);
 * g.node('MatMul', ['x', g.weight('w', [4, 2], 0.5)], ['y']);
 * g.output('y', 'float32', ['batch', 2]);
 * const bytes = g.toBytes();
 * ```
 */
export function createGraphBuilder(options: { name: string; seed?: number }): GraphBuilder {
  if (typeof options?.name !== 'string' || options.name === '') invalidOption('name', options?.name, 'a non-empty string');
  const random: Random = createSeededRandom(options.seed ?? 0);
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  let counter = 0;
  const builder: GraphBuilder = {
    input(name, type, dims) {
      inputs.push(valueInfo(name, type, dims));
      return name;
    },
    output(name, type, dims) {
      outputs.push(valueInfo(name, type, dims));
      return name;
    },
    constant(name, type, dims, data) {
      initializers.push(constantTensor(name, type, dims, data));
      return name;
    },
    weight(name, dims, std) {
      const n = dims.reduce((a, b) => a * b, 1);
      const half = std * Math.sqrt(3);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = (random.next() * 2 - 1) * half;
      return builder.constant(name, 'float32', dims, data);
    },
    node(opType, ins, outs, attrs = {}) {
      const attribute = Object.entries(attrs).map(([k, v]) => toAttribute(k, v));
      nodes.push({ opType, input: [...ins], output: [...outs], name: `${opType}_${counter++}`, attribute });
      return [...outs];
    },
    op(opType, ins, attrs) {
      return builder.node(opType, ins, [`${opType.toLowerCase()}_${counter}`], attrs)[0]!;
    },
    toModel(o = {}) {
      return {
        irVersion: o.irVersion ?? 8,
        producerName: o.producerName ?? 'epara',
        opsetImport: [{ domain: '', version: o.opset ?? 17 }],
        graph: { name: options.name, node: nodes, initializer: initializers, input: inputs, output: outputs },
      };
    },
    toBytes(o) {
      return encodeModel(builder.toModel(o));
    },
  };
  return builder;
}

function valueInfo(name: string, type: BuilderElemType, dims: readonly DimSpec[]): OnnxValueInfo {
  const dim = dims.map((d) => (d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: onnxElemType(type), shape: { dim } } } };
}

function toAttribute(name: string, v: AttributeValue): OnnxAttribute {
  const A = ONNX_ATTRIBUTE_TYPE;
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) {
    const ints = v.every((x) => Number.isInteger(x));
    return ints ? { name, type: A.INTS, ints: [...v] } : { name, type: A.FLOATS, floats: [...v] };
  }
  if ('float' in (v as object)) return { name, type: A.FLOAT, f: (v as { float: number }).float };
  return { name, type: A.TENSOR, t: (v as { tensor: OnnxTensor }).tensor };
}
