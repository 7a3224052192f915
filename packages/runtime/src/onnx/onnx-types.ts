/**
 * Plain-object model of an ONNX file (the subset EPARA reads and writes), as produced by
 * {@link decodeModel} and consumed by {@link encodeModel}. Names follow `onnx.proto` in camelCase; int64
 * fields are plain numbers, except the values a graph may hold beyond 2^53 (an int64 or uint64 tensor's data, an
 * integer attribute), which are bigints there ({@link OnnxInt64}).
 */

/** An int64 or uint64 value of a tensor's data or an attribute: a number within 2^53, a bigint beyond. */
export type OnnxInt64 = number | bigint;

/** ONNX `TensorProto.DataType` codes used here. */
export const ONNX_DATA_TYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint16: 4,
  int16: 5,
  uint32: 12,
  uint64: 13,
  string: 8,
} as const;

/** Bytes of one element of an ONNX data type code (undefined: `string` or a type EPARA does not carry). */
export function onnxElemBytes(dataType: number): number | undefined {
  switch (dataType) {
    case ONNX_DATA_TYPE.uint8:
    case ONNX_DATA_TYPE.int8:
    case ONNX_DATA_TYPE.bool:
      return 1;
    case ONNX_DATA_TYPE.float16:
    case ONNX_DATA_TYPE.uint16:
    case ONNX_DATA_TYPE.int16:
      return 2;
    case ONNX_DATA_TYPE.float32:
    case ONNX_DATA_TYPE.int32:
    case ONNX_DATA_TYPE.uint32:
      return 4;
    case ONNX_DATA_TYPE.int64:
    case ONNX_DATA_TYPE.float64:
    case ONNX_DATA_TYPE.uint64:
      return 8;
    default:
      return undefined;
  }
}

/** ONNX `AttributeProto.AttributeType` codes. */
export const ONNX_ATTRIBUTE_TYPE = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
} as const;

/** A constant tensor (initializer or attribute value). EPARA writes data as `rawData` (little-endian). */
export interface OnnxTensor {
  name?: string;
  dims?: number[];
  dataType?: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: OnnxInt64[];
  doubleData?: number[];
  uint64Data?: OnnxInt64[];
  stringData?: Uint8Array[];
  docString?: string;
  externalData?: { key?: string; value?: string }[];
  dataLocation?: number;
}

/** One dimension: a fixed size or a symbolic name (such as `"batch"`). */
export interface OnnxDimension {
  dimValue?: number;
  dimParam?: string;
}

/** The type of a graph input, output or intermediate value: a tensor, or one of ONNX's non-tensor types. */
export interface OnnxType {
  tensorType?: { elemType?: number; shape?: { dim?: OnnxDimension[] } };
  /** A sequence of values of one type (`SequenceConstruct`, `SplitToSequence`). */
  sequenceType?: { elemType?: OnnxType };
  /** A map from a key type (an ONNX data type code) to values (`ZipMap` of ai.onnx.ml). */
  mapType?: { keyType?: number; valueType?: OnnxType };
  /** A value that may be absent. */
  optionalType?: { elemType?: OnnxType };
  sparseTensorType?: { elemType?: number; shape?: { dim?: OnnxDimension[] } };
  denotation?: string;
}

/** A named, typed value of the graph. */
export interface OnnxValueInfo {
  name?: string;
  type?: OnnxType;
  docString?: string;
  metadataProps?: OnnxStringEntry[];
}

/** A key–value pair (metadata, external-data locations). */
export interface OnnxStringEntry {
  key?: string;
  value?: string;
}

/** A sparse constant: the non-zero `values` (named as the tensor), their `indices`, and the dense `dims`. */
export interface OnnxSparseTensor {
  values?: OnnxTensor;
  indices?: OnnxTensor;
  dims?: number[];
}

/** A model-local function: nodes of domain `domain` and type `name` run its body. */
export interface OnnxFunction {
  name?: string;
  domain?: string;
  overload?: string;
  input?: string[];
  output?: string[];
  attribute?: string[];
  attributeProto?: OnnxAttribute[];
  node?: OnnxNode[];
  valueInfo?: OnnxValueInfo[];
  opsetImport?: { domain?: string; version?: number }[];
  docString?: string;
  metadataProps?: OnnxStringEntry[];
}

/** One node attribute; exactly one value field is set, matching `type`. */
export interface OnnxAttribute {
  name?: string;
  type?: number;
  f?: number;
  i?: OnnxInt64;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  floats?: number[];
  ints?: OnnxInt64[];
  strings?: Uint8Array[];
  tensors?: OnnxTensor[];
  graphs?: OnnxGraph[];
  sparseTensor?: OnnxSparseTensor;
  sparseTensors?: OnnxSparseTensor[];
  tp?: OnnxType;
  typeProtos?: OnnxType[];
  docString?: string;
  refAttrName?: string;
}

/** One operator application. */
export interface OnnxNode {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  overload?: string;
  attribute?: OnnxAttribute[];
  docString?: string;
  metadataProps?: OnnxStringEntry[];
}

/** A computation graph: nodes in topological order plus constants and typed boundary values. */
export interface OnnxGraph {
  name?: string;
  node?: OnnxNode[];
  initializer?: OnnxTensor[];
  input?: OnnxValueInfo[];
  output?: OnnxValueInfo[];
  valueInfo?: OnnxValueInfo[];
  /** Constants stored sparse (by name: `values.name`). */
  sparseInitializer?: OnnxSparseTensor[];
  quantizationAnnotation?: { tensorName?: string; quantParameterTensorNames?: OnnxStringEntry[] }[];
  docString?: string;
  metadataProps?: OnnxStringEntry[];
}

/** A whole model file. */
export interface OnnxModel {
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph?: OnnxGraph;
  opsetImport?: { domain?: string; version?: number }[];
  metadataProps?: OnnxStringEntry[];
  /** Model-local functions, called by nodes of their domain and name. */
  functions?: OnnxFunction[];
}
