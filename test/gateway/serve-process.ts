import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { models } from '../fixtures/models.js';
import { ownClusterKey } from './cluster-key.js';

/** The built `epara` command (tests need `pnpm build` first, like the runtime's worker). */
export const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'gateway', 'dist', 'bin.js');

/**
 * A config serving the PP-OCR classifier on loopback, every port picked by the OS, its profile one run per batch size
 * (no test here reads a measured cost; the default's four runs per size were a tenth of each start's CPU). The
 * Prometheus metrics only with `metrics: true`, for the tests that read them or their config: loading prom-client
 * and registering the collectors was about a seventh of a server's start-up CPU.
 */
export function classifierConfig(o: { id?: string; maxBodyBytes?: number; deadlineMs?: number; drainTimeoutMs?: number; metrics?: boolean; extra?: string } = {}): string {
  return `# written by test/gateway
node:
  id: ${o.id ?? 'edge-1'}
  listen: { host: 127.0.0.1, port: 0 }
security:
  psk: { env: EPARA_TEST_PSK }
devices:
  - { id: cpu0, threads: 1 }
services:
  - id: cls
    model: ${JSON.stringify(models.ocrCls)}
    sensitivity: latency
    slo: { kind: latency, deadlineMs: ${o.deadlineMs ?? 1000} }
    devices: [cpu0]
    inputs:
      x: { dims: [1, 3, 48, 192] }
    maxBatch: 8
gateway:
  http: { host: 127.0.0.1, port: 0 }
  grpc: { host: 127.0.0.1, port: 0 }
  maxBodyBytes: ${o.maxBodyBytes ?? 1048576}
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
metrics: { enabled: ${o.metrics ?? false} }
drainTimeoutMs: ${o.drainTimeoutMs ?? 5000}
${o.extra ?? ''}`;
}

/**
 * A config serving each model file of `files` (by service id) on loopback as declared by the file alone: one CPU
 * device, each model a latency service with a 30 s SLO, a one-run profile, every port picked by the OS; `extra`
 * lines are appended.
 */
export function modelFilesConfig(id: string, files: Readonly<Record<string, string>>, extra = ''): string {
  const services = modelServices(files, ['cpu0']);
  return `node: { id: ${id}, listen: { host: 127.0.0.1, port: 0 } }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
${services}
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 } }
metrics: { enabled: false }
dashboard: { enabled: false }
${extra}`;
}

/**
 * A cluster member's config serving each model file of `paths` (by service id) on `devices` (none: every request
 * offloaded), joining `seeds`; every port is picked by the OS (one picked free beforehand may be taken before the
 * process binds it), so an entry seeds the mesh address a worker says it listens on.
 */
export function clusterMemberConfig(id: string, paths: Readonly<Record<string, string>>, seeds: readonly string[], devices: readonly string[]): string {
  const services = modelServices(paths, devices);
  return `node: { id: ${id}, listen: { host: 127.0.0.1, port: 0 }, seeds: ${JSON.stringify(seeds)}, joinTimeoutMs: 60000, syncPeriodMs: 200 }
security: { insecure: true }
devices: [ { id: cpu0, threads: 1 } ]
executor: { profiling: { warmup: 0, repetitions: 1, warmShapesMs: 0 } }
services:
${services}
gateway: { http: { host: 127.0.0.1, port: 0 }, grpc: { host: 127.0.0.1, port: 0 } }
metrics: { enabled: false }
dashboard: { enabled: false }
log: { level: error }
`;
}

/**
 * Two workers (`worker-a`, `worker-b`) serving each model file of `paths` on one device each, and an entry with no
 * device seeding both, under a mesh key of the cluster's own (`ownClusterKey`); each process is pushed onto `into`
 * as it starts, so that one whose later peer fails to start is still stopped by the caller.
 */
