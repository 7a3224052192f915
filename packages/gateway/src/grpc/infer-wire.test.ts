import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition } from '@grpc/proto-loader';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InferResponse } from '../protocol/infer-types.js';
import { fromGrpcRequest, fromParamMessages, toGrpcResponse } from './grpc-codec.js';
import type { GrpcInferRequest } from './grpc-codec.js';
import { PROTO_LOADER_OPTIONS } from './grpc-server.js';
import { decodeModelInferRequest } from './infer-request-wire.js';
import { frameMessage } from './grpc-http2-wire.js';
import { encodeModelInferResponse, frameModelInferResponse } from './infer-response-wire.js';
import { oipProtoPath } from './proto-path.js';
import { WireWriter } from './proto-wire.js';

// The reference: protobuf.js through @grpc/proto-loader on the protocol's own .proto, as grpc-js would use it.
const ref = loadSync(oipProtoPath(), PROTO_LOADER_OPTIONS)['inference.GRPCInferenceService'] as Record<string, MethodDefinition<object, object>>;
const infer = ref['ModelInfer']!;

const CONTENTS = ['bool_contents', 'int_contents', 'int64_contents', 'uint_contents', 'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents'];
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Everything the gateway reads of a decoded request, in one comparable form. */
function norm(r: GrpcInferRequest): unknown {
  return {
    model_name: r.model_name,
    model_version: r.model_version,
    id: r.id,
    parameters: fromParamMessages(r.parameters) ?? {},
    inputs: r.inputs.map((x) => ({
      name: x.name,
      datatype: x.datatype,
      shape: [...x.shape],
      parameters: fromParamMessages(x.parameters) ?? {},
      contents: Object.fromEntries(CONTENTS.map((f) => [f, [...((x.contents?.[f] as unknown[] | undefined) ?? [])].map((v) => (v instanceof Uint8Array ? hex(v) : v))])),
    })),
    outputs: r.outputs.map((o) => ({ name: o.name, parameters: fromParamMessages(o.parameters) ?? {} })),
    raw: r.raw_input_contents.map(hex),
  };
}

function mine(buf: Buffer): GrpcInferRequest {
  const r = decodeModelInferRequest(buf);
  if ('undecodable' in r) throw new Error(r.undecodable);
  return r;
}

const text = fc.string({ maxLength: 12, unit: 'binary' });
const int64 = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const uint64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const param = fc.oneof(
  fc.boolean().map((v) => ({ bool_param: v })),
  int64.map((v) => ({ int64_param: v })),
  text.map((v) => ({ string_param: v })),
  fc.double().map((v) => ({ double_param: v })),
  uint64.map((v) => ({ uint64_param: v })),
);
const params = fc.dictionary(text, param, { maxKeys: 3 });
const bytes = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b));
const contents = fc.record(
  {
    bool_contents: fc.array(fc.boolean(), { maxLength: 5 }),
    int_contents: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 5 }),
    int64_contents: fc.array(int64, { maxLength: 5 }),
    uint_contents: fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 5 }),
    uint64_contents: fc.array(uint64, { maxLength: 5 }),
    fp32_contents: fc.array(fc.float({ noNaN: true }), { maxLength: 5 }),
    fp64_contents: fc.array(fc.double(), { maxLength: 5 }),
    bytes_contents: fc.array(bytes, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);
