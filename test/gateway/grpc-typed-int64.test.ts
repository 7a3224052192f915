import { Metadata } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import type { ClusterView, NamedTensors } from '@epara/core';
import { createGateway } from '@epara/gateway';
import type { Gateway, GatewayNode } from '@epara/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oipGrpcClient } from './oip-grpc-client.js';

/*
 * INT64 values sent in the typed `int64_contents` field (as a client without raw_input_contents sends them, or
 * grpcurl): an id, a hash or a timestamp in ns is past 2^53. A node that answers its input back shows what the
 * gateway handed it.
 */

type Call = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => void;
let gateway: Gateway;
let client: Client & Record<string, Call>;

const echoNode: GatewayNode = {
  id: 'int64-echo',
  view: () => ({ entries: {} }) as unknown as ClusterView,
  submit: (_service: string, inputs: NamedTensors) => Promise.resolve({ y: inputs['x']! }),
};

beforeAll(async () => {
  gateway = createGateway({ node: echoNode, models: [{ name: 'ids', inputs: [{ name: 'x', datatype: 'INT64', shape: [-1] }], outputs: [{ name: 'y', datatype: 'INT64', shape: [-1] }], splitItems: false }], http: false, grpc: { port: 0 } });
  const { grpc } = await gateway.start();
  client = oipGrpcClient<Call>(grpc!);
});
afterAll(async () => {
  client?.close();
  await gateway?.close();
});

describe('gRPC typed int64_contents', () => {
  it('carries values past 2^53 exactly, both signs, into the tensor the node gets', async () => {
    const values = ['9007199254740993', '-9223372036854775808', '9223372036854775807', '1700000000123456789', '42'];
    const res = await new Promise<Record<string, unknown>>((resolve, reject) =>
      client['ModelInfer']!({ model_name: 'ids', inputs: [{ name: 'x', datatype: 'INT64', shape: [values.length], contents: { int64_contents: values } }] }, new Metadata(), {}, (err, r) => (err ? reject(err) : resolve(r))),
    );
    const bytes = (res['raw_output_contents'] as Buffer[])[0]!;
    const got = new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect(Array.from(got, String)).toEqual(values);
  });
});
