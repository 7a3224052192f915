import { randomBytes } from 'node:crypto';
import type { PlacedInstance, ServiceDemand } from '@epara/core';
import { createWebSocketTransport } from '@epara/mesh';
import type { StreamPackForming, StreamPackPricing } from '@epara/runtime';
import type { TritonConfig } from '../baseline/triton-config.js';
import type { DemoServiceInfo } from '../catalog.js';
import type { DemoProfiles } from '../profiles.js';
import { nodeIds } from '../placement.js';
import type { ChildGroup, Child } from './children.js';
import { splitAddress } from './delay-link.js';
import { EntryClient } from './entry.js';

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  readonly group: ChildGroup;
  readonly nodes: number;
  readonly seed: number;
  /** What clients and baseline sites read of the services (each EPARA node declares the full services itself). */
  readonly services: readonly DemoServiceInfo[];
  /** The profiles measured at start-up: every EPARA node builds its services from them. */
  readonly profiles: DemoProfiles;
  /** Deadline time latency services budget for the network, ms. */
  readonly networkBudgetMs: number;
  /** One-way delay of the link between nodes `i` and `j`, ms. */
  readonly delayMs: (i: number, j: number) => number;
  /** Bandwidth of every link, bytes per ms. */
  readonly bytesPerMs: number;
  readonly syncPeriodMs: number;
  /**
   * Run the mesh's placement coordinator every this many ms (seeded with the host's forecast, see
   * {@link Cluster.setForecast}, learning from the arrivals the nodes report). Omitted: the demo places once.
   */
  readonly onlinePlacementPeriodMs?: number;
  /** Where EPARA's nodes pin a stream (the mesh's `streamAdmission`). @default the mesh's */
  readonly streamAdmission?: 'local-first' | 'least-wait';
  /** The capacity EPARA's stream admission reads (the mesh's `streamCapacity`). @default the mesh's */
  readonly streamCapacity?: 'executor' | 'host-ratio';
  /** How EPARA's runtime prices a stream's pack (the executor's `streamPackPricing`). @default the runtime's */
  readonly streamPackPricing?: StreamPackPricing;
  /** When EPARA's runtime forms a stream's pack (the executor's `streamPackForming`). @default the runtime's */
  readonly streamPackForming?: StreamPackForming;
}

/** Both systems' node processes, the clients and the network, running. */
export interface Cluster {
  readonly epara: readonly Child[];
  readonly triton: readonly Child[];
  readonly clients: readonly Child[];
  readonly wire: Child;
  /** The live dashboard of each EPARA node (with its access token). */
  readonly dashboardUrls: readonly string[];
  /** Measured one-way delays `[i][j]` (half the round trip of a ping over the link), ms. */
  readonly measuredDelayMs: readonly (readonly number[])[];
  /** Loads EPARA's placement on its nodes and waits until every node sees every instance ready. */
  place(instances: readonly PlacedInstance[]): Promise<void>;
  /**
   * With `onlinePlacementPeriodMs`: hands every node the forecast the coordinator reads, has the leader place from
   * it now, and waits until every node sees it ready (the demo's own placement is not loaded then).
   */
  setForecast(demand: readonly ServiceDemand[]): Promise<void>;
  /** Applies a configuration to every baseline site. */
  configureTriton(config: TritonConfig): Promise<void>;
}

const withPath = (proxy: string, real: string): string => `ws://${proxy}${new URL(real).pathname}`;

/**
 * Starts the edge cloud, one OS process per node and system: the network process with one delaying link per
 * ordered pair of nodes and per system, the EPARA nodes (joined by seed through those links, authenticated
 * with a fresh pre-shared key), the baseline's sites (linked through theirs), and one client process per
 * entry, connected to both systems' entries. Then it measures the links.
 */
