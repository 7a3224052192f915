import { Client, credentials, Metadata } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { ClusterView, NamedTensors } from '@epara/core';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway } from './gateway.js';
import type { Gateway } from './gateway.js';
import type { GatewayOptions, ResolvedGatewayModel } from './gateway-options.js';
import { WireReader } from './grpc/proto-wire.js';

/*
 * Triton's model repository extension on an embedded gateway: the index, and load / unload through the host's
 * `modelControl`, over HTTP and gRPC (a grpc-js client sending the messages Triton's .proto describes).
 */

let gateway: Gateway | undefined;
let client: Client | undefined;
afterEach(async () => {
  client?.close();
  await gateway?.close();
  gateway = client = undefined;
});

const node: GatewayOptions['node'] = { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: (_s: string, i: NamedTensors) => Promise.resolve(i) };
const models = [{ name: 'm', versions: ['1', '2'], inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }];

async function start(o: Partial<GatewayOptions> = {}): Promise<{ http: string; grpc: string }> {
  gateway = createGateway({ node, models, http: { port: 0 }, grpc: { port: 0 }, isModelReady: () => true, ...o });
  const a = await gateway.start();
  return { http: a.http!, grpc: a.grpc! };
}

/** A model control that records what it was asked. */
function recording(): { control: NonNullable<GatewayOptions['modelControl']>; calls: string[] } {
  const calls: string[] = [];
  return { calls, control: { load: async (m: ResolvedGatewayModel) => void calls.push(`load ${m.name}`), unload: async (m: ResolvedGatewayModel) => void calls.push(`unload ${m.name}`) } };
}

const post = async (url: string, body?: string): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(url, { method: 'POST', ...(body !== undefined ? { body } : {}) });
  return { status: res.status, body: await res.json() };
};

/** A unary call with hand-encoded request bytes; resolves with the response bytes or the status error. */
function grpcCall(address: string, method: string, request: Buffer): Promise<Buffer> {
  client ??= new Client(address, credentials.createInsecure());
  const bytes = (b: Buffer): Buffer => b;
  return new Promise((resolve, reject) => client!.makeUnaryRequest(`/inference.GRPCInferenceService/${method}`, bytes, bytes, request, new Metadata(), (err: ServiceError | null, res?: Buffer) => (err ? reject(err) : resolve(res!))));
}

/** `RepositoryModelLoadRequest { model_name = 2; parameters = 3 (map entry key = 1) }`. */
function modelRequest(model: string, parameter?: string): Buffer {
  const name = Buffer.from(model);
  const parts = [Buffer.from([0x12, name.length]), name];
  if (parameter !== undefined) {
    const key = Buffer.from(parameter);
    parts.push(Buffer.from([0x1a, key.length + 2, 0x0a, key.length]), key);
  }
  return Buffer.concat(parts);
}

/** `RepositoryIndexResponse`: each `ModelIndex` as `name/version/state`. */
function readIndex(b: Buffer): string[] {
  const out: string[] = [];
  const r = new WireReader(b);
  while (!r.done) {
    r.uint32();
    const [from, to] = r.bytesRange();
    const m = new WireReader(b, from, to);
    const f: string[] = [];
    while (!m.done) f[(m.uint32() >>> 3) - 1] = m.string();
    out.push(f.slice(0, 3).join('/'));
  }
  return out;
}

