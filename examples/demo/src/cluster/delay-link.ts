import { createServer, connect, type Server, type Socket } from 'node:net';

/** Options of {@link startDelayLink}: one emulated network link in front of a TCP endpoint. */
export interface DelayLinkOptions {
  /** `host:port` the link delivers to. */
  readonly target: string;
  /** One-way propagation delay, ms, applied to every byte in both directions. */
  readonly delayMs: number;
  /** Link bandwidth in bytes per ms, per direction (125 000 = 1 Gbit/s). */
  readonly bytesPerMs: number;
}

/** A running link: dial `address` instead of the target. */
export interface DelayLink {
  readonly address: string;
  /** Bytes carried so far, both directions. */
  readonly bytes: () => number;
  close(): Promise<void>;
}

/** Where a {@link Pipe} delivers: a socket, or anything that takes bytes in order. */
export interface PipeSink {
  readonly destroyed: boolean;
  write(chunk: Buffer): unknown;
  end(): unknown;
}

/**
 * One direction of a link: a FIFO that serializes chunks at the link's bandwidth and delivers each one the
 * propagation delay after its last byte left, as a store-and-forward hop would.
 *
 * Order is kept by construction: one queue and one timer for its head, never a timer per chunk. (Timers of a
 * chunk each are not ordered: Node computes a timer's expiry from the loop's cached clock, which goes stale
 * while a callback runs, so a chunk pushed later in the same turn could expire first and the byte stream
 * arrived shuffled — a WebSocket peer then read a frame with a bad header and the link closed.)
 */
export class Pipe {
  #busyUntil = 0;
  #carried = 0;
  #queue: { chunk: Buffer | undefined; dueAt: number }[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: Pick<DelayLinkOptions, 'delayMs' | 'bytesPerMs'>,
    private readonly to: PipeSink,
  ) {}

  get carried(): number {
    return this.#carried;
  }

  push(chunk: Buffer): void {
    const start = Math.max(performance.now(), this.#busyUntil);
    this.#busyUntil = start + chunk.length / this.o.bytesPerMs;
    this.#carried += chunk.length;
    this.#enqueue(chunk, this.#busyUntil + this.o.delayMs);
  }

  /** Ends the far side once everything queued has been delivered. */
  end(): void {
    this.#enqueue(undefined, Math.max(performance.now(), this.#busyUntil) + this.o.delayMs);
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#head = 0;
  }

  #enqueue(chunk: Buffer | undefined, dueAt: number): void {
    this.#queue.push({ chunk, dueAt });
    if (this.#timer === undefined) this.#arm();
  }

  #arm(): void {
    const next = this.#queue[this.#head];
    if (next === undefined) return;
    this.#timer = setTimeout(() => this.#deliver(), Math.max(0, next.dueAt - performance.now()));
  }

  #deliver(): void {
    this.#timer = undefined;
    // A timer may fire a little early (the loop's clock is whole milliseconds): deliver what is due within half
    // a millisecond, in order, and wait for the rest.
    const now = performance.now() + 0.5;
    while (this.#head < this.#queue.length && (this.#queue[this.#head] as { dueAt: number }).dueAt <= now) {
      const { chunk } = this.#queue[this.#head++] as { chunk: Buffer | undefined };
      if (this.to.destroyed) continue;
      if (chunk === undefined) this.to.end();
      else this.to.write(chunk);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#arm();
  }
}

/**
 * A delaying TCP proxy: every connection accepted on `127.0.0.1:<port>` is relayed to `target`, each direction
 * through a {@link Pipe} with the link's delay and bandwidth. What crosses is the real byte stream (WebSocket
 * handshakes, frames, TLS if any), so both systems pay the same wire cost for whatever they send.
 */
export async function startDelayLink(o: DelayLinkOptions): Promise<DelayLink> {
  const [host, port] = splitAddress(o.target);
  const sockets = new Set<Socket>();
  const pipes = new Set<Pipe>();
  let carried = 0;
  const server: Server = createServer((inbound) => {
    const outbound = connect({ host, port, noDelay: true });
    inbound.setNoDelay(true);
    sockets.add(inbound).add(outbound);
    const up = new Pipe(o, outbound);
    const down = new Pipe(o, inbound);
    pipes.add(up).add(down);
    inbound.on('data', (c) => up.push(c));
    outbound.on('data', (c) => down.push(c));
    inbound.on('end', () => up.end());
    outbound.on('end', () => down.end());
    const drop = (): void => {
      carried += up.carried + down.carried;
      up.clear();
      down.clear();
      pipes.delete(up);
      pipes.delete(down);
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    inbound.on('close', drop).on('error', drop);
    outbound.on('close', drop).on('error', drop);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('delay link: no TCP address');
  return {
    address: `127.0.0.1:${addr.port}`,
    bytes: () => carried + [...pipes].reduce((a, p) => a + p.carried, 0),
    close: async () => {
      for (const p of pipes) p.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `host:port` → `[host, port]` (a `ws://` prefix is accepted). */
export function splitAddress(address: string): [string, number] {
  const bare = address.replace(/^wss?:\/\//, '').replace(/\/.*$/, '');
  const i = bare.lastIndexOf(':');
  const port = Number(bare.slice(i + 1));
  if (i < 0 || !Number.isInteger(port)) throw new Error(`not a host:port address: ${address}`);
  return [bare.slice(0, i), port];
}
