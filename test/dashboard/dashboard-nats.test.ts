import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeExecutor, createNode } from '@epara/mesh';
import { connectNats, createNatsTransport, createNatsViewSync } from '@epara/mesh-nats';
import type { MeshNode } from '@epara/mesh';
import type { NatsConnection } from '@epara/mesh-nats';
import { createDashboard } from '@epara/dashboard';
import type { Dashboard, HistoryMessage, TickMessage } from '@epara/dashboard';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { ECHO, PSK, aliveIds, input, until, watch } from '../mesh/helpers.js';
import { skipNats, uniqueName, useNatsServer } from '../nats/nats-server.js';
import { readEvents } from './sse.js';
import type { TestNatsServer } from '../nats/nats-server.js';

const TOKEN = 'nats-dashboard-token-0123456789';

// The dashboard reads only the node's public API: the same page works for a node whose transport and view
// come from NATS (KV view sync), with no dashboard code specific to it.
describe.skipIf(skipNats())('dashboard of a node on NATS (transport and KV view)', () => {
  let server: TestNatsServer;
  const members: { nc: NatsConnection; node: MeshNode }[] = [];
  let http: Server;
  let dashboard: Dashboard;
  let base = '';

  beforeAll(async () => {
    server = await useNatsServer();
    const bucket = uniqueName('view');
    const prefix = uniqueName('k');
    for (let i = 0; i < 2; i++) {
      const id = `n${i}`;
      const nc = await connectNats({ servers: server.url });
      const node = createNode({
        id,
        transport: createNatsTransport({ connection: nc, name: id, subjectPrefix: prefix, keepaliveIntervalMs: 100, deadPeerTimeoutMs: 600 }),
        executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: i === 1 ? ['echo'] : [], tag: i }),
        security: { psk: PSK },
        viewSync: (ctx) => createNatsViewSync({ ...ctx, connection: nc, bucket, periodMs: 100, deadAfterMs: 500, ttlMs: 10_000 }),
        services: [ECHO],
        placement: false,
      });
      watch(node);
      await node.start();
      members.push({ nc, node });
    }
    await until(() => members.every((m) => aliveIds(m.node).length === 2), 'both nodes see each other');
    dashboard = createDashboard({ node: members[0]!.node, auth: { token: TOKEN }, intervalMs: 200 });
    http = createServer((req, res) => void (dashboard.handle(req, res) || res.writeHead(404).end()));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const a = http.address();
    base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });

  afterAll(async () => {
    dashboard?.close();
    await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
    for (const m of members) {
      await m.node.close().catch(() => undefined);
      if (!m.nc.isClosed()) await m.nc.close();
    }
    await server?.stop();
  });

  it('shows both servers, the remote instance, the offload flow and the completions', async () => {
    for (let i = 0; i < 4; i++) await members[0]!.node.submit('echo', input([i]), { deadline: Date.now() + 2000 });
    // The live stream: the history so far, then the dashboard's next two ticks (every 200 ms), the first of
    // which is collected after the completions above.
    const res = await fetch(`${base}/dashboard/events`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const events = await readEvents(res, (ev) => ev.filter((e) => e.event === 'tick').length >= 2);
    expect(events[0]!.event).toBe('history');
    const history = events[0]!.data as HistoryMessage;
    const ticks = events.filter((e) => e.event === 'tick').map((e) => e.data as TickMessage);
    const tick = ticks[ticks.length - 1]!;
    const good = [...history.points, ...ticks.map((t) => t.point)].reduce((s, p) => s + (p.values['echo']?.goodput ?? 0) * 0.2, 0);
    expect(good).toBeGreaterThan(0);
    expect(tick.nodes.map((n) => [n.id, n.health])).toEqual([['n0', 'alive'], ['n1', 'alive']]);
    expect(tick.nodes[1]!.devices.flatMap((d) => d.instances.map((i) => `${i.serviceId}:${i.status}`))).toEqual(['echo:READY']);
    expect(ticks.some((t) => t.flows.some((f) => f.from === 'n0' && f.ratePerSec > 0))).toBe(true);
  });
});
