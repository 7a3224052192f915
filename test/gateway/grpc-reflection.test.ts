import { fileURLToPath } from 'node:url';
import { Metadata, credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync } from '@grpc/proto-loader';
import { afterAll, describe, expect, it } from 'vitest';
import { servedOipGrpc } from './oip-grpc-client.js';
import { classifierConfig, clsInput } from './serve-process.js';

/*
 * gRPC server reflection, as grpcurl without -proto uses it: list the services, fetch the file that declares a
 * symbol, and build a client from that descriptor alone, with no .proto at hand. The client here is grpc-js
 * with the published reflection.proto (both versions grpcurl tries).
 */

type Reflection = Client & { ServerReflectionInfo: (meta?: Metadata) => ClientDuplexStream<object, ReflectionResponse> };
interface ReflectionResponse {
  valid_host: string;
  original_request: Record<string, unknown>;
  message_response: string;
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  list_services_response?: { service: { name: string }[] };
  all_extension_numbers_response?: { base_type_name: string; extension_number: number[] };
  error_response?: { error_code: number; error_message: string };
}
type Unary = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => void;

const served = servedOipGrpc<Unary>(classifierConfig({ id: 'edge-reflect' }));
const clients: Client[] = [];

function reflectionClient(version: 'v1' | 'v1alpha'): Reflection {
  const def = loadSync(fileURLToPath(new URL(`./proto/reflection_${version}.proto`, import.meta.url)), { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = loadPackageDefinition(def) as unknown as { grpc: { reflection: Record<string, { ServerReflection: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Reflection }> } };
  const client = new pkg.grpc.reflection[version]!.ServerReflection(served.serve.grpc, credentials.createInsecure());
  clients.push(client);
  return client;
}

/** Sends each request on one stream, one after the other's answer, then ends it; resolves with the answers and the status. */
async function ask(client: Reflection, requests: object[]): Promise<{ answers: ReflectionResponse[]; code: number }> {
  const stream = client.ServerReflectionInfo();
  const answers: ReflectionResponse[] = [];
  const ended = new Promise<number>((resolve) => {
    stream.on('status', (s: { code: number }) => resolve(s.code));
    stream.on('error', () => undefined); // the status carries it
  });
  for (const r of requests) {
    const next = new Promise<ReflectionResponse>((resolve) => stream.once('data', resolve));
    stream.write(r);
    answers.push(await next);
  }
  stream.end();
  return { answers, code: await ended };
}

afterAll(() => {
  for (const c of clients) c.close();
});

describe('gRPC server reflection', () => {
  it('lists the service and describes it well enough to call it with no .proto', async () => {
    const { answers, code } = await ask(reflectionClient('v1'), [{ list_services: '*' }, { host: 'h', file_containing_symbol: 'inference.GRPCInferenceService' }]);
    expect(code).toBe(0);
    expect(answers[0]!.list_services_response!.service.map((s) => s.name)).toEqual(['inference.GRPCInferenceService', 'grpc.health.v1.Health']);
    expect(answers[1]).toMatchObject({ valid_host: 'h', original_request: { file_containing_symbol: 'inference.GRPCInferenceService' }, message_response: 'file_descriptor_response' });
    // What grpcurl does next: a client from the descriptor alone (a FileDescriptorSet of the files received).
    const files = answers[1]!.file_descriptor_response!.file_descriptor_proto;
    const set = Buffer.concat(files.flatMap((f) => [Buffer.from([0x0a]), varint(f.length), f]));
    const pkg = loadPackageDefinition(loadFileDescriptorSetFromBuffer(set, { keepCase: true, longs: Number, defaults: true })) as unknown as {
      inference: { GRPCInferenceService: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Client & Record<string, Unary> };
    };
    const oip = new pkg.inference.GRPCInferenceService(served.serve.grpc, credentials.createInsecure());
    clients.push(oip);
    const call = (m: string, req: object): Promise<Record<string, unknown>> => new Promise((resolve, reject) => oip[m]!(req, new Metadata(), {}, (err, res) => (err ? reject(err) : resolve(res))));
    expect(await call('ServerLive', {})).toEqual({ live: true });
    const res = await call('ModelInfer', { model_name: 'cls', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192] }], raw_input_contents: [Buffer.from(clsInput().buffer)] });
    expect(res['outputs']).toMatchObject([{ name: 'softmax_0.tmp_0', shape: [1, 2] }]);
  });

  it("describes Triton's RPCs this server answers, so a client built from reflection calls them (grpcurl's describe and call)", async () => {
    // Before, the described service held the protocol's six RPCs only: grpcurl answered `service does not include a
    // method named ModelConfig` (and ModelStreamInfer, ModelStatistics, RepositoryIndex…) without calling the server.
    const { answers } = await ask(reflectionClient('v1'), [{ file_containing_symbol: 'inference.GRPCInferenceService.ModelStreamInfer' }]);
    expect(answers[0]!.message_response).toBe('file_descriptor_response');
    const files = answers[0]!.file_descriptor_response!.file_descriptor_proto;
    const set = Buffer.concat(files.flatMap((f) => [Buffer.from([0x0a]), varint(f.length), f]));
    const pkg = loadPackageDefinition(loadFileDescriptorSetFromBuffer(set, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true })) as unknown as {
      inference: { GRPCInferenceService: (new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Client & Record<string, Unary & (() => ClientDuplexStream<object, Record<string, unknown>>)>) & { service: Record<string, { requestStream: boolean; responseStream: boolean }> } };
    };
    const methods = pkg.inference.GRPCInferenceService.service;
    for (const m of ['ServerLive', 'ServerReady', 'ServerMetadata', 'ModelReady', 'ModelMetadata', 'ModelInfer', 'ModelStreamInfer', 'ModelConfig', 'ModelStatistics', 'RepositoryIndex', 'RepositoryModelLoad', 'RepositoryModelUnload']) expect(methods[m], m).toBeDefined();
    expect(methods['ModelStreamInfer']).toMatchObject({ requestStream: true, responseStream: true });
    const oip = new pkg.inference.GRPCInferenceService(served.serve.grpc, credentials.createInsecure());
    clients.push(oip);
    const call = (m: string, req: object): Promise<Record<string, unknown>> => new Promise((resolve, reject) => oip[m]!(req, new Metadata(), {}, (err, res) => (err ? reject(err) : resolve(res))));
    expect(await call('ModelConfig', { name: 'cls' })).toMatchObject({ config: { name: 'cls', max_batch_size: 0, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [-1, 3, 48, 192] }] } });
    expect(await call('ModelStatistics', { name: 'cls' })).toMatchObject({ model_stats: [{ name: 'cls', version: '1' }] });
    expect(await call('RepositoryIndex', {})).toMatchObject({ models: [{ name: 'cls', version: '1', state: 'READY' }] });
    const stream = oip['ModelStreamInfer']!();
    const got = new Promise<Record<string, unknown>[]>((resolve, reject) => {
      const all: Record<string, unknown>[] = [];
      stream.on('data', (m: Record<string, unknown>) => all.push(m));
      stream.on('end', () => resolve(all));
      stream.on('error', reject);
    });
    stream.write({ model_name: 'cls', id: 's', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192] }], raw_input_contents: [Buffer.from(clsInput().buffer)] });
    stream.end();
    const [answer] = await got;
    expect(answer).toMatchObject({ error_message: '', infer_response: { id: 's', outputs: [{ name: 'softmax_0.tmp_0', shape: [1, 2] }] } });
  });

  it('describes the health service too, by symbol and by its published file name, well enough to call Check', async () => {
    const { answers, code } = await ask(reflectionClient('v1'), [{ file_containing_symbol: 'grpc.health.v1.Health' }, { file_by_filename: 'grpc/health/v1/health.proto' }, { file_containing_symbol: 'grpc.health.v1.HealthCheckResponse.ServingStatus' }]);
    expect(code).toBe(0);
    expect(answers.map((a) => a.message_response)).toEqual(['file_descriptor_response', 'file_descriptor_response', 'file_descriptor_response']);
    const files = answers[0]!.file_descriptor_response!.file_descriptor_proto;
    const set = Buffer.concat(files.flatMap((f) => [Buffer.from([0x0a]), varint(f.length), f]));
    const pkg = loadPackageDefinition(loadFileDescriptorSetFromBuffer(set, { keepCase: true, enums: String, defaults: true })) as unknown as {
      grpc: { health: { v1: { Health: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Client & Record<string, Unary> } } };
    };
    const health = new pkg.grpc.health.v1.Health(served.serve.grpc, credentials.createInsecure());
    clients.push(health);
    const res = await new Promise<Record<string, unknown>>((resolve, reject) => health['Check']!({ service: '' }, new Metadata(), {}, (err, r) => (err ? reject(err) : resolve(r))));
    expect(res).toEqual({ status: 'SERVING' });
  });

  it("sends descriptors that protoc-strict clients accept: each map field's entry type named <Field>Entry", async () => {
    const { answers } = await ask(reflectionClient('v1'), [{ file_containing_symbol: 'inference.GRPCInferenceService' }, { file_containing_symbol: 'grpc.health.v1.Health' }]);
    const files = answers.flatMap((a) => a.file_descriptor_response!.file_descriptor_proto);
    expect(files).toHaveLength(2);
    // Before, protobuf.js named them after the field alone (`Parameters`): grpcurl and Python's protobuf refused the file.
    for (const f of files) expect(badMapEntries(f)).toEqual([]);
    // The maps are still there, under protoc's names.
    const oip = files[0]!.toString('latin1');
    expect(oip).toContain('ParametersEntry');
    expect(files[1]!.toString('latin1')).toContain('StatusesEntry');
  });

  it('finds nested symbols and the file by name; what is not declared is NOT_FOUND in the answer, and the stream goes on', async () => {
    const { answers, code } = await ask(reflectionClient('v1alpha'), [
      { file_containing_symbol: 'inference.ModelInferRequest.InferInputTensor' },
      { file_containing_symbol: 'inference.GRPCInferenceService.ModelInfer' },
      { file_containing_symbol: 'nope.Service' },
      { file_by_filename: 'grpc_predict_v2.proto' },
      { file_by_filename: 'other.proto' },
      { all_extension_numbers_of_type: 'inference.ModelInferRequest' },
      { file_containing_extension: { containing_type: 'inference.ModelInferRequest', extension_number: 100 } },
    ]);
    expect(code).toBe(0);
    expect(answers.map((a) => a.message_response)).toEqual(['file_descriptor_response', 'file_descriptor_response', 'error_response', 'file_descriptor_response', 'error_response', 'all_extension_numbers_response', 'error_response']);
    expect(answers[2]!.error_response).toMatchObject({ error_code: 5, error_message: expect.stringMatching(/nope\.Service not found/) });
    expect(answers[5]!.all_extension_numbers_response).toEqual({ base_type_name: 'inference.ModelInferRequest', extension_number: [] });
  });
});

