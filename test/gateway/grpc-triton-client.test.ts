import { fileURLToPath } from 'node:url';
import { Metadata, credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servedOipGrpc } from './oip-grpc-client.js';
import { classifierConfig, clsInput } from './serve-process.js';

/*
 * What a Triton client calls on the same `inference.GRPCInferenceService` beyond the KServe protocol, with a
 * grpc-js client built from Triton's published .proto (the subset in ./proto): `ModelConfig` (tritonclient's
 * get_model_config, perf_analyzer, Triton's image_client example) and `ModelStatistics` (get_inference_statistics)
 * are answered, and so is `ModelStreamInfer` (tritonclient's start_stream / async_stream_infer).
 */

type Unary = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => void;
const served = servedOipGrpc<Unary>(classifierConfig({ id: 'edge-triton' }));
let triton: Client & { ModelConfig: Unary; ModelStatistics: Unary; ModelStreamInfer: (meta: Metadata, opts: object) => ClientDuplexStream<object, object> };

beforeAll(() => {
  const def = loadSync(fileURLToPath(new URL('./proto/triton_subset.proto', import.meta.url)), { keepCase: true, longs: Number, enums: String, defaults: true });
  const pkg = loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => typeof triton } };
  triton = new pkg.inference.GRPCInferenceService(served.serve.grpc, credentials.createInsecure());
});
afterAll(() => triton?.close());

const unary = (method: Unary, client: Client, req: object): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => method.call(client, req, new Metadata(), { deadline: Date.now() + 30_000 }, (err, res) => (err ? reject(err) : resolve(res))));

