import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

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
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** Starts a proxy to `127.0.0.1:targetPort()` (read at each connection: the target may bind after the proxy). */
export async function startTcpProxy(targetPort: () => number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket | undefined]>();
  let mode: 'forward' | 'blackhole' = 'forward';
  let delayMs = 0;
  let latencyMs = 0;
  let stalled: { promise: Promise<void>; release: () => void } | undefined;
  const sleep = (ms: number): Promise<void> | undefined => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : undefined);
  let accepted = 0;
  let next: (() => void) | undefined;
  const pipe = (from: Socket, to: Socket): void => {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
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
        .then(() => void (to.destroyed || to.write(chunk)));
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
    upstream.connect(targetPort(), '127.0.0.1');
    pipe(client, upstream);
    pipe(upstream, client);
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
    accepted: () => accepted,
    close() {
      stalled?.release();
      for (const [a, b] of pairs) (a.destroy(), b?.destroy());
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
