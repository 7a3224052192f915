import { describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { fromGrpcRequest, fromParamMessages } from './grpc-codec.js';
import type { GrpcInferRequest } from './grpc-codec.js';

const base = { model_name: 'm', model_version: '', id: '', parameters: {}, outputs: [], raw_input_contents: [] } satisfies Partial<GrpcInferRequest>;

describe('fromGrpcRequest', () => {
  it('takes raw_input_contents in input order, with shapes as numbers and parameters made plain', () => {
    const a = Buffer.from([1, 2, 3, 4]);
    const b = Buffer.from([5, 6, 7, 8]);
    const req = fromGrpcRequest({
      ...base,
      model_version: '2',
      id: 'r1',
      parameters: { epara_priority: { int64_param: 3, parameter_choice: 'int64_param' } },
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1, '1'], parameters: { p: { bool_param: true, parameter_choice: 'bool_param' } } },
        { name: 'z', datatype: 'INT32', shape: [1], parameters: {} },
      ],
      outputs: [{ name: 'y', parameters: { binary_data: { bool_param: true, parameter_choice: 'bool_param' } } }, { name: 'w' }],
      raw_input_contents: [a, b],
    });
    expect(req).toEqual({
      model: 'm',
      version: '2',
      id: 'r1',
      parameters: { epara_priority: 3 },
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1, 1], parameters: { p: true }, raw: a },
        { name: 'z', datatype: 'INT32', shape: [1], raw: b },
      ],
      outputs: [{ name: 'y', parameters: { binary_data: true } }, { name: 'w' }],
    });
    expect(req.inputs[0]!.raw).toBe(a); // a view, not a copy
  });

  it('takes typed contents by data type when there are no raw contents, and leaves out what is empty', () => {
    const req = fromGrpcRequest({ ...base, inputs: [{ name: 'x', datatype: 'INT64', shape: [2], contents: { int64_contents: [1, 2], fp32_contents: [] } }] });
    expect(req).toEqual({ model: 'm', inputs: [{ name: 'x', datatype: 'INT64', shape: [2], data: [1, 2] }] });
    expect(Object.keys(req)).toEqual(['model', 'inputs']);
  });

  it('refuses raw and typed contents mixed, and a raw count that does not match the inputs', () => {
    const mixed = (): unknown => fromGrpcRequest({ ...base, inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }], raw_input_contents: [Buffer.alloc(4)] });
    const count = (): unknown => fromGrpcRequest({ ...base, inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }], raw_input_contents: [Buffer.alloc(4), Buffer.alloc(4)] });
    for (const f of [mixed, count]) {
      try {
        f();
        expect.unreachable();
      } catch (err) {
        expect(isEparaError(err) && err.code).toBe('INVALID_INPUT');
      }
    }
  });

  it('names the contents field a data type needs when the data is in another one, or FP16 is sent typed', () => {
    const wrong = (): unknown => fromGrpcRequest({ ...base, inputs: [{ name: 'x', datatype: 'FP32', shape: [2], contents: { int_contents: [1, 2], fp32_contents: [] } }] });
    expect(wrong).toThrow('inputs[0] (x) is FP32, whose typed data goes in fp32_contents; the request sends int_contents');
    const half = (): unknown => fromGrpcRequest({ ...base, inputs: [{ name: 'h', datatype: 'FP16', shape: [2], contents: { fp32_contents: [1, 2] } }] });
    expect(half).toThrow('inputs[0] (h) is FP16, which has no typed contents field: send it in raw_input_contents');
  });

  it('names the contents field when typed data does not fill the shape, or the request carries no data at all', () => {
    const none = (): unknown => fromGrpcRequest({ ...base, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }] });
    expect(none).toThrow('inputs[0] (x) carries no data: shape [1,3] needs 3 values, in fp32_contents or raw_input_contents');
    const short = (): unknown => fromGrpcRequest({ ...base, inputs: [{ name: 'x', datatype: 'INT64', shape: [2, 2], contents: { int64_contents: [1, 2, 3] } }] });
    expect(short).toThrow('inputs[0] (x) has 3 values in int64_contents but shape [2,2] needs 4');
    const many = (): unknown => fromGrpcRequest({ ...base, inputs: [{ name: 's', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('a'), Buffer.from('b')] } }] });
    expect(many).toThrow('inputs[0] (s) has 2 values in bytes_contents but shape [1] needs 1');
    // An input in Triton's shared memory has no contents: it is refused as such by the core, not for its count.
    const region = { shared_memory_region: { string_param: 'in0', parameter_choice: 'string_param' as const } };
    expect(fromGrpcRequest({ ...base, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], parameters: region }] }).inputs[0]).toMatchObject({ name: 'x', parameters: { shared_memory_region: 'in0' } });
  });

  it('reads parameters as own keys only', () => {
    expect(fromParamMessages(undefined)).toBeUndefined();
    expect(fromParamMessages({})).toBeUndefined();
    expect(fromParamMessages({ a: {}, b: { string_param: 's', parameter_choice: 'string_param' } })).toEqual({ b: 's' });
  });
});