export async function startTwoWorkerCluster(paths: Readonly<Record<string, string>>, into: ServeProcess[]): Promise<{ a: ServeProcess; b: ServeProcess; entry: ServeProcess }> {
  const keyed = ownClusterKey();
  const a = await startServe(keyed(clusterMemberConfig('worker-a', paths, [], ['cpu0'])), 120_000);
  into.push(a);
  const b = await startServe(keyed(clusterMemberConfig('worker-b', paths, [a.mesh], ['cpu0'])), 120_000);
  into.push(b);
  const entry = await startServe(keyed(clusterMemberConfig('entry', paths, [a.mesh, b.mesh], [])), 120_000);
  into.push(entry);
  return { a, b, entry };
}

/** The `services` lines of a config: each model file of `files` (by service id) a latency service with a 30 s SLO on `devices`. */
function modelServices(files: Readonly<Record<string, string>>, devices: readonly string[]): string {
  return Object.entries(files)
    .map(([service, file]) => `  - { id: ${service}, model: ${JSON.stringify(file)}, sensitivity: latency, slo: { kind: latency, deadlineMs: 30000 }, devices: ${JSON.stringify(devices)} }`)
    .join('\n');
}

/** A running `epara serve` child process. */
export interface ServeProcess {
  readonly child: ChildProcess;
  readonly http: string;
  readonly grpc: string;
  /** The mesh address it listens on (peers' `node.seeds`). */
  readonly mesh: string;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  /** Resolves once the process printed `text` (at once if it already has), or when it exits. */
  untilOutput(text: string): Promise<void>;
  kill(): void;
}

/** Writes `config` to a temporary file and starts `epara serve` on it; resolves once it printed its addresses. */
export async function startServe(config: string, timeoutMs = 60_000): Promise<ServeProcess> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run pnpm build first`);
  const dir = mkdtempSync(join(tmpdir(), 'epara-serve-'));
  const file = join(dir, 'epara.yaml');
  writeFileSync(file, config);
  const child = spawn(process.execPath, [BIN, 'serve', file], { env: { ...process.env, EPARA_TEST_PSK: 'test-psk-0123456789abcdef' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = await new Promise<{ http: string; grpc: string; mesh: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`epara serve did not start:\n${out}`)), timeoutMs);
    const check = (): void => {
      const line = out.split('\n').find((l) => l.includes('"event":"listening"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { http: string; grpc: string; mesh: string });
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => (clearTimeout(timer), reject(new Error(`epara serve exited with ${code}:\n${out}`))));
  });
  const untilOutput = (text: string): Promise<void> =>
    new Promise<void>((resolve) => {
      const check = (): void => {
        if (!out.includes(text)) return;
        child.stdout!.off('data', check);
        resolve();
      };
      child.stdout!.on('data', check);
      void exited.then(() => (child.stdout!.off('data', check), resolve()));
      check();
    });
  return { child, http: listening.http, grpc: listening.grpc, mesh: listening.mesh, output: () => out, exited, untilOutput, kill: () => void child.kill('SIGKILL') };
}

/** One classifier input: a 1×3×48×192 image of a constant grey `value`. */
export function clsInput(value = 0.5, n = 1): Float32Array {
  return new Float32Array(n * 3 * 48 * 192).fill(value);
}

/** Builds a binary-extension body: JSON header + raw tensors. */
export function binaryBody(header: object, ...tensors: Uint8Array[]): { body: Buffer; headerLength: number } {
  const head = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([head, ...tensors.map((t) => Buffer.from(t.buffer, t.byteOffset, t.byteLength))]), headerLength: head.length };
}

/**
 * The HTTP address a starting `epara serve` says it listens on (its `{"event":"live"}` line, printed before the
 * models load), read from its growing `output`; rejects if it exits first. Its ports can then be 0: a port picked
 * free in advance may be taken by another process before the server binds it.
 */
export function liveHttp(child: ChildProcess, output: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const line = output().split('\n').find((l) => l.includes('"event":"live"'));
      if (line === undefined) return;
      child.stdout!.off('data', check);
      resolve((JSON.parse(line) as { http: string }).http);
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`epara serve exited with ${code} before it was live:\n${output()}`)));
    check();
  });
}

/** A port the OS says is free now (for a listener whose address a config must name in advance). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
