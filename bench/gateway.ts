/**
 * `pnpm bench:gateway`: what the Open Inference Protocol front door adds to a request, against calling
 * `node.submit` directly, in the same process and run, on the same small real model.
 *
 * Model: a 16 → 32 → 4 MLP (runtime `buildMlp`, ONNX, onnxruntime-node in a worker thread), one item `f32[1,16]`,
 * so the model itself costs microseconds and the path around it dominates. One mesh node (memory transport), one
 * 1-thread device, the gateway on loopback HTTP and gRPC.
 *
 * 1. Sequential latency p50/p90/p99 of: `node.submit` (baseline), REST JSON, REST binary tensor extension, gRPC
 *    (`raw_input_contents`, a `@grpc/proto-loader` client on the shipped .proto). Overhead = p50 − baseline p50.
 *    Clients run in the same process (keep-alive node:http agent; one gRPC channel), so their own cost counts.
 *    Floors, to show where the time goes: a bare node:http server that reads the body and answers a fixed JSON
 *    (`httpFloor`: the loopback HTTP round trip itself, no inference), a bare node:http server that reads the
 *    same binary request, runs the same `node.submit` and writes the output bytes (`httpInferFloor`: the least
 *    any HTTP front can add, with no protocol parsing or checks), the gateway's `GET /v2/health/live`
 *    (`restLive`: Fastify, no inference), gRPC `ServerLive` (`grpcLive`: grpc-js on both ends, no inference),
 *    and a bare grpc-js `ModelInfer` over the same .proto (protobuf.js codec) that takes `raw_input_contents[0]`,
 *    runs the same `node.submit` and answers `raw_output_contents` (`grpcInferFloor`: the least a grpc-js front
 *    can add, no checks).
 *    The paths run interleaved in rounds, each with its own warm-up excluded.
 *    The same again with lean clients (`gateway-lean-clients.ts`: a raw keep-alive socket for HTTP/1.1, a raw
 *    node:http2 session for gRPC), so the server-side added time is seen apart from the standard clients' cost:
 *    `restBinaryLean`, `restJsonLean`, `grpcLean` against the gateway; `httpInferFloorLean` (the bare node:http
 *    front above), `h2InferFloorLean` (a bare node:http2 gRPC front doing the same submit), `httpFloorLean` (the
 *    bare node:http echo) and `tcpFloorLean` (a node:net responder with no HTTP library: their difference is
 *    what node:http's server itself costs). To split gRPC's time by part: `h2WireFloorLean` and `grpcWireFloor`, the
 *    lean and grpc-js clients against a responder that writes the HTTP/2 frames itself on a node:net socket
 *    (`gateway-h2-wire-floor.ts`: no node:http2 server) doing the same submit; then the gRPC paths once more from
 *    a client in another process (`gateway-client-process.ts`), with the server's and the client's CPU per call.
 * 2. Throughput: REST binary with 16 requests in flight for a fixed time.
 *
 * The last line is one JSON object.
 */
import { createServer, request, Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { credentials, loadPackageDefinition, Metadata, Server, ServerCredentials } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { TensorLike } from '@epara/core';
import { createGateway, oipProtoPath } from '@epara/gateway';
import { createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import { buildMlp, createExecutor } from '@epara/runtime';
import { runClientProcess } from './gateway-client-process.js';
import { h2WireInferFloor } from './gateway-h2-wire-floor.js';
import { grpcFrame, h2GrpcClient, h2InferFloor, httpRequestBytes, rawHttpClient, rawTcpHttpFloor } from './gateway-lean-clients.js';

const N = Number(process.env['BENCH_N'] ?? 1500);
const WARMUP = 200;
const THROUGHPUT_MS = 3000;
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

const x = new Float32Array(16).map((_, i) => (i % 7) / 7);
const tensor = (): TensorLike => ({ type: 'float32', dims: [1, 16], data: x.slice() });

async function setup() {
  const executor = createExecutor({
    devices: [{ id: 'cpu0', threads: 1 }],
    launchWhenIdle: true,
    services: [{ id: 'mlp', model: buildMlp({ inputSize: 16, hidden: [32], outputs: 4, seed: 1 }), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 1000 }, devices: ['cpu0'], sampleInputs: { x: tensor() }, maxBatch: 8 }],
  });
  await executor.start();
  const hub = createMemoryHub();
  const node = createNode({ id: 'bench', transport: createMemoryTransport({ hub }), executor, security: { insecure: true }, placement: false, services: [{ id: 'mlp', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 1000 }, memory: { weightsBytes: 0, perItemBytes: 0 }, profiles: {} }] });
  await node.start();
  const gateway = createGateway({
    node,
    models: [{ name: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 16] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }] }],
    http: { host: '127.0.0.1', port: 0 },
    grpc: { host: '127.0.0.1', port: 0 },
  });
  const addr = await gateway.start();
  return { executor, node, gateway, addr };
}

