import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode, NodeOptions } from '@epara/mesh';
import { activeResources, aliveIds, ECHO, leftOverAfter, PSK, ready, until, watch } from './helpers.js';
import { startTcpProxy } from './tcp-proxy.js';
import type { TcpProxy } from './tcp-proxy.js';

/*
 * Three real nodes on 127.0.0.1 with a TCP proxy in front of n1: n1 advertises the proxy and the others join
 * through it, so every byte to and from n1 crosses it (the link faults of link-faults.test.ts and
 * link-stall.test.ts). n0 hosts nothing, so its requests go to n1 or n2, which both host `echo`.
 */

/** The cluster of one test. */
export interface ProxiedCluster {
  readonly n0: MeshNode;
  readonly n1: MeshNode;
  readonly n2: MeshNode;
  readonly proxy: TcpProxy;
}

/** Starts and closes the proxied clusters of a test file (call {@link close} in `afterEach`). */
export class ProxiedClusters {
  readonly #nodes: MeshNode[] = [];
  readonly #proxies: TcpProxy[] = [];
  /** The process's active resources before the first cluster of a test started (see {@link closeLeavingNothing}). */
  #baseline: ReadonlyMap<string, number> | undefined;

  /** Starts n0, n1 (behind the proxy) and n2, and waits until they see each other and n0 sees both instances. */
  async start(o: { readonly serviceTimeMs: number }): Promise<ProxiedCluster> {
    this.#baseline ??= activeResources();
    let n1Port = 0;
    const proxy = await startTcpProxy(() => n1Port);
    this.#proxies.push(proxy);
    const via = `ws://127.0.0.1:${proxy.port}/epara`;
    const n1Transport = createWebSocketTransport({ host: '127.0.0.1', port: 0, connectTimeoutMs: 1000 });
    const n1 = this.node('n1', { transport: n1Transport, advertise: via, executor: echoExecutor(1, o.serviceTimeMs) });
    await n1.start();
    // The transport's own address: the node's is the advertised one, the proxy.
    n1Port = Number(new URL(n1Transport.address!).port);
    const n0 = this.node('n0', { seeds: [via], executor: createFakeExecutor({ services: { echo: { serviceTimeMs: o.serviceTimeMs } }, hosted: [], tag: 0 }) });
    const n2 = this.node('n2', { seeds: [via], executor: echoExecutor(2, o.serviceTimeMs) });
    await Promise.all([n0.start(), n2.start()]);
    const cluster = { n0, n1, n2, proxy };
    await converged(cluster);
    return cluster;
  }

  /**
   * A node with the settings of these clusters (not started): handshakes and dials bounded by a second, and a
   * short backoff after a failed handshake so a healed link is redialed soon (a blackholed peer fails its
   * handshake by timeout).
   */
  node(id: string, o: Partial<NodeOptions> = {}): MeshNode {
    const node = createNode({
      id,
      transport: createWebSocketTransport({ host: '127.0.0.1', port: 0, connectTimeoutMs: 1000 }),
      executor: echoExecutor(0, 5),
      security: { psk: PSK, handshakeTimeoutMs: 1000 },
      services: [ECHO],
      syncPeriodMs: 100,
      syncAckTimeoutMs: 300,
      placement: false,
      authRetry: { initialMs: 100, maxMs: 500 },
      ...o,
    });
    watch(node);
    this.#nodes.push(node);
    return node;
  }

  /** A proxy whose lifetime these clusters own. */
  async proxy(targetPort: () => number): Promise<TcpProxy> {
    const proxy = await startTcpProxy(targetPort);
    this.#proxies.push(proxy);
    return proxy;
  }

  /** Closes every node, then every proxy. */
  async close(): Promise<void> {
    await Promise.all(this.#nodes.splice(0).map((n) => n.close()));
    await Promise.all(this.#proxies.splice(0).map((p) => p.close()));
    this.#baseline = undefined;
  }

  /**
   * Closes everything, as {@link close}, and returns what is still active beyond what was before the first cluster
   * started (`'Timeout ×2'`…): a fault must leave no timer, socket or server of a node behind once it is closed.
   */
  async closeLeavingNothing(): Promise<string[]> {
    const baseline = this.#baseline ?? activeResources();
    await this.close();
    return leftOverAfter(baseline);
  }
}

const echoExecutor = (tag: number, serviceTimeMs: number): ReturnType<typeof createFakeExecutor> =>
  createFakeExecutor({ services: { echo: { serviceTimeMs } }, hosted: ['echo'], tag });

/** Waits until all three see each other alive and n0 sees both instances. */
export function converged(c: Pick<ProxiedCluster, 'n0' | 'n1' | 'n2'>): Promise<void> {
  const { n0, n1, n2 } = c;
  return until(() => [n0, n1, n2].every((n) => aliveIds(n).join() === 'n0,n1,n2') && ready(n0, 'n1') && ready(n0, 'n2'), 'all three see each other and n0 sees both instances', 30_000);
}
