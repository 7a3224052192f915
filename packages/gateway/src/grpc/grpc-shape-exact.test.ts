import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { decodeInput } from '../protocol/tensor-codec.js';
import { fromGrpcRequest } from './grpc-codec.js';
import { PROTO_LOADER_OPTIONS } from './grpc-server.js';
import { decodeModelInferRequest } from './infer-request-wire.js';
import { oipProtoPath } from './proto-path.js';

/*
 * A gRPC shape value is an int64 on the wire: one past 2^53 cannot be a dimension, and its refusal quotes the
 * value the client sent — not the neighbouring double it rounds to (9007199254740993 read as …992).
 */

const infer = (loadSync(oipProtoPath(), PROTO_LOADER_OPTIONS)['inference.GRPCInferenceService'] as Record<string, MethodDefinition<object, object>>)['ModelInfer']!;

/** The refusal of one input whose shape is `shape` (decimal strings: protobuf.js writes them exactly). */
function refusal(shape: string[]): string {
  const buf = infer.requestSerialize({ model_name: 'm', inputs: [{ name: 'x', datatype: 'INT64', shape, contents: { int64_contents: [] } }] });
  const wire = decodeModelInferRequest(buf);
  if ('undecodable' in wire) return `undecodable: ${wire.undecodable}`;
  try {
    const req = fromGrpcRequest(wire);
    decodeInput(req.inputs[0]!, 0);
  } catch (err) {
    expect(err).toMatchObject({ code: 'INVALID_INPUT' });
    return (err as Error).message;
  }
  return 'accepted';
}

describe('a gRPC shape value past 2^53', () => {
  it.each([
    ['9007199254740993', '9007199254740993'],
    ['18014398509481985', '18014398509481985'],
    ['-9007199254740993', '-9007199254740993'],
    ['9223372036854775807', '9223372036854775807'],
  ])('is refused quoting %s exactly', (value, quoted) => {
    const message = refusal(['1', value]);
    expect(message).toContain(quoted);
    expect(message).toMatch(/inputs\[0\] \(x\)\.shape/);
  });

  it('leaves safe values as they were: a negative one quoted, the largest safe one quoted as it is', () => {
    expect(refusal(['-1'])).toMatch(/non-negative integers, got -1/);
    expect(refusal([String(2 ** 53 - 1)])).toContain('9007199254740991');
  });
});
