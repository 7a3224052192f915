import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode, createWebSocketTransport } from '@epara/mesh';
import type { NodeEvents } from '@epara/mesh';
import { closeAll, input, startCluster, until } from '../mesh/helpers.js';
import type { ClusterNode } from '../mesh/helpers.js';

// The events the dashboard is fed by: one completion per submit, and where forwarded requests come from.
describe('node events for observers', () => {
  let cluster: ClusterNode[] = [];
  afterEach(async () => {
    await closeAll(cluster);
    cluster = [];
  });

  it('requestCompleted reports every submit once, with latency, deadline and error code', async () => {
    cluster = await startCluster({ size: 2, kind: 'memory', hosted: [1], serviceTimeMs: 5 });
    const [a, b] = cluster as [ClusterNode, ClusterNode];
    const completed: NodeEvents['requestCompleted'][0][] = [];
    const received: NodeEvents['requestReceived'][0][] = [];
    a.node.on('requestCompleted', (e) => completed.push(e));
    b.node.on('requestReceived', (e) => received.push(e));
    await until(() => Object.values(a.node.view().entries).some((e) => e.instances.length > 0), 'n0 sees the echo instance');

    await a.node.submit('echo', input([1]), { deadline: Date.now() + 1000 });
    await expect(a.node.submit('nope', input([1]))).rejects.toMatchObject({ code: 'NO_INSTANCE' });
    await until(() => completed.length === 2, 'two completions');

    expect(completed[0]).toMatchObject({ serviceId: 'echo', ok: true, deadlineMet: true });
    expect(completed[0]!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(completed[0]).not.toHaveProperty('code');
    expect(completed[1]).toMatchObject({ serviceId: 'nope', ok: false, deadlineMet: false, code: 'NO_INSTANCE' });
    expect(received).toEqual([{ serviceId: 'echo', from: 'n0', hops: 1 }]);
  });

  it('frameCompleted reports each stream result as the host reads it', async () => {
    cluster = await startCluster({ size: 2, kind: 'memory', hosted: [1], serviceTimeMs: 2 });
    const a = cluster[0]!;
    await until(() => Object.values(a.node.view().entries).some((e) => e.instances.length > 0), 'n0 sees the echo instance');
    const frames: NodeEvents['frameCompleted'][0][] = [];
    a.node.on('frameCompleted', (e) => frames.push(e));
    const stream = await a.node.openStream('echo', { rateHz: 20, stalenessMs: 1000 });
    for (let i = 0; i < 3; i++) stream.push(input([i]));
    const closed = stream.close();
    const results = [];
    for await (const r of stream) results.push(r);
    await closed;
    expect(results).toHaveLength(3);
    expect(frames).toHaveLength(3);
    expect(frames.every((f) => f.serviceId === 'echo' && f.ok && f.latencyMs >= 0)).toBe(true);
  });

  it('authenticatesPeers is true with a PSK and false for an insecure node', async () => {
    cluster = await startCluster({ size: 1, kind: 'memory', hosted: [] });
    expect(cluster[0]!.node.authenticatesPeers).toBe(true);
    const open = createNode({
      id: 'open',
      transport: createMemoryTransport({ hub: createMemoryHub(), address: 'open' }),
      executor: createFakeExecutor({ services: {} }),
      security: { insecure: true },
    });
    expect(open.authenticatesPeers).toBe(false);
    await open.close();
  });

  it('authenticatesPeers is true for an insecure node whose WebSocket transport requires client certificates', async () => {
    const pem = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url)), 'utf8');
    const tls = { key: pem('key.pem'), cert: pem('cert.pem'), ca: pem('cert.pem') };
    const make = (requestCert: boolean) =>
      createNode({ id: 'm', transport: createWebSocketTransport({ tls: { ...tls, requestCert } }), executor: createFakeExecutor({ services: {} }), security: { insecure: true } });
    const mtls = make(true);
    const serverOnly = make(false);
    expect(mtls.authenticatesPeers).toBe(true);
    expect(serverOnly.authenticatesPeers).toBe(false);
    await Promise.all([mtls.close(), serverOnly.close()]);
  });
});