/**
 * The map fields of a serialized FileDescriptorProto whose entry type breaks protoc's rule (descriptor.cc's
 * ValidateMapEntry, which Go's protodesc, under grpcurl, and Python's protobuf enforce as well): a map field's entry
 * is a nested type named after the field in CamelCase plus `Entry` (`parameters` → `ParametersEntry`).
 */
function badMapEntries(file: Buffer): string[] {
  const bad: string[] = [];
  const walk = (message: Buffer, scope: string): void => {
    const fields = fieldsOf(message);
    const name = fields.find((f) => f.n === 1)!.v.toString();
    const nested = fields.filter((f) => f.n === 3).map((f) => f.v);
    const entries = new Set(nested.filter((n) => fieldsOf(n).some((f) => f.n === 7 && fieldsOf(f.v).some((o) => o.n === 7 && o.int === 1))).map((n) => fieldsOf(n).find((f) => f.n === 1)!.v.toString()));
    for (const f of fields.filter((x) => x.n === 2).map((x) => fieldsOf(x.v))) {
      const typeName = f.find((x) => x.n === 6)?.v.toString() ?? '';
      const last = typeName.slice(typeName.lastIndexOf('.') + 1);
      const field = f.find((x) => x.n === 1)!.v.toString();
      const want = `${field.split('_').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('')}Entry`;
      if (entries.has(last) && last !== want) bad.push(`${scope}${name}.${field}: entry ${last}, protoc's rule wants ${want}`);
    }
    for (const n of nested) walk(n, `${scope}${name}.`);
  };
  for (const f of fieldsOf(file).filter((x) => x.n === 4)) walk(f.v, '');
  return bad;
}

/** A message's fields: number, the payload of a length-delimited one, the value of a varint (fixed-width ones skipped). */
function fieldsOf(b: Buffer): { n: number; v: Buffer; int?: number }[] {
  const out: { n: number; v: Buffer; int?: number }[] = [];
  let i = 0;
  const read = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const c = b[i++]!;
      v += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) return v;
    }
  };
  while (i < b.length) {
    const tag = read();
    const wire = tag & 7;
    if (wire === 2) {
      const len = read();
      out.push({ n: Math.floor(tag / 8), v: b.subarray(i, i + len) });
      i += len;
    } else {
      const int = wire === 0 ? read() : undefined;
      if (wire !== 0) i += wire === 1 ? 8 : 4;
      out.push({ n: Math.floor(tag / 8), v: Buffer.alloc(0), ...(int !== undefined ? { int } : {}) });
    }
  }
  return out;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