function httpPoster(base: string) {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return (path: string, body: Buffer, headers: Record<string, string>, method = 'POST'): Promise<{ status: number; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path, method, agent, headers: { 'content-length': String(body.length), ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end(body);
    });
}

/** CPU time of the whole process (main thread, worker threads, client and server alike) per timed call, by path. */
const cpuUs: Record<string, { us: number; n: number }> = {};

async function timeIt(key: string, n: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const out: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  const c = (cpuUs[key] ??= { us: 0, n: 0 });
  c.us += cpu.user + cpu.system;
  c.n += n;
  return out;
}

async function main(): Promise<void> {
  const { executor, node, gateway, addr } = await setup();
  const post = httpPoster(addr.http!);
  const jsonBody = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16], data: Array.from(x) }] }));
  const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16], parameters: { binary_data_size: 64 } }], outputs: [{ name: 'y', parameters: { binary_data: true } }] }));
  const binBody = Buffer.concat([head, Buffer.from(x.buffer)]);
  const binHeaders = { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) };
  const check = (r: { status: number; body: Buffer }): void => {
    if (r.status !== 200) throw new Error(`status ${r.status}: ${r.body.toString()}`);
  };
  const def = loadSync(oipProtoPath(), { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  type Infer = (req: object, meta: Metadata, cb: (e: ServiceError | null, r: unknown) => void) => void;
  const Ctor = (loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Client & { ModelInfer: Infer; ServerLive: Infer } } }).inference.GRPCInferenceService;
  const floor = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"model_name":"mlp","outputs":[]}'));
  });
  await new Promise<void>((r) => floor.listen(0, '127.0.0.1', r));
  const floorPost = httpPoster(`http://127.0.0.1:${(floor.address() as AddressInfo).port}`);
  // The least an HTTP front over node.submit does: read the binary request, submit the tensor, write its output.
  const inferFloor = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const data = new Float32Array(16);
      new Uint8Array(data.buffer).set(body.subarray(body.length - 64));
      node.submit('mlp', { x: { type: 'float32', dims: [1, 16], data } }).then(
        (out) => {
          const y = out['y']!.data as Float32Array;
          res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
        },
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
  });
  await new Promise<void>((r) => inferFloor.listen(0, '127.0.0.1', r));
  const inferFloorPost = httpPoster(`http://127.0.0.1:${(inferFloor.address() as AddressInfo).port}`);
  const getLive = httpPoster(addr.http!);
  const grpc = new Ctor(addr.grpc!, credentials.createInsecure());
  const bareGrpc = new Server();
  type Call = { request: { raw_input_contents: Buffer[] } };
  const svc = (loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: { service: Parameters<Server['addService']>[0] } } }).inference.GRPCInferenceService.service;
  bareGrpc.addService(svc, {
    ModelInfer: (call: Call, cb: (e: Error | null, r?: object) => void) => {
      const rawIn = call.request.raw_input_contents[0]!;
      const data = new Float32Array(16);
      new Uint8Array(data.buffer).set(rawIn);
      node.submit('mlp', { x: { type: 'float32', dims: [1, 16], data } }).then(
        (out) => {
          const y = out['y']!.data as Float32Array;
          cb(null, { model_name: 'mlp', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 4] }], raw_output_contents: [Buffer.from(y.buffer, y.byteOffset, y.byteLength)] });
        },
        (err: Error) => cb(err),
      );
    },
  });
  const barePort = await new Promise<number>((resolve, reject) => bareGrpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const bareGrpcClient = new Ctor(`127.0.0.1:${barePort}`, credentials.createInsecure());
  const raw = Buffer.from(x.buffer);
  const grpcInfer = (c = grpc): Promise<unknown> => new Promise((resolve, reject) => c.ModelInfer({ model_name: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16] }], raw_input_contents: [raw] }, new Metadata(), (e, r) => (e ? reject(e) : resolve(r))));

  // Lean clients (a raw keep-alive socket for HTTP/1.1, a raw node:http2 session for gRPC): what the servers add
  // without the standard clients' own cost.
  const port = (u: string): number => Number(new URL(u).port);
  const leanGateway = rawHttpClient(port(addr.http!));
  const leanGatewayJson = rawHttpClient(port(addr.http!));
  const leanInferFloor = rawHttpClient((inferFloor.address() as AddressInfo).port);
  const leanFloor = rawHttpClient((floor.address() as AddressInfo).port);
  const fixedAnswer = '{"model_name":"mlp","outputs":[]}';
  const tcpFloor = await rawTcpHttpFloor(Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${fixedAnswer.length}\r\n\r\n${fixedAnswer}`));
  const leanTcpFloor = rawHttpClient(tcpFloor.port);
  const binRequest = httpRequestBytes('POST', '/v2/models/mlp/infer', binHeaders, binBody);
  const jsonRequest = httpRequestBytes('POST', '/v2/models/mlp/infer', { 'content-type': 'application/json' }, jsonBody);
  const floorRequest = httpRequestBytes('POST', '/', binHeaders, binBody);
  const inferPath = '/inference.GRPCInferenceService/ModelInfer';
  const serialize = (def['inference.GRPCInferenceService'] as unknown as { ModelInfer: { requestSerialize: (v: object) => Buffer } }).ModelInfer.requestSerialize;
  const grpcRequestFrame = grpcFrame(serialize({ model_name: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16] }], raw_input_contents: [raw] }));
  const leanGrpc = h2GrpcClient(addr.grpc!);
  // The least an HTTP/2 gRPC front over node.submit does: take raw_input_contents (the message's last 64 bytes), submit, frame the output bytes.
  const h2Floor = await h2InferFloor(async (message) => {
    const data = new Float32Array(16);
    new Uint8Array(data.buffer).set(message.subarray(message.length - 64));
    const y = (await node.submit('mlp', { x: { type: 'float32', dims: [1, 16], data } }))['y']!.data as Float32Array;
    return new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
  });
  const leanH2Floor = h2GrpcClient(h2Floor.address);
  // The same submit behind a responder that writes HTTP/2 frames itself on a node:net socket (no node:http2 server),
  // answering a protobuf.js-encoded ModelInferResponse so that grpc-js can read it too.
  const serializeResponse = (def['inference.GRPCInferenceService'] as unknown as { ModelInfer: { responseSerialize: (v: object) => Buffer } }).ModelInfer.responseSerialize;
  const wireFloor = await h2WireInferFloor(async (message) => {
    const data = new Float32Array(16);
    new Uint8Array(data.buffer).set(message.subarray(message.length - 64));
    const y = (await node.submit('mlp', { x: { type: 'float32', dims: [1, 16], data } }))['y']!.data as Float32Array;
    return serializeResponse({ model_name: 'mlp', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 4] }], raw_output_contents: [Buffer.from(y.buffer, y.byteOffset, y.byteLength)] });
  });
  const leanWireFloor = h2GrpcClient(wireFloor.address);
  const grpcWireClient = new Ctor(wireFloor.address, credentials.createInsecure());
  const checkLean = (r: { status: number; body: Buffer }): void => check(r);

  // Interleave the paths in rounds so that a burst of load from other processes hits each of them alike.
  type PathKey = 'submit' | 'restJson' | 'restBinary' | 'grpc' | 'httpFloor' | 'httpInferFloor' | 'restLive' | 'grpcLive' | 'grpcInferFloor' | 'restJsonLean' | 'restBinaryLean' | 'httpInferFloorLean' | 'httpFloorLean' | 'tcpFloorLean' | 'grpcLean' | 'h2InferFloorLean' | 'h2WireFloorLean' | 'grpcWireFloor';
  const samples = Object.fromEntries(['submit', 'restJson', 'restBinary', 'grpc', 'httpFloor', 'httpInferFloor', 'restLive', 'grpcLive', 'grpcInferFloor', 'restJsonLean', 'restBinaryLean', 'httpInferFloorLean', 'httpFloorLean', 'tcpFloorLean', 'grpcLean', 'h2InferFloorLean', 'h2WireFloorLean', 'grpcWireFloor'].map((k) => [k, [] as number[]])) as Record<PathKey, number[]>;
  const paths: [keyof typeof samples, () => Promise<unknown>][] = [
    ['submit', () => node.submit('mlp', { x: tensor() })],
    ['restJson', async () => check(await post('/v2/models/mlp/infer', jsonBody, { 'content-type': 'application/json' }))],
    ['restBinary', async () => check(await post('/v2/models/mlp/infer', binBody, binHeaders))],
    ['grpc', () => grpcInfer()],
    ['httpFloor', async () => check(await floorPost('/', binBody, binHeaders))],
    ['httpInferFloor', async () => check(await inferFloorPost('/', binBody, binHeaders))],
    ['restLive', async () => check(await getLive('/v2/health/live', Buffer.alloc(0), {}, 'GET'))],
    ['grpcLive', () => new Promise((resolve, reject) => grpc.ServerLive({}, new Metadata(), (e, r) => (e ? reject(e) : resolve(r))))],
    ['grpcInferFloor', () => grpcInfer(bareGrpcClient)],
    ['restJsonLean', async () => checkLean(await leanGatewayJson.send(jsonRequest))],
    ['restBinaryLean', async () => checkLean(await leanGateway.send(binRequest))],
    ['httpInferFloorLean', async () => checkLean(await leanInferFloor.send(floorRequest))],
    ['httpFloorLean', async () => checkLean(await leanFloor.send(floorRequest))],
    ['tcpFloorLean', async () => checkLean(await leanTcpFloor.send(floorRequest))],
    ['grpcLean', () => leanGrpc.call(inferPath, grpcRequestFrame)],
    ['h2InferFloorLean', () => leanH2Floor.call(inferPath, grpcRequestFrame)],
    ['h2WireFloorLean', () => leanWireFloor.call(inferPath, grpcRequestFrame)],
    ['grpcWireFloor', () => grpcInfer(grpcWireClient)],
  ];
  const ROUNDS = 5;
  for (let r = 0; r < ROUNDS; r++) for (const [k, fn] of paths) samples[k].push(...(await timeIt(k, Math.ceil(N / ROUNDS), fn)));

  // The same gRPC paths from a client in another process: the server's and the client's CPU per call apart.
  const split = process.env['BENCH_SPLIT'] === '0' ? undefined : await runClientProcess({ gateway: addr.grpc!, h2Floor: h2Floor.address, wireFloor: wireFloor.address, frame: grpcRequestFrame.toString('base64'), n: N });

  const p50 = (k: keyof typeof samples): number => quantile(samples[k], 0.5);
  const p90 = (k: keyof typeof samples): number => quantile(samples[k], 0.9);
  const p99 = (k: keyof typeof samples): number => quantile(samples[k], 0.99);
  const base = p50('submit');
  console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (shared; figures are noisy)`);
  const cpu = (k: keyof typeof samples): number => cpuUs[k]!.us / cpuUs[k]!.n;
  console.log(`${N} samples per path (CPU: whole process, µs per call)`);
  console.log('path                      p50 ms   p90 ms   p99 ms   overhead p50 ms   ratio to node.submit   CPU µs');
  for (const k of Object.keys(samples) as (keyof typeof samples)[]) {
    console.log(`${k.padEnd(24)} ${p50(k).toFixed(3).padStart(7)}  ${p90(k).toFixed(3).padStart(7)}  ${p99(k).toFixed(3).padStart(7)}  ${(p50(k) - base).toFixed(3).padStart(16)}   ×${(p50(k) / base).toFixed(2).padEnd(19)} ${cpu(k).toFixed(0).padStart(6)}`);
  }
  const floorOverhead = p50('httpInferFloor') - base;
  console.log(
    `REST over a bare node:http front doing the same submit (p50): binary +${(p50('restBinary') - p50('httpInferFloor')).toFixed(3)} ms, JSON +${(p50('restJson') - p50('httpInferFloor')).toFixed(3)} ms; ` +
      `overhead ratio to that front's own overhead: binary ×${((p50('restBinary') - base) / floorOverhead).toFixed(2)}, JSON ×${((p50('restJson') - base) / floorOverhead).toFixed(2)}; ` +
      `gRPC over grpc-js ServerLive: +${(p50('grpc') - p50('grpcLive')).toFixed(3)} ms, over a bare grpc-js ModelInfer doing the same submit: +${(p50('grpc') - p50('grpcInferFloor')).toFixed(3)} ms (overhead ratio ×${((p50('grpc') - base) / (p50('grpcInferFloor') - base)).toFixed(2)})`,
  );

  console.log(
    `lean clients (server-side added time, p50 over node.submit): REST binary +${(p50('restBinaryLean') - base).toFixed(3)} ms (a bare node:http front: +${(p50('httpInferFloorLean') - base).toFixed(3)}), ` +
      `REST JSON +${(p50('restJsonLean') - base).toFixed(3)} ms, gRPC +${(p50('grpcLean') - base).toFixed(3)} ms (a bare node:http2 front: +${(p50('h2InferFloorLean') - base).toFixed(3)}); ` +
      `node:http's server over a raw TCP responder: +${(p50('httpFloorLean') - p50('tcpFloorLean')).toFixed(3)} ms; standard clients' share: REST binary ${(p50('restBinary') - p50('restBinaryLean')).toFixed(3)} ms, gRPC (grpc-js) ${(p50('grpc') - p50('grpcLean')).toFixed(3)} ms`,
  );

  console.log(
    `gRPC p50 over node.submit, by part: grpc-js client over the lean node:http2 client (both against the HTTP/2-on-a-socket responder) +${(p50('grpcWireFloor') - p50('h2WireFloorLean')).toFixed(3)} ms; ` +
      `node:http2's server (bare node:http2 front over that responder) +${(p50('h2InferFloorLean') - p50('h2WireFloorLean')).toFixed(3)} ms; the gateway over the bare node:http2 front +${(p50('grpcLean') - p50('h2InferFloorLean')).toFixed(3)} ms; ` +
      `the lean node:http2 client with the responder +${(p50('h2WireFloorLean') - base).toFixed(3)} ms; the least any server reaches with grpc-js here: +${(p50('grpcWireFloor') - base).toFixed(3)} ms`,
  );
  if (split) {
    console.log(`the client in another process (${N} calls per path; CPU µs per call, server = the bench process incl. its worker threads; node.submit alone in-process: ${cpu('submit').toFixed(0)} µs)`);
    console.log('path                      p50 ms   p90 ms   client CPU µs   server CPU µs');
    for (const [k, r] of Object.entries(split)) console.log(`${k.padEnd(24)} ${r.p50.toFixed(3).padStart(7)}  ${r.p90.toFixed(3).padStart(7)}  ${r.clientCpuUs.toFixed(0).padStart(14)}  ${r.serverCpuUs.toFixed(0).padStart(14)}`);
  }

  // Throughput: REST binary, 16 in flight.
  // Only answers within the deadline count; refusals (a loaded machine can make the node shed load) are reported.
  let done = 0;
  let refusedRest = 0;
  const until = performance.now() + THROUGHPUT_MS;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < until) {
        const r = await post('/v2/models/mlp/infer', binBody, binHeaders);
        if (r.status === 200) done++;
        else refusedRest++;
      }
    }),
  );
  const requestsPerSec = (done * 1000) / (performance.now() - t0);
  let submitted = 0;
  let refusedSubmit = 0;
  const until2 = performance.now() + THROUGHPUT_MS;
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < until2) {
        await node.submit('mlp', { x: tensor() }).then(
          () => submitted++,
          () => refusedSubmit++,
        );
      }
    }),
  );
  const submitPerSec = (submitted * 1000) / (performance.now() - t1);
  console.log(`throughput, 16 in flight: REST binary ${requestsPerSec.toFixed(0)} req/s vs node.submit ${submitPerSec.toFixed(0)} req/s (×${(requestsPerSec / submitPerSec).toFixed(2)}); refused: REST ${refusedRest}, node.submit ${refusedSubmit}`);

  grpc.close();
  bareGrpcClient.close();
  grpcWireClient.close();
  for (const c of [leanGateway, leanGatewayJson, leanInferFloor, leanFloor, leanTcpFloor, leanGrpc, leanH2Floor, leanWireFloor]) c.close();
  wireFloor.close();
  tcpFloor.close();
  h2Floor.close();
  bareGrpc.forceShutdown();
  floor.close();
  inferFloor.close();
  await gateway.close();
  await node.close();
  await executor.close();
  console.log(
    JSON.stringify({
      restOverheadMsP50: round(p50('restJson') - base),
      grpcOverheadMsP50: round(p50('grpc') - base),
      restBinaryOverheadMsP50: round(p50('restBinary') - base),
      submitP99Ms: round(p99('submit')),
      restP99Ms: round(p99('restJson')),
      restBinaryP99Ms: round(p99('restBinary')),
      grpcP99Ms: round(p99('grpc')),
      submitCpuUs: Math.round(cpu('submit')),
      restCpuUs: Math.round(cpu('restJson')),
      restBinaryCpuUs: Math.round(cpu('restBinary')),
      grpcCpuUs: Math.round(cpu('grpc')),
      httpInferFloorCpuUs: Math.round(cpu('httpInferFloor')),
      httpInferFloorOverheadMsP50: round(floorOverhead),
      restBinaryOverFloorMsP50: round(p50('restBinary') - p50('httpInferFloor')),
      restOverFloorMsP50: round(p50('restJson') - p50('httpInferFloor')),
      grpcOverLiveMsP50: round(p50('grpc') - p50('grpcLive')),
      grpcInferFloorOverheadMsP50: round(p50('grpcInferFloor') - base),
      grpcOverFloorMsP50: round(p50('grpc') - p50('grpcInferFloor')),
      grpcInferFloorCpuUs: Math.round(cpu('grpcInferFloor')),
      requestsPerSec: Math.round(requestsPerSec),
      submitP50Ms: round(base),
      submitRequestsPerSec: Math.round(submitPerSec),
      httpFloorMsP50: round(p50('httpFloor')),
      grpcLiveMsP50: round(p50('grpcLive')),
      restBinaryLeanOverheadMsP50: round(p50('restBinaryLean') - base),
      restJsonLeanOverheadMsP50: round(p50('restJsonLean') - base),
      grpcLeanOverheadMsP50: round(p50('grpcLean') - base),
      httpInferFloorLeanOverheadMsP50: round(p50('httpInferFloorLean') - base),
      h2InferFloorLeanOverheadMsP50: round(p50('h2InferFloorLean') - base),
      restBinaryLeanOverFloorMsP50: round(p50('restBinaryLean') - p50('httpInferFloorLean')),
      grpcLeanOverFloorMsP50: round(p50('grpcLean') - p50('h2InferFloorLean')),
      restBinaryLeanRatioToFloor: round((p50('restBinaryLean') - base) / (p50('httpInferFloorLean') - base), 2),
      grpcLeanRatioToFloor: round((p50('grpcLean') - base) / (p50('h2InferFloorLean') - base), 2),
      grpcRatioToGrpcJsFloor: round((p50('grpc') - base) / (p50('grpcInferFloor') - base), 2),
      nodeHttpServerMsP50: round(p50('httpFloorLean') - p50('tcpFloorLean')),
      tcpFloorMsP50: round(p50('tcpFloorLean')),
      restBinaryLeanCpuUs: Math.round(cpu('restBinaryLean')),
      grpcLeanCpuUs: Math.round(cpu('grpcLean')),
      h2InferFloorLeanCpuUs: Math.round(cpu('h2InferFloorLean')),
      h2WireFloorLeanOverheadMsP50: round(p50('h2WireFloorLean') - base),
      grpcWireFloorOverheadMsP50: round(p50('grpcWireFloor') - base),
      grpcJsClientOverLeanMsP50: round(p50('grpcWireFloor') - p50('h2WireFloorLean')),
      nodeH2ServerMsP50: round(p50('h2InferFloorLean') - p50('h2WireFloorLean')),
      ...(split
        ? {
            splitGrpcP50Ms: round(split['grpc']!.p50),
            splitGrpcLeanP50Ms: round(split['grpcLean']!.p50),
            splitGrpcClientCpuUs: Math.round(split['grpc']!.clientCpuUs),
            splitGrpcLeanClientCpuUs: Math.round(split['grpcLean']!.clientCpuUs),
            splitGrpcServerCpuUs: Math.round(split['grpc']!.serverCpuUs),
            splitGrpcLeanServerCpuUs: Math.round(split['grpcLean']!.serverCpuUs),
            splitH2InferFloorServerCpuUs: Math.round(split['h2InferFloorLean']!.serverCpuUs),
            splitH2WireFloorServerCpuUs: Math.round(split['h2WireFloorLean']!.serverCpuUs),
          }
        : {}),
      loadAverage1m: round(loadavg()[0]!, 1),
    }),
  );
}

await main();
