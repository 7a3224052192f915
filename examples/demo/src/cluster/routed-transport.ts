import { EventEmitter, type ConnectOptions, type Connection, type ListenOptions, type Transport, type TransportEvents } from '@epara/mesh';

/**
 * A {@link Transport} that dials some addresses through a different one: each node of the demo listens on its
 * own WebSocket, but reaches peer `j` through the delaying link `i→j` (`cluster/delay-link.ts`). Peers keep
 * announcing their real addresses in the synchronized view; only the dial is rerouted, so every byte between
 * two nodes crosses the emulated link, whichever node learned the address from whom.
 */
export class RoutedTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly #inner: Transport;
  readonly #routes: ReadonlyMap<string, string>;

  constructor(inner: Transport, routes: ReadonlyMap<string, string>) {
    super();
    this.#inner = inner;
    this.#routes = routes;
    inner.on('connectionAccepted', (e) => this.emit('connectionAccepted', e));
    inner.on('errored', (e) => this.emit('errored', e));
  }

  get kind(): string {
    return `${this.#inner.kind}+delay`;
  }

  get maxFrameBytes(): number {
    return this.#inner.maxFrameBytes;
  }

  get address(): string | undefined {
    return this.#inner.address;
  }

  listen(options?: ListenOptions): Promise<{ address: string }> {
    return this.#inner.listen(options);
  }

  connect(address: string, options?: ConnectOptions): Promise<Connection> {
    return this.#inner.connect(this.#routes.get(address) ?? address, options);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