describe("Triton's repository load and unload", () => {
  it('go to the host over HTTP and gRPC, and answer 200 {} / an empty message', async () => {
    const { control, calls } = recording();
    const a = await start({ modelControl: control });
    expect(await post(`${a.http}/v2/repository/models/m/unload`)).toEqual({ status: 200, body: {} });
    expect(await post(`${a.http}/v2/repository/models/m/load`, JSON.stringify({ parameters: {} }))).toEqual({ status: 200, body: {} });
    expect((await grpcCall(a.grpc, 'RepositoryModelUnload', modelRequest('m'))).length).toBe(0);
    expect((await grpcCall(a.grpc, 'RepositoryModelLoad', modelRequest('m'))).length).toBe(0);
    expect(calls).toEqual(['unload m', 'load m', 'unload m', 'load m']);
  });

  it('refuse an unknown model (404, NOT_FOUND), a configuration override (400), and a failed load as the host failed it', async () => {
    const a = await start({ modelControl: { load: () => Promise.reject(Object.assign(new Error('x'), {})), unload: () => Promise.resolve() } });
    expect(await post(`${a.http}/v2/repository/models/nope/load`)).toMatchObject({ status: 404, body: { code: 'UNKNOWN_SERVICE' } });
    await expect(grpcCall(a.grpc, 'RepositoryModelUnload', modelRequest('nope'))).rejects.toMatchObject({ code: 5 });
    expect(await post(`${a.http}/v2/repository/models/m/load`, JSON.stringify({ parameters: { config: '{}' } }))).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT', error: expect.stringMatching(/parameter "config": a model configuration or file given with the request is not supported/) } });
    await expect(grpcCall(a.grpc, 'RepositoryModelLoad', modelRequest('m', 'file:1/model.onnx'))).rejects.toMatchObject({ code: 3, details: expect.stringMatching(/"file:1\/model.onnx"/) });
    expect(await post(`${a.http}/v2/repository/models/m/load`, '[1]')).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT' } });
    expect(await post(`${a.http}/v2/repository/models/m/load`)).toMatchObject({ status: 500, body: { code: 'INTERNAL' } });
  });

  it('are refused with a 400 that says why when the host gives no model control', async () => {
    const a = await start();
    expect(await post(`${a.http}/v2/repository/models/m/load`)).toEqual({ status: 400, body: { code: 'INVALID_INPUT', error: 'models are not loaded through this server: it serves the models its configuration declares' } });
    await expect(grpcCall(a.grpc, 'RepositoryModelUnload', modelRequest('m'))).rejects.toMatchObject({ code: 3, details: 'models are not unloaded through this server: it serves the models its configuration declares' });
  });

  it('RepositoryIndex over gRPC lists what POST /v2/repository/index lists', async () => {
    let ready = true;
    const a = await start({ isModelReady: () => ready });
    expect(readIndex(await grpcCall(a.grpc, 'RepositoryIndex', Buffer.alloc(0)))).toEqual(['m/1/READY', 'm/2/READY']);
    ready = false;
    expect(readIndex(await grpcCall(a.grpc, 'RepositoryIndex', Buffer.alloc(0)))).toEqual(['m/1/UNAVAILABLE', 'm/2/UNAVAILABLE']);
    expect(readIndex(await grpcCall(a.grpc, 'RepositoryIndex', Buffer.from([0x10, 1])))).toEqual([]);
    expect((await post(`${a.http}/v2/repository/index`)).body).toEqual([
      { name: 'm', version: '1', state: 'UNAVAILABLE', reason: 'no ready instance in the cluster' },
      { name: 'm', version: '2', state: 'UNAVAILABLE', reason: 'no ready instance in the cluster' },
    ]);
  });
});

describe('a compressed body on the repository routes', () => {
  /** A POST with a body in `encoding` (`Content-Encoding`), as the infer route reads it. */
  const postEncoded = async (url: string, body: Buffer, encoding: string): Promise<{ status: number; accept: string | null; body: unknown }> => {
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-encoding': encoding, 'content-type': 'application/json' } });
    return { status: res.status, accept: res.headers.get('accept-encoding'), body: await res.json() };
  };

  it('is inflated before it is read (gzip, deflate), as the infer route inflates its own', async () => {
    const { control, calls } = recording();
    const a = await start({ isModelReady: () => false, modelControl: control });
    expect((await postEncoded(`${a.http}/v2/repository/index`, gzipSync('{"ready":true}'), 'gzip')).body).toEqual([]);
    expect((await postEncoded(`${a.http}/v2/repository/index`, deflateSync('{"ready":false}'), 'deflate')).body).toHaveLength(2);
    expect(await postEncoded(`${a.http}/v2/repository/models/m/unload`, gzipSync('{"parameters":{"unload_dependents":true}}'), 'gzip')).toMatchObject({ status: 200, body: {} });
    expect(calls).toEqual(['unload m']);
  });

  it('that does not inflate is a 400, another coding a 415 naming the ones taken, one inflating past the limit a 413', async () => {
    const a = await start({ maxBodyBytes: 4096 });
    expect(await postEncoded(`${a.http}/v2/repository/index`, Buffer.from('{"ready":true}'), 'gzip')).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT', error: expect.stringContaining('does not inflate as gzip') } });
    expect(await postEncoded(`${a.http}/v2/repository/index`, Buffer.from('{}'), 'br')).toMatchObject({ status: 415, accept: 'gzip, deflate', body: { code: 'INVALID_INPUT' } });
    const bomb = gzipSync(Buffer.alloc(1 << 20, 0x20));
    expect(await postEncoded(`${a.http}/v2/repository/index`, bomb, 'gzip')).toMatchObject({ status: 413, body: { code: 'INVALID_INPUT' } });
  });
});

