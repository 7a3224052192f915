import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { mountDashboard, type Dashboard } from '@epara/dashboard';
import { EparaError, type LatencyProfile, type PlacedInstance, type ServiceSpec } from '@epara/core';
import { createNode, createWebSocketTransport, type MeshNode, type Transport } from '@epara/mesh';
import { createExecutor, type Executor } from '@epara/runtime';
import type { DemoServiceId } from '../catalog.js';
import { executorServices } from '../executor-services.js';
import { buildLanguageModel } from '../models.js';
import { deviceOf } from '../placement.js';
import { emitToParent, serveChild } from './child-rpc.js';
import { serveEntry } from './entry.js';
import { RoutedTransport } from './routed-transport.js';

/*
 * One EPARA edge node in its own OS process: an `@epara/runtime` executor with one 1-thread worker device,
 * an `@epara/mesh` node on its own WebSocket (reaching its peers through the delaying links), and an entry
 * for the clients near it.
 */

const id = process.argv[2] ?? 'edge-?';
let executor: Executor | undefined;
let dashboard: { server: Server; page: Dashboard } | undefined;
let node: MeshNode | undefined;
let mesh: Transport | undefined;
const entry = createWebSocketTransport({ host: '127.0.0.1', port: 0 });
const offloads: Record<string, number> = {};

async function until(check: () => boolean, what: string, limitMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > limitMs) throw new EparaError('INTERNAL', `${id}: timed out waiting for ${what}`);
    await sleep(20);
  }
}

serveChild(
  {
    /** Creates the executor and both sockets; answers their addresses. */
    async listen(o: { seed: number; specs: ServiceSpec[]; profiles: Record<DemoServiceId, LatencyProfile> }) {
      const lm = buildLanguageModel(o.seed);
      // Work-conserving batching (a partial batch runs as soon as the device idles): on a 1-thread CPU device a
      // fuller batch gains little per item, and waiting for one costs deadline slack.
      executor = createExecutor({ launchWhenIdle: true, devices: [{ id: 'cpu0', threads: 1, memoryBytes: deviceOf().memoryBytes }], services: executorServices(o.specs, o.profiles, lm) });
      mesh = createWebSocketTransport({ host: '127.0.0.1', port: 0 });
      const { address } = await mesh.listen();
      const { address: entryAddress } = await entry.listen();
      return { meshAddress: address, entryAddress };
    },
    /** Starts the mesh node: peers are dialed through `routes` (real address → delaying link), joined by `seeds`. */
    async join(o: { routes: [string, string][]; seeds: string[]; psk: Uint8Array; specs: ServiceSpec[]; syncPeriodMs: number; dashboardToken: string }): Promise<{ dashboardUrl: string }> {
      if (!executor || !mesh) throw new EparaError('INTERNAL', 'listen first');
      node = createNode({
        id,
        transport: new RoutedTransport(mesh, new Map(o.routes)),
        executor,
        security: { psk: o.psk },
        seeds: o.seeds,
        services: o.specs,
        devices: [deviceOf()],
        syncPeriodMs: o.syncPeriodMs,
        // The demo places from the forecast it knows (cluster-plan.ts); the coordinator would start from no demand.
        placement: false,
      });
      node.on('requestOffloaded', (e) => (offloads[e.serviceId] = (offloads[e.serviceId] ?? 0) + 1));
      await node.start();
      const n = node;
      serveEntry(entry, {
        submit: (serviceId, inputs, budgetMs) => n.submit(serviceId, inputs, { deadline: Date.now() + budgetMs }),
        openStream: async (serviceId, rateHz) => {
          const s = await n.openStream(serviceId, { rateHz });
          return { servedBy: s.pinnedTo, push: (f) => s.push(f), close: () => s.close(), [Symbol.asyncIterator]: () => s[Symbol.asyncIterator]() };
        },
      });
      // The live dashboard of this node, behind a token generated for the run (the node authenticates its peers).
      const server = createServer((_req, res) => res.writeHead(404).end());
      dashboard = { server, page: mountDashboard(server, { node, auth: { token: o.dashboardToken }, services: o.specs }) };
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      return { dashboardUrl: `http://127.0.0.1:${port}/dashboard?token=${o.dashboardToken}` };
    },
    /** Waits until this node's view shows `n` live nodes. */
    async peers(n: number) {
      await until(() => Object.values(node!.view().entries).filter((e) => e.alive).length === n, `${n} live nodes`);
    },
    /** Loads this server's instances of the placement. */
    async place(instances: PlacedInstance[]) {
      for (const p of instances.filter((x) => x.serverId === id)) await executor!.load(p.plan, { instanceId: p.instanceId, deviceIds: p.deviceIds });
    },
    /** Waits until this node's view shows every instance of the placement ready. */
    async ready(instances: PlacedInstance[]) {
      await until(() => instances.every((p) => node!.view().entries[p.serverId]?.instances.some((i) => i.instanceId === p.instanceId && i.status === 'ready')), 'every instance ready');
    },
    stats: () => ({ ...node!.stats(), offloads: { ...offloads } }),
  },
  async () => {
    dashboard?.page.close();
    dashboard?.server.close();
    await node?.close().catch(() => undefined);
    await entry.close().catch(() => undefined);
    await executor?.close().catch(() => undefined);
  },
);
emitToParent('started', { id, pid: process.pid });