const request = fc.record(
  {
    model_name: text,
    model_version: text,
    id: text,
    parameters: params,
    inputs: fc.array(fc.record({ name: text, datatype: fc.constantFrom('FP32', 'INT64', 'BOOL', 'BYTES', ''), shape: fc.array(int64, { maxLength: 4 }), parameters: params, contents }, { requiredKeys: ['name'] }), { maxLength: 3 }),
    outputs: fc.array(fc.record({ name: text, parameters: params }, { requiredKeys: ['name'] }), { maxLength: 3 }),
    raw_input_contents: fc.array(bytes, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

describe('ModelInferRequest decoder', () => {
  it('reads whatever protobuf.js writes exactly as protobuf.js reads it back', () => {
    fc.assert(
      fc.property(request, (r) => {
        const buf = infer.requestSerialize(r);
        expect(norm(mine(buf))).toEqual(norm(infer.requestDeserialize(buf) as unknown as GrpcInferRequest));
      }),
      { numRuns: 300 },
    );
  });

  it('reads unpacked repeated fields, unknown fields and groups as protobuf.js does, and merges repeated sub-messages', () => {
    // An input with an unpacked shape, unpacked fp32 contents split over two `contents` fields, an unknown
    // varint field, an unknown fixed64 field and an unknown group (field 9), then a model name.
    const contents1 = new WireWriter(10);
    contents1.tag(6, 5);
    contents1.buf.writeFloatLE(1.5, contents1.pos);
    contents1.pos += 4;
    contents1.tag(6, 5);
    contents1.buf.writeFloatLE(-2, contents1.pos);
    const contents2 = Buffer.from([0x35, 0, 0, 0x40, 0x40]); // field 6, fixed32: 3
    const input = Buffer.concat([
      Buffer.from([0x0a, 1, 0x78]), // name "x"
      Buffer.from([0x12, 4, ...Buffer.from('FP32')]),
      Buffer.from([0x18, 1, 0x18, 3]), // shape 1, 3 unpacked
      Buffer.from([0x2a, 10]),
      contents1.buf,
      Buffer.from([0x2a, 5]),
      contents2,
      Buffer.from([0x70, 0x96, 0x01]), // field 14 varint: unknown
      Buffer.from([0x79, 1, 2, 3, 4, 5, 6, 7, 8]), // field 15 fixed64: unknown
    ]);
    const buf = Buffer.concat([Buffer.from([0x2a, input.length]), input, Buffer.from([0x4b, 0x08, 0x01, 0x4c]), Buffer.from([0x0a, 1, 0x6d])]);
    const got = mine(buf);
    expect(got.model_name).toBe('m');
    expect(got.inputs[0]).toMatchObject({ name: 'x', datatype: 'FP32', shape: [1, 3] });
    // The protobuf encoding spec merges two occurrences of a singular message field (repeated fields
    // concatenate); protobuf.js keeps only the last one, so here the two differ, by design.
    expect(got.inputs[0]!.contents!['fp32_contents']).toEqual([1.5, -2, 3]);
    const theirs = infer.requestDeserialize(buf) as unknown as GrpcInferRequest;
    expect(theirs.inputs[0]!.contents!['fp32_contents']).toEqual([3]);
    expect(norm({ ...got, inputs: [{ ...got.inputs[0]!, contents: { fp32_contents: [3] } }] })).toEqual(norm(theirs));
  });

  it('never throws on arbitrary bytes, and calls truncated messages malformed with a reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const r = decodeModelInferRequest(Buffer.from(b));
        if ('undecodable' in r) expect(r.undecodable).toMatch(/^the ModelInferRequest message is malformed: /);
      }),
      { numRuns: 500 },
    );
    const whole = infer.requestSerialize({ model_name: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [Buffer.alloc(16)] });
    for (let cut = 1; cut < whole.length; cut++) {
      const r = decodeModelInferRequest(whole.subarray(0, cut));
      // A cut may fall between fields (a valid shorter message); inside a field it is malformed.
      if ('undecodable' in r) expect(r.undecodable).toMatch(/ends inside|claims \d+ bytes/);
    }
    expect(decodeModelInferRequest(Buffer.from([0x2a, 0x7f, 1]))).toEqual({ undecodable: 'the ModelInferRequest message is malformed: a field claims 127 bytes but only 1 remain' });
    expect(decodeModelInferRequest(Buffer.from([0x0f]))).toEqual({ undecodable: 'the ModelInferRequest message is malformed: invalid wire type 7 (field 1)' });
  });
});

const response = fc.record({
  model: text,
  version: text,
  id: fc.option(text, { nil: undefined }),
  parameters: fc.dictionary(text, fc.oneof(fc.boolean(), text, int64, fc.double({ noNaN: true })), { maxKeys: 3 }),
  outputs: fc.array(fc.record({ name: text, datatype: fc.constantFrom('FP32', 'INT64', 'BOOL'), shape: fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 4 }), bytes: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 3 }),
});

