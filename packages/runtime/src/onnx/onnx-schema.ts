import protobuf from 'protobufjs';

/**
 * The subset of `onnx.proto` (ONNX IR 8) that EPARA reads and writes, as a protobufjs reflection descriptor
 * defined in code: models, graphs, nodes, attributes, tensors and value infos. Field numbers follow the
 * official schema so files written here load in onnxruntime and files from other exporters decode here.
 * Value types cover tensors, sequences, maps, optionals and sparse tensors (what a boundary value may be);
 * model-local functions, sparse initializers, quantization annotations and metadata are kept. Fields outside the
 * subset (training info, device configurations, a tensor's metadata) are skipped on decode and therefore not
 * re-emitted on encode.
 */
const int64 = (id: number) => ({ type: 'int64', id });
const str = (id: number) => ({ type: 'string', id });
const rep = (type: string, id: number, packed?: boolean) =>
  packed === undefined ? { rule: 'repeated', type, id } : { rule: 'repeated', type, id, options: { packed } };

const ONNX_DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: { fields: { key: str(1), value: str(2) } },
        OperatorSetIdProto: { fields: { domain: str(1), version: int64(2) } },
        TensorShapeProto: {
          fields: { dim: rep('Dimension', 1) },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: int64(1), dimParam: str(2), denotation: str(3) },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType', 'sequenceType', 'mapType', 'sparseTensorType', 'optionalType'] } },
          fields: {
            tensorType: { type: 'Tensor', id: 1 },
            sequenceType: { type: 'Sequence', id: 4 },
            mapType: { type: 'Map', id: 5 },
            denotation: str(6),
            sparseTensorType: { type: 'Tensor', id: 8 },
            optionalType: { type: 'Sequence', id: 9 },
          },
          nested: {
            Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
            // Sequence and Optional have the same layout: one element type.
            Sequence: { fields: { elemType: { type: 'TypeProto', id: 1 } } },
            Map: { fields: { keyType: { type: 'int32', id: 1 }, valueType: { type: 'TypeProto', id: 2 } } },
          },
        },
        ValueInfoProto: { fields: { name: str(1), type: { type: 'TypeProto', id: 2 }, docString: str(3), metadataProps: rep('StringStringEntryProto', 4) } },
        SparseTensorProto: { fields: { values: { type: 'TensorProto', id: 1 }, indices: { type: 'TensorProto', id: 2 }, dims: rep('int64', 3, false) } },
        TensorAnnotation: { fields: { tensorName: str(1), quantParameterTensorNames: rep('StringStringEntryProto', 2) } },
        TensorProto: {
          fields: {
            dims: rep('int64', 1, false),
            dataType: { type: 'int32', id: 2 },
            floatData: rep('float', 4, true),
            int32Data: rep('int32', 5, true),
            stringData: rep('bytes', 6),
            int64Data: rep('int64', 7, true),
            name: str(8),
            rawData: { type: 'bytes', id: 9 },
            doubleData: rep('double', 10, true),
            uint64Data: rep('uint64', 11, true),
            docString: str(12),
            externalData: rep('StringStringEntryProto', 13),
            dataLocation: { type: 'int32', id: 14 },
          },
        },
        AttributeProto: {
          fields: {
            name: str(1),
            f: { type: 'float', id: 2 },
            i: int64(3),
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            g: { type: 'GraphProto', id: 6 },
            floats: rep('float', 7, false),
            ints: rep('int64', 8, false),
            strings: rep('bytes', 9),
            tensors: rep('TensorProto', 10),
            graphs: rep('GraphProto', 11),
            docString: str(13),
            tp: { type: 'TypeProto', id: 14 },
            typeProtos: rep('TypeProto', 15),
            type: { type: 'int32', id: 20 },
            refAttrName: str(21),
            sparseTensor: { type: 'SparseTensorProto', id: 22 },
            sparseTensors: rep('SparseTensorProto', 23),
          },
        },
        NodeProto: {
          fields: {
            input: rep('string', 1),
            output: rep('string', 2),
            name: str(3),
            opType: str(4),
            attribute: rep('AttributeProto', 5),
            docString: str(6),
            domain: str(7),
            overload: str(8),
            metadataProps: rep('StringStringEntryProto', 9),
          },
        },
        GraphProto: {
          fields: {
            node: rep('NodeProto', 1),
            name: str(2),
            initializer: rep('TensorProto', 5),
            docString: str(10),
            input: rep('ValueInfoProto', 11),
            output: rep('ValueInfoProto', 12),
            valueInfo: rep('ValueInfoProto', 13),
            quantizationAnnotation: rep('TensorAnnotation', 14),
            sparseInitializer: rep('SparseTensorProto', 15),
            metadataProps: rep('StringStringEntryProto', 16),
          },
        },
        FunctionProto: {
          fields: {
            name: str(1),
            input: rep('string', 4),
            output: rep('string', 5),
            attribute: rep('string', 6),
            node: rep('NodeProto', 7),
            docString: str(8),
            opsetImport: rep('OperatorSetIdProto', 9),
            domain: str(10),
            attributeProto: rep('AttributeProto', 11),
            valueInfo: rep('ValueInfoProto', 12),
            overload: str(13),
            metadataProps: rep('StringStringEntryProto', 14),
          },
        },
        ModelProto: {
          fields: {
            irVersion: int64(1),
            producerName: str(2),
            producerVersion: str(3),
            domain: str(4),
            modelVersion: int64(5),
            docString: str(6),
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: rep('OperatorSetIdProto', 8),
            metadataProps: rep('StringStringEntryProto', 14),
            functions: rep('FunctionProto', 25),
          },
        },
      },
    },
  },
};

let modelType: protobuf.Type | undefined;

/** The protobufjs type of `onnx.ModelProto`, built once from the in-code descriptor. */
export function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(ONNX_DESCRIPTOR).lookupType('onnx.ModelProto');
  return modelType;
}