describe("Triton's RPCs on GRPCInferenceService", () => {
  it('ModelConfig answers the model configuration, as GET /v2/models/{name}/config does', async () => {
    const res = await unary(triton.ModelConfig, triton, { name: 'cls', version: '1' });
    const http = (await (await fetch(`${served.serve.http}/v2/models/cls/config`)).json()) as Record<string, unknown>;
    expect(res).toEqual({
      config: {
        name: 'cls',
        platform: 'onnxruntime_onnx',
        backend: 'onnxruntime',
        max_batch_size: 0,
        input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [-1, 3, 48, 192], optional: false }],
        output: [{ name: 'softmax_0.tmp_0', data_type: 'TYPE_FP32', dims: [-1, 2], label_filename: '' }],
      },
    });
    expect(http).toMatchObject({ name: 'cls', max_batch_size: 0, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [-1, 3, 48, 192] }] });
    // An unknown model or version: NOT_FOUND, as for ModelMetadata.
    await expect(unary(triton.ModelConfig, triton, { name: 'nope' })).rejects.toMatchObject({ code: 5 });
    await expect(unary(triton.ModelConfig, triton, { name: 'cls', version: '7' })).rejects.toMatchObject({ code: 5 });
  });

  it('ModelStatistics answers what GET /v2/models/{name}/stats does, from the gateway and the executor', async () => {
    const infer = (): Promise<unknown> => unary(served.client['ModelInfer']!, served.client, { model_name: 'cls', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192] }], raw_input_contents: [Buffer.from(clsInput().buffer)] });
    await infer();
    await infer();
    await expect(unary(served.client['ModelInfer']!, served.client, { model_name: 'cls', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 7] }], raw_input_contents: [Buffer.alloc(3 * 48 * 7 * 4)] })).rejects.toMatchObject({ code: 3 });
    const res = (await unary(triton.ModelStatistics, triton, { name: 'cls' })) as { model_stats: Record<string, unknown>[] };
    const http = (await (await fetch(`${served.serve.http}/v2/models/cls/stats`)).json()) as { model_stats: Record<string, unknown>[] };
    expect(res.model_stats).toHaveLength(1);
    const s = res.model_stats[0] as { name: string; version: string; last_inference: number; inference_count: number; execution_count: number; inference_stats: Record<string, { count: number; ns: number }>; batch_stats: { batch_size: number; compute_infer: { count: number } }[] };
    expect(s).toMatchObject({ name: 'cls', version: '1', inference_count: 2 });
    expect(s.inference_stats['success']).toMatchObject({ count: 2 });
    expect(s.inference_stats['fail']).toMatchObject({ count: 1 });
    expect(s.inference_stats['success']!.ns).toBeGreaterThan(0);
    // The executor ran the two requests (and its load-time profile, which is not a request): at least one batch.
    expect(s.execution_count).toBeGreaterThanOrEqual(1);
    expect(s.inference_stats['compute_infer']!.count).toBe(s.execution_count);
    expect(s.batch_stats.reduce((a, b) => a + b.compute_infer.count, 0)).toBe(s.execution_count);
    expect(s.last_inference).toBeGreaterThan(0);
    // The same counters over HTTP (read after the gRPC answer: nothing ran between them).
    expect(http.model_stats[0]).toEqual(s);
    expect((await unary(triton.ModelStatistics, triton, {})).model_stats).toHaveLength(1);
    await expect(unary(triton.ModelStatistics, triton, { name: 'nope' })).rejects.toMatchObject({ code: 5 });
    await expect(unary(triton.ModelStatistics, triton, { name: 'cls', version: '7' })).rejects.toMatchObject({ code: 5 });
  });

  it('ModelStreamInfer answers each request of a stream, a failed one with its error_message, and ends OK', async () => {
    // What tritonclient's start_stream / async_stream_infer does: requests written on one stream, answers read
    // from it as they complete, matched by id.
    const stream = triton.ModelStreamInfer(new Metadata(), {});
    const answers: { error_message: string; infer_response: { id: string; model_name: string; parameters: Record<string, { bool_param?: boolean }>; outputs: { name: string; shape: number[] }[]; raw_output_contents: Buffer[] } }[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (a: (typeof answers)[number]) => answers.push(a));
      stream.on('error', reject);
      stream.on('end', () => resolve());
    });
    const x = { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192] };
    stream.write({ model_name: 'cls', id: 's-1', inputs: [x], raw_input_contents: [Buffer.from(clsInput(0.5).buffer)] });
    stream.write({ model_name: 'nope', id: 's-2' });
    // What tritonclient's async_stream_infer(enable_empty_final_response=True) adds: the client then waits for an
    // answer marked triton_final_response before it takes the request as done.
    stream.write({ model_name: 'cls', id: 's-3', parameters: { triton_enable_empty_final_response: { bool_param: true } }, inputs: [x], raw_input_contents: [Buffer.from(clsInput(-0.5).buffer)] });
    stream.end();
    await ended;
    const byId = new Map(answers.map((a) => [a.infer_response.id, a]));
    expect([...byId.keys()].sort()).toEqual(['s-1', 's-2', 's-3']);
    expect(byId.get('s-2')!.error_message).toMatch(/unknown model "nope".*UNKNOWN_SERVICE/);
    // Each request is answered once, so every answer, a failed one too, is its request's last (as Triton marks it).
    for (const a of answers) expect(a.infer_response.parameters['triton_final_response']?.bool_param).toBe(true);
    for (const id of ['s-1', 's-3']) {
      const a = byId.get(id)!;
      expect(a.error_message).toBe('');
      expect(a.infer_response).toMatchObject({ model_name: 'cls', outputs: [{ name: 'softmax_0.tmp_0', shape: [1, 2] }] });
      const p = new Float32Array(new Uint8Array(a.infer_response.raw_output_contents[0]!).buffer);
      expect(p[0]! + p[1]!).toBeCloseTo(1, 5); // a softmax over the two classes
    }
    // The same answer ModelInfer gives for the same input.
    const unaryAnswer = await new Promise<{ raw_output_contents: Buffer[] }>((resolve, reject) =>
      served.client['ModelInfer']!.call(served.client, { model_name: 'cls', inputs: [x], raw_input_contents: [Buffer.from(clsInput(0.5).buffer)] }, new Metadata(), { deadline: Date.now() + 30_000 }, (err, res) => (err ? reject(err) : resolve(res as never))),
    );
    expect(Buffer.from(byId.get('s-1')!.infer_response.raw_output_contents[0]!)).toEqual(Buffer.from(unaryAnswer.raw_output_contents[0]!));
  });

  it("Triton's shared memory parameters are refused over gRPC, not ignored", async () => {
    const call = (req: object): Promise<unknown> => unary(served.client['ModelInfer']!, served.client, req);
    const x = { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192] };
    const region = { shared_memory_region: { string_param: 'out0' }, shared_memory_byte_size: { int64_param: 8 } };
    await expect(call({ model_name: 'cls', inputs: [x], raw_input_contents: [Buffer.from(clsInput().buffer)], outputs: [{ name: 'softmax_0.tmp_0', parameters: region }] })).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(/shared memory extension is not supported/),
    });
    await expect(call({ model_name: 'cls', inputs: [{ ...x, parameters: { ...region, shared_memory_region: { string_param: 'in0' } } }] })).rejects.toMatchObject({ code: 3, details: expect.stringMatching(/shared memory extension is not supported/) });
  });
});
