import { credentials, loadPackageDefinition, Metadata, status } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { afterEach, expect } from 'vitest';
import { models, seededFloats } from '../fixtures/models.js';
import { ownClusterKey } from '../gateway/cluster-key.js';
import { oipGrpcClient } from '../gateway/oip-grpc-client.js';
import { freePort, startServe } from '../gateway/serve-process.js';
import type { ServeProcess } from '../gateway/serve-process.js';
import { startTcpProxy } from '../mesh/tcp-proxy.js';
import type { TcpProxy } from '../mesh/tcp-proxy.js';
import { reference } from '../runtime-models/ground-truth.js';
import type { Reference } from '../runtime-models/ground-truth.js';

/*
 * A cluster of real `epara serve` processes on 127.0.0.1 serving the PP-OCR classifier, for fault tests: an
 * entry server with no device for the model (every request it takes is offloaded) and workers that run it, each
 * worker optionally behind a TCP proxy the test controls (the worker advertises the proxy, so every mesh byte to
 * it crosses the proxy). Clients reach the entry's gateway over HTTP/REST, gRPC unary and gRPC streaming; each
 * request carries its own input (seeded), so an answer is checked against raw onnxruntime run on that input — an
 * answer delivered to the wrong request, or twice, fails the check.
 */

/** The classifier's input size and output name. */
const X = 3 * 48 * 192;
export const OUTPUT = 'softmax_0.tmp_0';

/** The outcomes a fault may give a request instead of its answer: typed, and said to be lost or retryable. */
export const LOST_CODES = ['PEER_UNAVAILABLE', 'NO_INSTANCE', 'CLOSED', 'OVERLOADED', 'DEADLINE_INFEASIBLE', 'DEADLINE_EXCEEDED', 'WORKER_CRASHED'];

/** The input of request `n` (distinct for each n). */
export function inputOf(n: number): Float32Array {
  return seededFloats(X, 1000 + n);
}

/** Raw onnxruntime answers of the classifier, by request number (computed once each). */
export class References {
  readonly #answers = new Map<number, Float32Array>();
  #session: Reference | undefined;

  async of(n: number): Promise<Float32Array> {
    const known = this.#answers.get(n);
    if (known) return known;
    this.#session ??= await reference(models.ocrCls);
    const out = await this.#session.run({ x: { type: 'float32', dims: [1, 3, 48, 192], data: inputOf(n) } });
    const answer = out[OUTPUT]!.data as Float32Array;
    this.#answers.set(n, answer);
    return answer;
  }

  async release(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    await session?.release();
  }
}

/** How one request settled: its answer, or the error's status and EPARA code. */
export type Outcome = { readonly n: number; readonly answer: Float32Array } | { readonly n: number; readonly status: number | string; readonly code: string | undefined };

/**
 * Expects every outcome to be its own request's answer (equal to raw onnxruntime's, to float rounding) or a typed
 * refusal from `codes`, and every request numbered in `sent` to have settled exactly once.
 */