describe('the repository named in the request', () => {
  /** `RepositoryIndexRequest { repository_name = 1; ready = 2 }`. */
  const indexRequest = (repository: string): Buffer => Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(repository)]), Buffer.from(repository)]);
  /** `RepositoryModelLoadRequest { repository_name = 1; model_name = 2 }`. */
  const namedModelRequest = (repository: string, model: string): Buffer => Buffer.concat([indexRequest(repository), modelRequest(model)]);

  it("is served as the one repository when it is the server's name (Triton's /v2/repository/{repository}/… routes, repository_name over gRPC)", async () => {
    const { control, calls } = recording();
    const a = await start({ modelControl: control, server: { name: 'edge', version: '1' } });
    expect((await post(`${a.http}/v2/repository/edge/index`)).body).toEqual([
      { name: 'm', version: '1', state: 'READY' },
      { name: 'm', version: '2', state: 'READY' },
    ]);
    expect(await post(`${a.http}/v2/repository/edge/index/`, '{"ready":true}')).toMatchObject({ status: 200, body: [{ name: 'm' }, { name: 'm' }] });
    expect(await post(`${a.http}/v2/repository/edge/models/m/unload`)).toEqual({ status: 200, body: {} });
    expect(await post(`${a.http}/v2/repository/edge/models/m/load`)).toEqual({ status: 200, body: {} });
    expect(readIndex(await grpcCall(a.grpc, 'RepositoryIndex', indexRequest('edge')))).toEqual(['m/1/READY', 'm/2/READY']);
    expect((await grpcCall(a.grpc, 'RepositoryModelUnload', namedModelRequest('edge', 'm'))).length).toBe(0);
    expect(calls).toEqual(['unload m', 'load m', 'unload m']);
  });

  it('is a 404 (gRPC NOT_FOUND) naming the one there is when it is another name, before any model is looked at', async () => {
    const { control, calls } = recording();
    const a = await start({ modelControl: control });
    const error = 'unknown model repository "other": this server has one, "epara"';
    expect(await post(`${a.http}/v2/repository/other/index`)).toEqual({ status: 404, body: { code: 'UNKNOWN_SERVICE', error } });
    expect(await post(`${a.http}/v2/repository/other/models/m/load`)).toEqual({ status: 404, body: { code: 'UNKNOWN_SERVICE', error } });
    expect(await post(`${a.http}/v2/repository/other/models/nope/unload`)).toEqual({ status: 404, body: { code: 'UNKNOWN_SERVICE', error } });
    await expect(grpcCall(a.grpc, 'RepositoryIndex', indexRequest('other'))).rejects.toMatchObject({ code: 5, details: error });
    await expect(grpcCall(a.grpc, 'RepositoryModelLoad', namedModelRequest('other', 'm'))).rejects.toMatchObject({ code: 5, details: error });
    expect(calls).toEqual([]);
    // The other methods of the named routes are a 405 naming POST, as on the unnamed ones.
    const get = await fetch(`${a.http}/v2/repository/epara/index`);
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST, OPTIONS']);
  });
});