describe('ModelInferResponse encoder', () => {
  it('writes what protobuf.js reads back exactly as it reads its own encoding', () => {
    fc.assert(
      fc.property(response, (r) => {
        const res = { ...r, outputs: r.outputs.map((o) => ({ ...o, type: 'float32', binary: false, data: [] })) } as unknown as InferResponse;
        const expected = infer.responseDeserialize(infer.responseSerialize(toGrpcResponse(res)));
        const plain = encodeModelInferResponse(res);
        expect(infer.responseDeserialize(plain)).toEqual(expected);
        // The framed form is the same message behind its gRPC prefix, written in one buffer.
        expect(frameModelInferResponse(res).equals(frameMessage(plain))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('echoes request parameters in the form they were sent, whatever their kind', () => {
    // 64-bit values as strings: a rounded value or a changed kind shows.
    const exact = loadSync(oipProtoPath(), { keepCase: true, longs: String, oneofs: true })['inference.GRPCInferenceService'] as Record<string, MethodDefinition<object, object>>;
    const big = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => ({ int64_param: String(v) }));
    const ubig = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ uint64_param: String(v) }));
    const whole = fc.integer().map((v) => ({ double_param: v }));
    const sent = fc.dictionary(text, fc.oneof(param, big, ubig, whole), { maxKeys: 4 });
    fc.assert(
      fc.property(sent, (parameters) => {
        const req = mine(exact['ModelInfer']!.requestSerialize({ model_name: 'm', parameters }));
        const res: InferResponse = { model: 'm', version: '1', parameters: fromParamMessages(req.parameters) ?? {}, outputs: [] };
        const back = exact['ModelInfer']!.responseDeserialize(encodeModelInferResponse({ ...res, parameterWire: req.parameter_wire })) as { parameters?: Record<string, object> };
        const expected = exact['ModelInfer']!.requestDeserialize(exact['ModelInfer']!.requestSerialize({ parameters })) as { parameters?: Record<string, object> };
        expect(back.parameters ?? {}).toEqual(expected.parameters ?? {});
      }),
      { numRuns: 300, seed: 6 },
    );
  });

  it('reads and echoes parameters named like Object.prototype\'s members (__proto__, constructor) as any other', () => {
    const exact = loadSync(oipProtoPath(), { keepCase: true, longs: String, oneofs: true })['inference.GRPCInferenceService'] as Record<string, MethodDefinition<object, object>>;
    // A map whose keys are plain own properties, as a client builds one from names it reads from elsewhere.
    const named = <T>(entries: [string, T][]): Record<string, T> => {
      const o = Object.create(null) as Record<string, T>;
      for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true });
      return o;
    };
    const parameters = named([['__proto__', { string_param: 'p' }], ['constructor', { bool_param: true }], ['toString', { int64_param: '7' }]]);
    const buf = exact['ModelInfer']!.requestSerialize({
      model_name: 'm',
      parameters,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: named([['__proto__', { int64_param: '3' }]]), contents: { fp32_contents: [1] } }],
      outputs: [{ name: 'y', parameters: named([['__proto__', { bool_param: true }]]) }],
    });
    const req = fromGrpcRequest(mine(buf));
    expect(Object.entries(req.parameters ?? {})).toEqual([['__proto__', 'p'], ['constructor', true], ['toString', 7]]);
    expect(Object.entries(req.inputs[0]!.parameters ?? {})).toEqual([['__proto__', 3]]);
    expect(Object.entries(req.outputs![0]!.parameters ?? {})).toEqual([['__proto__', true]]);
    // The answer echoes all three, each in the form it was sent.
    const res: InferResponse = { model: 'm', version: '1', parameters: req.parameters!, outputs: [] };
    const back = exact['ModelInfer']!.responseDeserialize(encodeModelInferResponse({ ...res, parameterWire: mine(buf).parameter_wire })) as { parameters: Record<string, object> };
    expect(Object.entries(back.parameters)).toEqual([
      ['__proto__', { string_param: 'p', parameter_choice: 'string_param' }],
      ['constructor', { bool_param: true, parameter_choice: 'bool_param' }],
      ['toString', { int64_param: '7', parameter_choice: 'int64_param' }],
    ]);
    // Without the wire forms (an embedded caller's response), the same three.
    const plain = exact['ModelInfer']!.responseDeserialize(encodeModelInferResponse(res)) as { parameters: Record<string, object> };
    expect(Object.keys(plain.parameters)).toEqual(['__proto__', 'constructor', 'toString']);
  });

  it('writes output bytes that are views into a larger buffer', () => {
    const backing = new Float32Array([9, 1, 2, 9]);
    const res: InferResponse = { model: 'm', version: '1', parameters: {}, outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], type: 'float32', binary: false, bytes: new Uint8Array(backing.buffer, 4, 8), data: backing.subarray(1, 3) }] };
    const back = infer.responseDeserialize(encodeModelInferResponse(res)) as { raw_output_contents: Buffer[] };
    expect([...new Float32Array(new Uint8Array(back.raw_output_contents[0]!).buffer)]).toEqual([1, 2]);
  });
});
