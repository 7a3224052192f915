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

/**
 * One direction of a link: a FIFO that serializes chunks at the link's bandwidth and delivers each one the
 * propagation delay after its last byte left, as a store-and-forward hop would. Order is preserved.
 */
class Pipe {
  #busyUntil = 0;
  #carried = 0;
  #timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly o: DelayLinkOptions,
    private readonly to: Socket,
  ) {}

  get carried(): number {
    return this.#carried;
  }

  push(chunk: Buffer): void {
    const now = performance.now();
    const start = Math.max(now, this.#busyUntil);
    this.#busyUntil = start + chunk.length / this.o.bytesPerMs;
    this.#carried += chunk.length;
    // Deliveries are scheduled in non-decreasing time, and Node runs timers of equal or earlier expiry first,
    // so the stream keeps its order.
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.to.destroyed) this.to.write(chunk);
    }, this.#busyUntil + this.o.delayMs - now);
    this.#timers.add(t);
  }

  /** Ends the far side once everything queued has been delivered. */
  end(): void {
    const t = setTimeout(() => this.to.end(), Math.max(0, this.#busyUntil + this.o.delayMs - performance.now()) + 1);
    this.#timers.add(t);
  }

  clear(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
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