export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const g = o.group;
  const ids = nodeIds(o.nodes);
  const wire = g.start('wire', './wire-process.ts');
  const epara = ids.map((id) => g.start(id, './epara-node-process.ts'));
  const triton = ids.map((_, i) => g.start(`triton-${i}`, './triton-node-process.ts'));
  const clients = ids.map((_, i) => g.start(`client-${i}`, './client-process.ts'));
  const ep = await Promise.all(epara.map((c) => c.call<{ meshAddress: string; entryAddress: string }>('listen', { seed: o.seed, profiles: o.profiles, networkBudgetMs: o.networkBudgetMs, ...(o.streamPackPricing !== undefined ? { streamPackPricing: o.streamPackPricing } : {}), ...(o.streamPackForming !== undefined ? { streamPackForming: o.streamPackForming } : {}) })));
  const tr = await Promise.all(triton.map((c) => c.call<{ address: string }>('listen', { seed: o.seed, chatProfile: o.profiles.chat, services: o.services })));
  const specs = [];
  for (let i = 0; i < o.nodes; i++) {
    for (let j = 0; j < o.nodes; j++) {
      if (i === j) continue;
      const link = { delayMs: o.delayMs(i, j), bytesPerMs: o.bytesPerMs };
      specs.push({ key: `epara:${i}>${j}`, target: splitAddress(ep[j]!.meshAddress).join(':'), ...link });
      specs.push({ key: `triton:${i}>${j}`, target: splitAddress(tr[j]!.address).join(':'), ...link });
    }
  }
  const proxies = await wire.call<Record<string, string>>('open', specs);
  const psk = randomBytes(32);
  const others = (i: number): number[] => ids.map((_, j) => j).filter((j) => j !== i);
  const dashboardToken = randomBytes(18).toString('base64url');
  const join = (i: number): Promise<{ dashboardUrl: string }> =>
    epara[i]!.call<{ dashboardUrl: string }>('join', {
      routes: others(i).map((j) => [ep[j]!.meshAddress, withPath(proxies[`epara:${i}>${j}`]!, ep[j]!.meshAddress)]),
      seeds: i === 0 ? [] : [ep[0]!.meshAddress],
      // What an operator knows of its links: routing and stream admission price each peer with them.
      network: {
        delayMs: Object.fromEntries(others(i).map((j) => [ids[j]!, o.delayMs(i, j)])),
        bandwidthBytesPerMs: Object.fromEntries(others(i).map((j) => [ids[j]!, o.bytesPerMs])),
      },
      psk,
      syncPeriodMs: o.syncPeriodMs,
      onlinePlacementPeriodMs: o.onlinePlacementPeriodMs ?? null,
      ...(o.streamAdmission !== undefined ? { streamAdmission: o.streamAdmission } : {}),
      ...(o.streamCapacity !== undefined ? { streamCapacity: o.streamCapacity } : {}),
      dashboardToken,
    });
  const first = await join(0);
  const dashboardUrls = [first.dashboardUrl, ...(await Promise.all(ids.slice(1).map((_, k) => join(k + 1)))).map((j) => j.dashboardUrl)];
  await Promise.all(epara.map((c) => c.call('peers', o.nodes)));
  await Promise.all(triton.map((c, i) => c.call('link', others(i).map((j) => [j, withPath(proxies[`triton:${i}>${j}`]!, tr[j]!.address)]))));
  await Promise.all(clients.map((c, i) => c.call('connect', { seed: o.seed, services: o.services, entries: [['epara', ep[i]!.entryAddress], ['triton', tr[i]!.address]] })));
  const measuredDelayMs = await measureLinks(o.nodes, (i, j) => withPath(proxies[`triton:${i}>${j}`]!, tr[j]!.address));
  return {
    epara,
    triton,
    clients,
    wire,
    dashboardUrls,
    measuredDelayMs,
    async place(instances) {
      await Promise.all(epara.map((c) => c.call('place', instances)));
      await Promise.all(epara.map((c) => c.call('ready', instances)));
    },
    async setForecast(demand) {
      await Promise.all(epara.map((c) => c.call('forecast', demand)));
    },
    async configureTriton(config) {
      await Promise.all(triton.map((c) => c.call('configure', config)));
    },
  };
}

/**
 * Measures every link: the best of five pings (a `ping` frame answered by the site's entry with `pong`)
 * through the link, halved. Both systems' links between two nodes have the same settings; the baseline's are
 * the ones measured because its entry answers pings without authentication.
 */
async function measureLinks(nodes: number, address: (i: number, j: number) => string): Promise<number[][]> {
  const t = createWebSocketTransport({ host: '127.0.0.1', port: 0 });
  try {
    const out = Array.from({ length: nodes }, () => Array.from({ length: nodes }, () => 0));
    for (let i = 0; i < nodes; i++) {
      for (let j = 0; j < nodes; j++) {
        if (i === j) continue;
        const c = new EntryClient(await t.connect(address(i, j)));
        let best = Infinity;
        for (let k = 0; k < 5; k++) best = Math.min(best, await c.ping());
        c.close();
        out[i]![j] = best / 2;
      }
    }
    return out;
  } finally {
    await t.close();
  }
}
