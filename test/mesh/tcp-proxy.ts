import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { MESH_TYPE, meshTypeOf, payloadOf, WsSplitter } from './ws-frames.js';
import type { WsFrame } from './ws-frames.js';

/** Where a WebSocket frame crosses the proxy: its direction, and the id the dialer gave in its `hello`. */
export interface FrameContext {
  /** From the dialer to the proxied target. */
  readonly toTarget: boolean;
  /** The dialing node's id (read from its `hello` frame), once seen. */
  readonly dialer: string | undefined;
  /** Which proxied connection the frame crosses (numbered from 1 as the proxy accepts them): one link's frames share it. */
  readonly connection: number;
}

/** Decides what becomes of one frame: the buffers to forward in its place (none drops it, two duplicates it). */
export type FrameHook = (frame: WsFrame, context: FrameContext) => readonly Buffer[];

/** A TCP proxy on 127.0.0.1 standing for the network between nodes: it can cut, slow or blackhole the link. */
export interface TcpProxy {
  readonly port: number;
  /** Destroys every proxied connection now (both sides see the link drop). */
  cut(): void;
  /** `forward` (default), `blackhole` (new connections are accepted and nothing is ever forwarded or answered). */
  mode(mode: 'forward' | 'blackhole'): void;
  /** Delay added to every chunk, both ways, ms (order kept): chunks wait one after another, so it also slows throughput. */
  delay(ms: number): void;
  /** One-way latency of every chunk, both ways, ms (order kept): each chunk arrives this long after it was sent. */
  latency(ms: number): void;
  /**
   * Stops forwarding on every connection, open or new, without closing any (a route that became a blackhole):
   * the bytes are held, as TCP keeps retransmitting them. {@link resume} lets them through again, in order.
   */
  stall(): void;
  resume(): void;
  /** Calls `fn` once, on the next chunk going either way: to cut a link while a frame is in transit. */
  onNextChunk(fn: () => void): void;
  /**
   * Passes every WebSocket frame through `hook` (a proxy started with `frames: true`); `undefined` forwards
   * frames unchanged again.
   */
  frames(hook: FrameHook | undefined): void;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/**
 * Starts a proxy to `127.0.0.1:targetPort()` (read at each connection: the target may bind after the proxy; a
 * promise delays the connection until it resolves). With `frames: true` the proxy forwards whole WebSocket
 * frames (after the HTTP upgrade), which {@link TcpProxy.frames} can rewrite.
 */
export async function startTcpProxy(targetPort: () => number | Promise<number>, options: { readonly frames?: boolean } = {}): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket | undefined]>();
  let mode: 'forward' | 'blackhole' = 'forward';
  let delayMs = 0;
  let latencyMs = 0;
  let stalled: { promise: Promise<void>; release: () => void } | undefined;
  const sleep = (ms: number): Promise<void> | undefined => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : undefined);
  let accepted = 0;
  let next: (() => void) | undefined;
  let hook: FrameHook | undefined;
  // Whole frames through the hook; the dialer's id is learned from its first frame (the `hello`).
  const framesOf = (splitter: WsSplitter, chunk: Buffer, context: { toTarget: boolean; dialer: { id?: string }; connection: number }): Buffer[] =>
    splitter.push(chunk).flatMap(({ raw, frame }) => {
      if (frame === undefined) return [raw];
      if (context.toTarget && context.dialer.id === undefined && meshTypeOf(frame) === MESH_TYPE.hello) {
        const p = payloadOf(frame);
        context.dialer.id = p.subarray(26, 26 + p.readUInt16LE(24)).toString('utf8');
      }
      return hook === undefined ? [raw] : [...hook(frame, { toTarget: context.toTarget, dialer: context.dialer.id, connection: context.connection })];
    });
  const pipe = (from: Socket, to: Socket, opened: Promise<void>, context: { toTarget: boolean; dialer: { id?: string }; connection: number }): void => {
    let chain = opened;
    const splitter = options.frames === true ? new WsSplitter() : undefined;
    from.on('data', (received: Buffer) => {
      const hook = next;
      next = undefined;
      hook?.();
      if (from.destroyed) return;
      const due = performance.now() + latencyMs;
      const gate = stalled?.promise;
      chain = chain
        .then(() => gate)
        .then(() => sleep(delayMs))
        .then(() => sleep(due - performance.now()))
        .then(() => {
          if (to.destroyed) return;
          for (const b of splitter === undefined ? [received] : framesOf(splitter, received, context)) to.write(b);
        });
    });
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  };
  const server: Server = createServer((client) => {
    accepted++;
    if (mode === 'blackhole') {
      const pair: [Socket, Socket | undefined] = [client, undefined];
      pairs.add(pair);
      client.on('data', () => undefined);
      client.on('error', () => undefined);
      client.on('close', () => pairs.delete(pair));
      return;
    }
    const upstream = new (client.constructor as typeof Socket)();
    const pair: [Socket, Socket | undefined] = [client, upstream];
    pairs.add(pair);
    const opened = Promise.resolve(targetPort()).then((port) => void upstream.connect(port, '127.0.0.1'));
    const dialer: { id?: string } = {};
    pipe(client, upstream, opened, { toTarget: true, dialer, connection: accepted });
    pipe(upstream, client, opened, { toTarget: false, dialer, connection: accepted });
    const forget = (): void => void pairs.delete(pair);
    client.on('close', forget);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      for (const [a, b] of pairs) (a.destroy(), b?.destroy());
      pairs.clear();
    },
    mode(m) {
      mode = m;
    },
    delay(ms) {
      delayMs = ms;
    },
    latency(ms) {
      latencyMs = ms;
    },
    stall() {
      if (stalled) return;
      let release!: () => void;
      const promise = new Promise<void>((r) => (release = r));
      stalled = { promise, release };
    },
    resume() {
      stalled?.release();
      stalled = undefined;
    },
    onNextChunk(fn) {
      next = fn;
    },
    frames(h) {
      hook = h;
    },
    accepted: () => accepted,
    close() {
      stalled?.release();
      for (const [a, b] of pairs) (a.destroy(), b?.destroy());
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
