import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { resolveGatewayOptions } from '../gateway-options.js';
import { encodeModelConfigResponse } from './model-config-wire.js';

/*
 * Triton's ModelConfigResponse as written by hand, read back by protobuf.js from Triton's published field
 * numbers (the subset in test/gateway/proto), enums as numbers so that each data type's number is checked.
 */

const proto = fileURLToPath(new URL('../../../../test/gateway/proto/triton_subset.proto', import.meta.url));
const method = (loadSync(proto, { keepCase: true, longs: Number, enums: Number, defaults: true })['inference.GRPCInferenceService'] as unknown as Record<string, { responseDeserialize(b: Buffer): unknown }>)['ModelConfig']!;

const model = (inputs: { name: string; datatype: string; shape: number[] }[], outputs: typeof inputs) =>
  resolveGatewayOptions({ node: { id: 'n', view: () => ({ entries: {} }) as never, submit: () => Promise.resolve({}) }, models: [{ name: 'm', inputs, outputs }], http: false, grpc: false }).models.get('m')!;

describe('encodeModelConfigResponse', () => {
  it('reads back as the model configuration GET /v2/models/{name}/config answers', () => {
    const m = model(
      [
        { name: 'text', datatype: 'BYTES', shape: [-1] },
        { name: 'ids', datatype: 'INT64', shape: [-1, 128] },
        { name: 'mask', datatype: 'BOOL', shape: [-1, 128] },
        { name: 'scale', datatype: 'FP16', shape: [] },
      ],
      [
        { name: 'logits', datatype: 'FP32', shape: [-1, 2] },
        { name: 'codes', datatype: 'UINT8', shape: [-1, 3, 2] },
      ],
    );
    expect(method.responseDeserialize(encodeModelConfigResponse(m))).toEqual({
      config: {
        name: 'm',
        platform: 'onnxruntime_onnx',
        backend: 'onnxruntime',
        max_batch_size: 0,
        input: [
          { name: 'text', data_type: 13, dims: [-1], optional: false },
          { name: 'ids', data_type: 9, dims: [-1, 128], optional: false },
          { name: 'mask', data_type: 1, dims: [-1, 128], optional: false },
          { name: 'scale', data_type: 10, dims: [], optional: false },
        ],
        output: [
          { name: 'logits', data_type: 11, dims: [-1, 2], label_filename: '' },
          { name: 'codes', data_type: 2, dims: [-1, 3, 2], label_filename: '' },
        ],
      },
    });
  });
});
