import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { aliveIds, input, PSK, serverOf, until, watch } from './helpers.js';

const tlsFile = (name: string): string => readFileSync(fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url)), 'utf8');
const nodes: MeshNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

describe('rejoin and TLS', () => {
  it('a restarted server rejoins with a new epoch and its old entry loses everywhere', async () => {
    const hub = createMemoryHub();
    const make = (id: string, epoch: number): MeshNode => {
      const node = createNode({
        id,
        transport: createMemoryTransport({ hub, address: id }),
        executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] }),
        security: { psk: PSK },
        seeds: id === 'a' ? [] : ['a'],
        syncPeriodMs: 50,
        syncAckTimeoutMs: 400,
        placement: false,
        epoch,
      });
      nodes.push(node);
      watch(node);
      return node;
    };
    for (const id of ['a', 'b', 'c']) await make(id, 1).start();
    await until(() => nodes.every((n) => aliveIds(n).length === 3), 'three alive');
    const old = nodes.splice(2, 1)[0]!;
    await old.close();
    await until(() => !aliveIds(nodes[0]!).includes('c'), 'a marks c dead');
    const back = make('c', 2);
    await back.start();
    await until(() => nodes.every((n) => aliveIds(n).length === 3 && n.view().entries['c']!.epoch === 2), 'c back with epoch 2 everywhere');
    expect(back.stats().epoch).toBe(2);
  });

  it('runs the mesh over wss:// (TLS) with PSK authentication on top', async () => {
    const tls = { key: tlsFile('key.pem'), cert: tlsFile('cert.pem'), ca: tlsFile('cert.pem') };
    for (const [i, id] of ['s0', 's1'].entries()) {
      const node = createNode({
        id,
        transport: createWebSocketTransport({ host: '127.0.0.1', port: 0, tls }),
        executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: i === 1 ? ['echo'] : [], tag: i }),
        security: { psk: PSK },
        seeds: i === 0 ? [] : [nodes[0]!.address!],
        syncPeriodMs: 50,
        placement: false,
      });
      watch(node);
      await node.start();
      nodes.push(node);
    }
    expect(nodes[0]!.address!.startsWith('wss://')).toBe(true);
    await until(() => nodes[0]!.view().entries['s1']?.instances.length === 1, 's0 sees s1 instance');
    const out = await nodes[0]!.submit('echo', input([21]), { deadline: Date.now() + 2000 });
    expect(serverOf(out)).toBe(1);
    expect((out['x']!.data as Float32Array)[0]).toBe(42);
  });
});
