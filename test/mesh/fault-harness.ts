import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { isEparaError } from '@epara/core';
import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode, NodeOptions } from '@epara/mesh';
import { activeResources, changed, ECHO, input, leftOverAfter, PSK, serverOf, watch } from './helpers.js';
import { startTcpProxy } from './tcp-proxy.js';
import type { TcpProxy } from './tcp-proxy.js';
import type { WsFrame } from './ws-frames.js';

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
  /** Resolves with the transport's own address (the `address` unless the peer advertises a proxy). */
  readonly listening: Promise<string>;
  /** Starts a `waitForStart` peer's node now. */
  startNow(): void;
  /** Makes a `loadOnSignal` peer load its `echo` instance now. */
  loadNow(): void;
  /** Makes a `placement` peer run placement now, if it is the leader it sees. */
  placeNow(): void;
  /** Resolves once the process has printed `text` `count` times in all (its stdout and stderr). */
  printed(text: string, count: number): Promise<void>;
  /** Everything the process printed so far. */
  output(): string;
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
  /** With `placement`: report no device, so placement never gives this server an instance. */
  readonly noDevice?: boolean;
  /**
   * With `placement`: the server where this node, when it leads, expects the `echo` requests to enter (a
   * forecast), so placement puts the instance near it whatever delays it measures. @default none
   */
  readonly demandAt?: string;
  /** The placement period, ms. @default the node's (30 s) */
  readonly placementPeriodMs?: number;
  /** The address the node gives its peers (a proxy in front of it); dials and handshakes bounded by a second. */
  readonly advertise?: string;
}

/** Starts and stops the processes and nodes of one test. */
export class FaultHarness {
  readonly #children: ChildProcess[] = [];
  readonly #nodes: MeshNode[] = [];
  readonly #proxies = new Map<string, TcpProxy>();
  /** The process's active resources before this harness started anything (see {@link closeLeavingNothing}). */
  #baseline: ReadonlyMap<string, number> | undefined;

  /** The observing node: in this process, hosting nothing. */
  async observer(options: Partial<NodeOptions> = {}): Promise<MeshNode> {
    this.#baseline ??= activeResources();
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
    this.#baseline ??= activeResources();
    const child = spawn(process.execPath, [PEER, JSON.stringify({ hosted: true, psk: PSK, ...config })], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.push(child);
    let out = '';
    const seen = (text: string, count = 1): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => void (out.split(text).length - 1 >= count && resolve());
        child.stdout!.on('data', check);
        child.once('exit', (code, signal) => reject(new Error(`peer ${config.id} exited (${code ?? signal}): ${out}`)));
        check();
      });
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    if (process.env['EPARA_FAULT_DEBUG']) for (const s of [child.stdout!, child.stderr!]) s.on('data', (b: Buffer) => process.stderr.write(b));
    const started = seen('"address"').then(() => JSON.parse(out.slice(out.indexOf('{"address"')).split('\n')[0]!) as { address: string; listening: string });
    const address = started.then((s) => s.address);
    const listening = started.then((s) => s.listening);
    // An exit before the test asked for the address is reported there; this keeps it from going unhandled.
    for (const p of [address, listening]) p.catch(() => undefined);
    await (config.waitForStart ? seen('"loaded"') : address);
    return { child, address, listening, startNow: () => void child.kill('SIGUSR2'), loadNow: () => void child.kill('SIGUSR2'), placeNow: () => void child.kill('SIGUSR2'), printed: seen, output: () => out };
  }

  /**
   * A peer process behind its own frame-level TCP proxy (tcp-proxy.ts, `frames: true`), which it advertises: every
   * node dials it there. With every node of a test proxied (the observer through {@link proxiedObserver}), each
   * link crosses exactly one proxy, and {@link frames} sees every frame between any two nodes.
   */
  async proxiedPeer(config: Omit<PeerConfig, 'advertise'>): Promise<PeerProcess> {
    const proxy = await this.#proxyFor(config.id);
    const peer = await this.peer({ ...config, advertise: proxy.url });
    void peer.listening.then((a) => proxy.target(Number(new URL(a).port)));
    return peer;
  }

  /** The observer ({@link observer}) behind its own frame-level proxy, which it advertises. */
  async proxiedObserver(options: Partial<NodeOptions> = {}): Promise<MeshNode> {
    const id = options.id ?? 'n0';
    const proxy = await this.#proxyFor(id);
    const transport = createWebSocketTransport({ host: '127.0.0.1', port: 0, connectTimeoutMs: 1000 });
    const node = await this.observer({ transport, advertise: proxy.url, security: { psk: PSK, handshakeTimeoutMs: 1000 }, authRetry: { initialMs: 100, maxMs: 500 }, ...options });
    proxy.target(Number(new URL(transport.address!).port));
    return node;
  }

  /**
   * Passes every frame between proxied nodes through `hook`, told which node sent it to which; `undefined`
   * forwards everything unchanged again.
   */
  frames(hook: ((frame: WsFrame, link: { readonly from: string; readonly to: string; readonly via: string }) => readonly Buffer[]) | undefined): void {
    for (const [owner, proxy] of this.#proxies) {
      proxy.frames(
        hook &&
          ((frame, c) => {
            // A frame before the dialer's `hello` (the upgrade's first bytes) goes through untouched.
            if (c.dialer === undefined) return [frame.raw];
            // `via` names the proxied connection (one link) and its direction: a frame held back goes out on it again.
            const via = `${owner}#${c.connection}${c.toTarget ? '>' : '<'}`;
            return hook(frame, c.toTarget ? { from: c.dialer, to: owner, via } : { from: owner, to: c.dialer, via });
          }),
      );
    }
  }

  async #proxyFor(owner: string): Promise<{ readonly url: string; readonly target: (port: number) => void }> {
    let target!: (port: number) => void;
    const port = new Promise<number>((resolve) => (target = resolve));
    const proxy = await startTcpProxy(() => port, { frames: true });
    this.#proxies.set(owner, proxy);
    return { url: `ws://127.0.0.1:${proxy.port}/epara`, target };
  }

  /** Resumes and kills every process, closes every node. */
  async close(): Promise<void> {
    for (const c of this.#children.splice(0)) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
    await Promise.all(this.#nodes.splice(0).map((n) => n.close()));
    await Promise.all([...this.#proxies.values()].map((p) => p.close()));
    this.#proxies.clear();
    this.#baseline = undefined;
  }

  /**
   * Closes everything, as {@link close}, waits for the peer processes to exit, and returns what is still active in
   * this process beyond what was before the harness started (`'Timeout ×2'`…): after a fault, the observing node
   * must leave no timer, socket or server behind once closed.
   */
  async closeLeavingNothing(): Promise<string[]> {
    const baseline = this.#baseline ?? activeResources();
    const exited = this.#children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('close', () => r()))));
    await this.close();
    await Promise.all(exited);
    return leftOverAfter(baseline);
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
