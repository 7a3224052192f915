import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { isEparaError } from '@epara/core';
import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode, NodeOptions } from '@epara/mesh';
import { changed, ECHO, input, PSK, serverOf, watch } from './helpers.js';

/*
 * The fault harness: mesh nodes in their own processes (test/mesh/fixtures/fault-peer.mjs: `createNode`, the
 * WebSocket transport on 127.0.0.1, the fake executor), which a test stops, resumes, kills and restarts, and an
 * observing node in the test's process that hosts nothing, so every request it takes goes to a peer. Each
 * request's outcome is checked against the invariants: it settles once, with its own right answer or a typed
 * `EparaError`, by its deadline plus the response grace plus a bound.
 */

const PEER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'fault-peer.mjs');

/** The node's default response grace (`responseGraceMs`) plus a generous bound for a loaded machine. */
export const SETTLE_BOUND_MS = 1000 + 10_000;
/** The codes a request may fail with under a fault. */
export const TYPED = ['DEADLINE_EXCEEDED', 'PEER_UNAVAILABLE', 'DEADLINE_INFEASIBLE', 'OVERLOADED', 'NO_INSTANCE', 'CLOSED', 'HOP_LIMIT'];

/** A peer process. */
export interface PeerProcess {
  readonly child: ChildProcess;
  /** Resolves with the node's address once it listens (for `waitForStart`, after {@link startNow}). */
  readonly address: Promise<string>;
  /** Starts a `waitForStart` peer's node now. */
  startNow(): void;
  /** Makes a `loadOnSignal` peer load its `echo` instance now. */
  loadNow(): void;
}

/** What a fault-peer process runs. */
export interface PeerConfig {
  readonly id: string;
  readonly seed: string;
  readonly serviceTimeMs: number;
  /** The `server` tag of its outputs: tells two runs of one id apart. */
  readonly tag: number;
  readonly hosted?: boolean;
  /** Load everything, and create and start the node only on {@link PeerProcess.startNow}. */
  readonly waitForStart?: boolean;
  /** Start hosting nothing, and load an `echo` instance on {@link PeerProcess.loadNow}. */
  readonly loadOnSignal?: boolean;
  /** Give the node a CPU device and run placement (it hosts only what the leader places on it). */
  readonly placement?: boolean;
}

/** Starts and stops the processes and nodes of one test. */
export class FaultHarness {
  readonly #children: ChildProcess[] = [];
  readonly #nodes: MeshNode[] = [];

  /** The observing node: in this process, hosting nothing. */
  async observer(options: Partial<NodeOptions> = {}): Promise<MeshNode> {
    const node = createNode({
      id: 'n0',
      transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }),
      executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: [] }),
      security: { psk: PSK },
      services: [ECHO],
      syncPeriodMs: 100,
      syncAckTimeoutMs: 300,
      placement: false,
      ...options,
    });
    watch(node);
    this.#nodes.push(node);
    await node.start();
    return node;
  }

  /** Spawns a peer process; resolves once it has loaded (and, unless `waitForStart`, listens). */
  async peer(config: PeerConfig): Promise<PeerProcess> {
    // Both are told by SIGUSR2.
    if (config.waitForStart === true && config.loadOnSignal === true) throw new Error('a peer waits for its start or for its load, not both');
    const child = spawn(process.execPath, [PEER, JSON.stringify({ hosted: true, psk: PSK, ...config })], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.push(child);
    let out = '';
    const seen = (text: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => void (out.includes(text) && resolve());
        child.stdout!.on('data', check);
        child.once('exit', (code, signal) => reject(new Error(`peer ${config.id} exited (${code ?? signal}): ${out}`)));
        check();
      });
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const address = seen('"address"').then(() => (JSON.parse(out.slice(out.indexOf('{"address"')).split('\n')[0]!) as { address: string }).address);
    // An exit before the test asked for the address is reported there; this keeps it from going unhandled.
    address.catch(() => undefined);
    await (config.waitForStart ? seen('"loaded"') : address);
    return { child, address, startNow: () => void child.kill('SIGUSR2'), loadNow: () => void child.kill('SIGUSR2') };
  }

  /** Resumes and kills every process, closes every node. */
  async close(): Promise<void> {
    for (const c of this.#children.splice(0)) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
    await Promise.all(this.#nodes.splice(0).map((n) => n.close()));
  }
}

/** One request's outcome: its answer (value and serving tag) or its code, and how late after its deadline it settled. */
export interface Outcome {
  readonly input: number;
  readonly value?: number;
  readonly server?: number;
  readonly code?: string;
  readonly lateMs: number;
}

/** Requests from one node, each counted as it settles; `offloaded` counts the forwards (retries included). */
export interface Run {
  readonly offloaded: () => number;
  readonly settled: Promise<Outcome[]>;
}

/** Submits `echo` requests for `inputs` from `n`, each with `budgetMs` to its deadline. */
export function submitAll(n: MeshNode, inputs: readonly number[], budgetMs: number): Run {
  let offloaded = 0;
  const onOffloaded = (): void => void ((offloaded += 1), changed());
  n.on('requestOffloaded', onOffloaded);
  const settled = Promise.all(
    inputs.map((v) => {
      const deadline = Date.now() + budgetMs;
      return n.submit('echo', input([v]), { deadline }).then(
        (out): Outcome => ({ input: v, value: (out['x']!.data as Float32Array)[0]!, server: serverOf(out), lateMs: Date.now() - deadline }),
        (err: unknown): Outcome => ({ input: v, code: isEparaError(err) ? err.code : `untyped: ${String(err)}`, lateMs: Date.now() - deadline }),
      );
    }),
  ).finally(() => n.off('requestOffloaded', onOffloaded));
  return { offloaded: () => offloaded, settled };
}

/**
 * The invariants on every outcome: its own right answer (twice its input: never another request's), from one of
 * `servers` when given, or a typed code; settled by its deadline plus the grace plus a bound.
 */
export function expectInvariants(outcomes: readonly Outcome[], servers?: readonly number[]): void {
  for (const o of outcomes) {
    if (o.code !== undefined) expect(TYPED).toContain(o.code);
    else {
      expect(o.value).toBe(2 * o.input);
      if (servers) expect(servers).toContain(o.server);
    }
    expect(o.lateMs).toBeLessThan(SETTLE_BOUND_MS);
  }
}

/**
 * Counts the `requestCompleted` events of `n` (one per settled submit): a request answered twice would count
 * twice. `check()` expects exactly as many as `n` took submits.
 */
export function completions(n: MeshNode): { count: () => number; check: () => void } {
  let count = 0;
  n.on('requestCompleted', () => void (count += 1));
  return { count: () => count, check: () => expect(count).toBe(n.stats().submitted) };
}
