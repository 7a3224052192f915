import { Metadata, credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { oipProtoPath } from '@epara/gateway';
import { describe, expect, it } from 'vitest';
import { servedOipGrpc } from './oip-grpc-client.js';
import { classifierConfig, clsInput } from './serve-process.js';

/*
 * The protocol's GRPCInferenceService against a real `epara serve` process, through a client built by
 * @grpc/proto-loader from the .proto the package ships (the protocol's own definition).
 */

type Call = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => void;
const served = servedOipGrpc<Call>(classifierConfig({ id: 'edge-grpc' }));

const call = (method: string, req: object, deadlineMs = 10_000): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => served.client[method]!(req, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res))));

const rawInput = (value = 0.5): Buffer => Buffer.from(clsInput(value).buffer);
const xTensor = { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192] };


describe('GRPCInferenceService', () => {
  it('ServerLive, ServerReady, ServerMetadata', async () => {
    expect(await call('ServerLive', {})).toEqual({ live: true });
    expect(await call('ServerReady', {})).toEqual({ ready: true });
    expect(await call('ServerMetadata', {})).toMatchObject({ name: 'epara', extensions: expect.arrayContaining(['binary_tensor_data']) });
  });

  it('ModelReady and ModelMetadata', async () => {
    expect(await call('ModelReady', { name: 'cls', version: '' })).toEqual({ ready: true });
    const meta = await call('ModelMetadata', { name: 'cls', version: '1' });
    expect(meta).toMatchObject({
      name: 'cls',
      versions: ['1'],
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, 192] }],
      outputs: [{ name: 'softmax_0.tmp_0', datatype: 'FP32', shape: [-1, 2] }],
    });
  });

  it('ModelInfer with raw_input_contents answers raw_output_contents, id and parameters', async () => {
    const res = await call('ModelInfer', {
      model_name: 'cls',
      id: 'g-1',
      parameters: { epara_priority: { int64_param: 2 }, tag: { string_param: 'x' } },
      inputs: [xTensor],
      raw_input_contents: [rawInput()],
    });
    expect(res).toMatchObject({ model_name: 'cls', model_version: '1', id: 'g-1' });
    expect((res['parameters'] as Record<string, { string_param?: string }>)['tag']).toMatchObject({ string_param: 'x' });
    expect(res['outputs']).toMatchObject([{ name: 'softmax_0.tmp_0', datatype: 'FP32', shape: [1, 2] }]);
    const raw = (res['raw_output_contents'] as Buffer[])[0]!;
    const p = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    expect(p.length).toBe(2);
    expect(p[0]! + p[1]!).toBeCloseTo(1, 4);
  });

  it('ModelInfer with typed contents gives the same answer as raw', async () => {
    const raw = await call('ModelInfer', { model_name: 'cls', inputs: [xTensor], raw_input_contents: [rawInput(0.3)] });
    const typed = await call('ModelInfer', { model_name: 'cls', inputs: [{ ...xTensor, contents: { fp32_contents: Array.from(clsInput(0.3)) } }] });
    expect((typed['raw_output_contents'] as Buffer[])[0]).toEqual((raw['raw_output_contents'] as Buffer[])[0]);
  });

  it('maps errors to gRPC codes with EPARA\'s code in the metadata', async () => {
    const unknown = await call('ModelInfer', { model_name: 'nope', inputs: [xTensor], raw_input_contents: [rawInput()] }).catch((e: ServiceError) => e);
    expect((unknown as ServiceError).code).toBe(5); // NOT_FOUND
    expect((unknown as ServiceError).metadata.get('epara-code')).toEqual(['UNKNOWN_SERVICE']);
    // Looked up before the inputs are read: NOT_FOUND even when they are wrong too.
    for (const [model_name, model_version] of [['nope', ''], ['cls', '9']]) {
      const both = await call('ModelInfer', { model_name, model_version, inputs: [xTensor, { ...xTensor, name: 'y' }], raw_input_contents: [rawInput()] }).catch((e: ServiceError) => e);
      expect((both as ServiceError).code, `${model_name}/${model_version}`).toBe(5);
    }
    const short = await call('ModelInfer', { model_name: 'cls', inputs: [xTensor], raw_input_contents: [Buffer.alloc(12)] }).catch((e: ServiceError) => e);
    expect((short as ServiceError).code).toBe(3); // INVALID_ARGUMENT
    expect((short as ServiceError).details).toMatch(/12 bytes of data but shape/);
    const count = await call('ModelInfer', { model_name: 'cls', inputs: [xTensor, { ...xTensor, name: 'y' }], raw_input_contents: [rawInput()] }).catch((e: ServiceError) => e);
    expect((count as ServiceError).code).toBe(3);
    // A model or version it does not have is not ready, as Triton answers (a client's is_model_ready reads false).
    expect(await call('ModelReady', { name: 'nope' })).toEqual({ ready: false });
    expect(await call('ModelReady', { name: 'cls', version: '9' })).toEqual({ ready: false });
  });

  it('echoes each request parameter in the form it was sent: every kind, 64-bit values exact', async () => {
    // Read with 64-bit values as strings and without defaults, so a changed kind or a rounded value shows.
    const pkg = loadPackageDefinition(loadSync(oipProtoPath(), { keepCase: true, longs: String, oneofs: true })) as unknown as {
      inference: { GRPCInferenceService: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Client & Record<string, Call> };
    };
    const exact = new pkg.inference.GRPCInferenceService(served.serve.grpc, credentials.createInsecure());
    const parameters = {
      flag: { bool_param: true },
      small: { int64_param: '-5' },
      big: { int64_param: '9007199254740993' },
      unsigned: { uint64_param: '7' },
      huge: { uint64_param: '18446744073709551615' },
      whole: { double_param: 2 },
      half: { double_param: -0.5 },
      text: { string_param: 'ünï' },
    };
    try {
      const res = await new Promise<Record<string, unknown>>((resolve, reject) =>
        exact['ModelInfer']!({ model_name: 'cls', parameters, inputs: [xTensor], raw_input_contents: [rawInput()] }, new Metadata(), { deadline: Date.now() + 10_000 }, (err, r) => (err ? reject(err) : resolve(r))),
      );
      const echoed = res['parameters'] as Record<string, Record<string, unknown>>;
      for (const [k, v] of Object.entries(parameters)) expect(echoed[k], k).toMatchObject(v);
    } finally {
      exact.close();
    }
  });

  it('refuses a request quoting a long name or a shape of many dimensions with INVALID_ARGUMENT, its message cut short', async () => {
    // The messages quote the client's input: whole, their trailers outgrew a frame and the stream was reset (INTERNAL).
    const requests = [
      { model_name: 'cls', inputs: [{ name: 'y'.repeat(200_000), datatype: 'FP32', shape: [1] }], raw_input_contents: [Buffer.alloc(4)] },
      { model_name: 'cls', inputs: [{ name: 'x', datatype: 'FP32', shape: new Array<number>(200_000).fill(1) }], raw_input_contents: [Buffer.alloc(4)] },
    ];
    for (const req of requests) {
      const err = (await call('ModelInfer', req).catch((e: ServiceError) => e)) as ServiceError;
      expect(err.code).toBe(3);
      expect(err.metadata.get('epara-code')).toEqual(['INVALID_INPUT']);
      expect(err.details).toMatch(/^(model cls has no input y+|input x has shape \[1,1,1[1,]*)\.\.\.$/);
      expect(err.details.length).toBeLessThanOrEqual(4096);
    }
  });

  it('uses the gRPC deadline as the EPARA deadline', async () => {
    const err = await call('ModelInfer', { model_name: 'cls', inputs: [xTensor], raw_input_contents: [rawInput()] }, 1).catch((e: ServiceError) => e);
    // Either EPARA refuses a call deadline it cannot meet, or the client gives up first: DEADLINE_EXCEEDED both ways.
    expect((err as ServiceError).code).toBe(4);
    expect(await call('ModelInfer', { model_name: 'cls', inputs: [xTensor], raw_input_contents: [rawInput()] })).toMatchObject({ model_name: 'cls' });
  });
});