export async function expectSettledOnce(outcomes: readonly Outcome[], sent: readonly number[], refs: References, codes = LOST_CODES): Promise<void> {
  if (process.env['EPARA_CLUSTER_TALLY'] === '1') console.log(JSON.stringify(outcomes.map((o) => ('answer' in o ? 'ok' : `${o.status}/${o.code}`)).reduce((m: Record<string, number>, k) => ((m[k] = (m[k] ?? 0) + 1), m), {})));
  const counts = new Map<number, number>();
  for (const o of outcomes) counts.set(o.n, (counts.get(o.n) ?? 0) + 1);
  expect([...counts.keys()].sort((a, b) => a - b)).toEqual([...sent].sort((a, b) => a - b));
  expect([...counts.values()].filter((c) => c !== 1)).toEqual([]);
  for (const o of outcomes) {
    if ('answer' in o) {
      const want = await refs.of(o.n);
      expect(o.answer.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(Math.abs(o.answer[i]! - want[i]!), `request ${o.n} value ${i}`).toBeLessThan(1e-5);
    } else {
      expect(codes, `request ${o.n}: ${o.status} ${o.code}`).toContain(o.code);
    }
  }
}

/** One HTTP/REST infer request (binary output) numbered `n` at `http`. */
export async function inferHttp(http: string, n: number, deadlineMs?: number): Promise<Outcome> {
  const body = JSON.stringify({
    id: `h-${n}`,
    ...(deadlineMs !== undefined ? { parameters: { epara_deadline_ms: deadlineMs } } : {}),
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: Array.from(inputOf(n)) }],
  });
  try {
    const res = await fetch(`${http}/v2/models/cls/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const json = (await res.json()) as { id?: string; code?: string; outputs?: { name: string; data: number[] }[] };
    if (res.status !== 200) return { n, status: res.status, code: json.code };
    expect(json.id).toBe(`h-${n}`);
    return { n, answer: Float32Array.from(json.outputs!.find((o) => o.name === OUTPUT)!.data) };
  } catch (err) {
    // The connection failed: the gateway's process is gone (not a typed answer).
    return { n, status: 'socket', code: `socket: ${(err as Error).message}` };
  }
}

type Unary = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: { id: string; raw_output_contents: Buffer[] }) => void) => void;
interface StreamAnswer {
  error_message: string;
  infer_response: { id: string; raw_output_contents: Buffer[] };
}
/** A grpc-js client of the inference service, the streaming RPC included (Triton's proto subset). */
export type TritonClient = Client & { ModelInfer: Unary; ModelStreamInfer: (meta: Metadata, opts: object) => ClientDuplexStream<object, StreamAnswer> };

export function grpcClient(address: string): TritonClient {
  const def = loadSync(fileURLToPath(new URL('../gateway/proto/triton_subset.proto', import.meta.url)), { keepCase: true, longs: Number, enums: String, defaults: true });
  const pkg = loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => TritonClient } };
  const triton = new pkg.inference.GRPCInferenceService(address, credentials.createInsecure());
  // ModelInfer from the protocol's own .proto (Triton's subset declares the streaming RPC only).
  const oip = oipGrpcClient<Unary>(address);
  const close = triton.close.bind(triton);
  return Object.assign(triton, { ModelInfer: oip['ModelInfer']!.bind(oip), close: () => (close(), oip.close()) });
}

const floats = (b: Buffer): Float32Array => new Float32Array(new Uint8Array(b).buffer);
const grpcRequest = (n: number, prefix: string): object => ({
  model_name: 'cls',
  id: `${prefix}-${n}`,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192] }],
  raw_input_contents: [Buffer.from(inputOf(n).buffer)],
});
/** The EPARA code an error message or status carries (`… (CODE)` in a stream's error_message, `epara-code` metadata). */
const codeIn = (text: string): string | undefined => /\(([A-Z_]+)\)$/.exec(text)?.[1];

/** One gRPC `ModelInfer` numbered `n`. */
export function inferGrpc(client: TritonClient, n: number, deadlineMs = 60_000): Promise<Outcome> {
  return new Promise((resolve) => {
    client.ModelInfer(grpcRequest(n, 'g'), new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
      // The client's own timer ends a call past its deadline with DEADLINE_EXCEEDED and no metadata: typed too.
      const own = err?.code === status.DEADLINE_EXCEEDED ? 'DEADLINE_EXCEEDED' : undefined;
      if (err) return resolve({ n, status: err.code, code: (err.metadata.get('epara-code')[0] as string | undefined) ?? own ?? `grpc ${err.code}: ${err.details}` });
      expect(res.id).toBe(`g-${n}`);
      resolve({ n, answer: floats(res.raw_output_contents[0]!) });
    });
  });
}

/** A `ModelStreamInfer` stream: requests written as numbered, answers collected by number. */
export class InferStream {
  readonly outcomes: Outcome[] = [];
  readonly sent: number[] = [];
  /** How the stream ended: `OK`, or the error's gRPC code. */
  readonly ended: Promise<string | number>;
  readonly #stream: ClientDuplexStream<object, StreamAnswer>;
  readonly #waiters: (() => void)[] = [];

  constructor(client: TritonClient) {
    this.#stream = client.ModelStreamInfer(new Metadata(), {});
    this.ended = new Promise((resolve) => {
      this.#stream.on('data', (a: StreamAnswer) => {
        const n = Number(a.infer_response.id.slice(2));
        this.outcomes.push(a.error_message === '' ? { n, answer: floats(a.infer_response.raw_output_contents[0]!) } : { n, status: 'stream', code: codeIn(a.error_message) ?? a.error_message });
        for (const w of this.#waiters.splice(0)) w();
      });
      this.#stream.on('error', (e: ServiceError) => resolve(e.code));
      this.#stream.on('end', () => resolve('OK'));
    });
  }

  write(n: number): void {
    this.sent.push(n);
    this.#stream.write(grpcRequest(n, 's'));
  }

  /** Resolves once `count` answers arrived (or the stream ended). */
  async answers(count: number): Promise<void> {
    let over = false;
    void this.ended.then(() => (over = true));
    while (this.outcomes.length < count && !over) await new Promise<void>((resolve) => (this.#waiters.push(resolve), void this.ended.then(() => resolve())));
  }

  end(): void {
    this.#stream.end();
  }
}

/** The serve config of a cluster member (the classifier served on `devices`; none: every request offloaded). */
export function memberConfig(o: { id: string; meshPort: number; seeds: readonly string[]; devices: readonly string[]; advertise?: string; deadlineMs?: number; drainTimeoutMs?: number }): string {
  return `node:
  id: ${o.id}
  listen: { host: 127.0.0.1, port: ${o.meshPort} }
${o.advertise !== undefined ? `  advertise: ${o.advertise}\n` : ''}  seeds: ${JSON.stringify(o.seeds)}
  joinTimeoutMs: 60000
  syncPeriodMs: 200
security:
  psk: { env: EPARA_TEST_PSK }
devices:
  - { id: cpu0, threads: 1 }
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
  - id: cls
    model: ${JSON.stringify(models.ocrCls)}
    sensitivity: latency
    slo: { kind: latency, deadlineMs: ${o.deadlineMs ?? 20000} }
    devices: ${JSON.stringify(o.devices)}
    inputs:
      x: { dims: [1, 3, 48, 192] }
gateway:
  http: { host: 127.0.0.1, port: 0 }
  grpc: { host: 127.0.0.1, port: 0 }
metrics: { enabled: false }
dashboard: { enabled: false }
drainTimeoutMs: ${o.drainTimeoutMs ?? 5000}
`;
}

/** A worker to start: its node id, behind a proxy the test controls with `proxied`, its service's deadline. */
export interface WorkerSpec {
  readonly id: string;
  readonly proxied?: boolean;
  readonly deadlineMs?: number;
}

/** The entry's service deadline and drain bound. */
export interface EntrySpec {
  readonly deadlineMs?: number;
  readonly drainTimeoutMs?: number;
}

/** A worker of the cluster: its mesh port, the address peers dial (a proxy's when it has one), its process. */
export interface Worker {
  readonly id: string;
  readonly meshPort: number;
  readonly address: string;
  readonly proxy: TcpProxy | undefined;
  serve: ServeProcess;
}

/**
 * The served cluster and the reference answers of each test of a file: the cluster's processes, proxies and clients
 * are closed and the reference session released after each test.
 */
export function clusterPerTest(): { readonly cluster: ServedCluster; readonly refs: References } {
  const cluster = new ServedCluster();
  const refs = new References();
  afterEach(async () => {
    await cluster.close();
    await refs.release();
  });
  return { cluster, refs };
}

/**
 * Starts and stops the processes and proxies of one test (call {@link close} after it). Its members hold a mesh key
 * of this cluster's own (see ownClusterKey): another file's cluster, same ids, that redials a port this one reused
 * would otherwise join it and replace its servers.
 */
export class ServedCluster {
  readonly processes: ServeProcess[] = [];
  readonly proxies: TcpProxy[] = [];
  readonly clients: Client[] = [];
  readonly #keyed = ownClusterKey();

  async serve(config: string): Promise<ServeProcess> {
    const p = await startServe(this.#keyed(config), 120_000);
    this.processes.push(p);
    return p;
  }

  /**
   * Starts the workers and the entry (no device for the model; seeded with every worker) at once: each worker seeded
   * with the workers before it, a `proxied` one behind a proxy that every mesh byte to it crosses. The mesh ports are
   * probed free before any member starts, so each config can name its seeds, and a member dials a seed not up yet
   * again until it joins. A port taken between the probe and the bind (other test files start processes alongside)
   * fails that member with `EADDRINUSE`: every member is stopped and the cluster started again on fresh ports, up to
   * 3 tries.
   */
  async start<const S extends readonly WorkerSpec[]>(workers: S, entry: EntrySpec = {}): Promise<{ readonly workers: { readonly [K in keyof S]: Worker }; readonly entry: ServeProcess }> {
    // The proxies bind their own ports (no probe, no race) and stay the same across tries; each reads its worker's
    // port at every connection.
    const ports = workers.map(() => 0);
    const proxies = await Promise.all(workers.map(async (w, i) => (w.proxied === true ? await startTcpProxy(() => ports[i]!) : undefined)));
    for (const proxy of proxies) if (proxy) this.proxies.push(proxy);
    for (let attempt = 1; ; attempt++) {
      for (let i = 0; i < workers.length; i++) ports[i] = await freePort();
      const entryPort = await freePort();
      const addresses = workers.map((_, i) => (proxies[i] ? `ws://127.0.0.1:${proxies[i].port}/epara` : `ws://127.0.0.1:${ports[i]}/epara`));
      const configs = [
        ...workers.map((w, i) =>
          memberConfig({ id: w.id, meshPort: ports[i]!, seeds: addresses.slice(0, i), devices: ['cpu0'], ...(proxies[i] ? { advertise: addresses[i]! } : {}), ...(w.deadlineMs !== undefined ? { deadlineMs: w.deadlineMs } : {}) }),
        ),
        memberConfig({ id: 'entry', meshPort: entryPort, seeds: addresses, devices: [], ...entry }),
      ];
      const started = await Promise.allSettled(configs.map((config) => this.serve(config)));
      const failed = started.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error] : []));
      if (failed.length === 0) {
        const serves = started.map((s) => (s as PromiseFulfilledResult<ServeProcess>).value);
        return {
          workers: workers.map((w, i) => ({ id: w.id, meshPort: ports[i]!, address: addresses[i]!, proxy: proxies[i], serve: serves[i]! })) as { readonly [K in keyof S]: Worker },
          entry: serves[workers.length]!,
        };
      }
      // Every member of this try stops before the next (a process that started is killed, then reaped).
      const up = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      for (const p of up) p.kill();
      await Promise.all(up.map((p) => p.exited));
      this.processes.splice(0, this.processes.length, ...this.processes.filter((p) => !up.includes(p)));
      if (attempt >= 3 || !failed.every((err) => String(err.message).includes('EADDRINUSE'))) throw failed[0]!;
    }
  }

  /** Starts the same worker again on its port (its proxy, if any, still in front). */
  async restart(w: Worker, seeds: readonly string[] = []): Promise<void> {
    w.serve = await this.serve(memberConfig({ id: w.id, meshPort: w.meshPort, seeds, devices: ['cpu0'], ...(w.proxy ? { advertise: w.address } : {}) }));
  }

  /** Starts the entry alone (no device for the model) seeded with the workers, e.g. again after it was killed. */
  async entry(workers: readonly Worker[], o: EntrySpec = {}): Promise<ServeProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.serve(memberConfig({ id: 'entry', meshPort: await freePort(), seeds: workers.map((w) => w.address), devices: [], ...o }));
      } catch (err) {
        if (attempt >= 3 || !String((err as Error).message).includes('EADDRINUSE')) throw err;
      }
    }
  }

  client(address: string): TritonClient {
    const c = grpcClient(address);
    this.clients.push(c);
    return c;
  }

  /** Closes the clients and proxies, ends every process (SIGKILL for one still running) and waits for each to exit. */
  async close(): Promise<void> {
    for (const c of this.clients.splice(0)) c.close();
    for (const p of this.processes) if (p.child.exitCode === null && p.child.signalCode === null) p.kill();
    await Promise.all(this.processes.splice(0).map((p) => p.exited));
    await Promise.all(this.proxies.splice(0).map((p) => p.close()));
  }
}

/** Asks again after each answer until `check` holds (the test's timeout is the hang guard). */
export async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await Promise.resolve().then(check).catch(() => false))) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Whether a process of that pid still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
