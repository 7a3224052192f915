/**
 * The client side of `bench/gateway.ts`'s separate-process section: run by `fork` from the bench, it makes
 * unary gRPC calls to the servers the bench process hosts, one path after another, and asks the bench process for
 * its CPU time before and after each path, so that what a call costs the server and what it costs the client
 * are seen apart (and without the two sharing one event loop). Paths: the lean `node:http2` client and the
 * grpc-js client against the gateway, and the lean client against the bare node:http2 front and the
 * HTTP/2-on-a-socket responder.
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { credentials, loadPackageDefinition, Metadata } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { oipProtoPath } from '@epara/gateway';
import { h2GrpcClient } from './gateway-lean-clients.js';

/** What the bench sends the child. */
export interface ClientProcessTask {
  readonly gateway: string;
  readonly h2Floor: string;
  readonly wireFloor: string;
  readonly frame: string;
  readonly n: number;
}

/** What the child answers per path: p50 and p90 ms, its own CPU and the server process's CPU per call, µs. */
export type ClientProcessResult = Record<string, { p50: number; p90: number; clientCpuUs: number; serverCpuUs: number }>;

const WARMUP = 200;
const ROUNDS = 5;
const INFER = '/inference.GRPCInferenceService/ModelInfer';

/** The bench process's CPU time (µs, whole process), asked over IPC. */
function serverCpu(): Promise<number> {
  return new Promise((resolve) => {
    process.once('message', (m: { cpuUs: number }) => resolve(m.cpuUs));
    process.send!({ cpu: true });
  });
}

async function run(task: ClientProcessTask): Promise<ClientProcessResult> {
  const frame = Buffer.from(task.frame, 'base64');
  const def = loadSync(oipProtoPath(), { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  type Infer = (req: object, meta: Metadata, cb: (e: ServiceError | null, r: unknown) => void) => void;
  const Ctor = (loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Client & { ModelInfer: Infer } } }).inference.GRPCInferenceService;
  const grpc = new Ctor(task.gateway, credentials.createInsecure());
  const raw = frame.subarray(frame.length - 64);
  const lean = { gateway: h2GrpcClient(task.gateway), h2Floor: h2GrpcClient(task.h2Floor), wireFloor: h2GrpcClient(task.wireFloor) };
  const paths: [string, () => Promise<unknown>][] = [
    ['grpcLean', () => lean.gateway.call(INFER, frame)],
    ['grpc', () => new Promise((resolve, reject) => grpc.ModelInfer({ model_name: 'mlp', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16] }], raw_input_contents: [raw] }, new Metadata(), (e, r) => (e ? reject(e) : resolve(r))))],
    ['h2InferFloorLean', () => lean.h2Floor.call(INFER, frame)],
    ['h2WireFloorLean', () => lean.wireFloor.call(INFER, frame)],
  ];
  // Paths in rounds, as in the bench, so that a burst of load from other processes hits each of them alike.
  const samples: Record<string, { xs: number[]; clientUs: number; serverUs: number }> = {};
  for (const [, fn] of paths) for (let i = 0; i < WARMUP; i++) await fn();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [key, fn] of paths) {
      const s = (samples[key] ??= { xs: [], clientUs: 0, serverUs: 0 });
      const s0 = await serverCpu();
      const c0 = process.cpuUsage();
      for (let i = 0; i < Math.ceil(task.n / ROUNDS); i++) {
        const t0 = performance.now();
        await fn();
        s.xs.push(performance.now() - t0);
      }
      const c = process.cpuUsage(c0);
      s.serverUs += (await serverCpu()) - s0;
      s.clientUs += c.user + c.system;
    }
  }
  const out: ClientProcessResult = {};
  for (const [key, s] of Object.entries(samples)) {
    const xs = s.xs.sort((a, b) => a - b);
    out[key] = { p50: xs[Math.floor(xs.length / 2)]!, p90: xs[Math.floor(xs.length * 0.9)]!, clientCpuUs: s.clientUs / xs.length, serverCpuUs: s.serverUs / xs.length };
  }
  grpc.close();
  for (const c of Object.values(lean)) c.close();
  return out;
}

/** Runs the client side in a child process (same runtime flags as this one); resolves with its figures. */
export function runClientProcess(task: ClientProcessTask): Promise<ClientProcessResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), { execArgv: process.execArgv, stdio: 'inherit' });
    child.on('message', (m: { cpu?: true; result?: ClientProcessResult; error?: string }) => {
      if (m.cpu) {
        const c = process.cpuUsage();
        child.send({ cpuUs: c.user + c.system });
      } else if (m.result) resolve(m.result);
      else if (m.error) reject(new Error(m.error));
    });
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`the client process exited with ${code}`))));
    child.send(task);
  });
}

if (process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  process.once('message', (task: ClientProcessTask) => {
    run(task).then(
      (result) => process.send!({ result }, () => process.exit(0)),
      (err: Error) => process.send!({ error: err.stack ?? err.message }, () => process.exit(1)),
    );
  });
}
