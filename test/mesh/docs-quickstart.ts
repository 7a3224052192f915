import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';

const psk = 'change-me-to-32-random-bytes-!!!';
const nodes: MeshNode[] = [];
for (const [i, id] of ['edge-a', 'edge-b', 'edge-c'].entries()) {
  const node = createNode({
    id,
    transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }),
    // Stand-in for @epara/runtime's createExecutor(...): only edge-c hosts the `echo` service.
    executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 2 } }, hosted: i === 2 ? ['echo'] : [], tag: i }),
    security: { psk },
    seeds: nodes.length > 0 ? [nodes[0]!.address!] : [],
    syncPeriodMs: 100,
    placement: false,
  });
  node.on('requestOffloaded', (e) => console.log(`${id} offloaded ${e.serviceId} to ${e.to}`));
  await node.start();
  nodes.push(node);
}

// Wait until edge-a's view shows the echo instance on edge-c (a few ring rounds): checked on each view change.
const [a] = nodes;
await a!.whenView((v) => v.entries['edge-c']?.instances.some((x) => x.serviceId === 'echo' && x.status === 'ready') === true);

const outputs = await a!.submit('echo', { x: { type: 'float32', dims: [2], data: Float32Array.of(1, 2) } }, { deadline: Date.now() + 500 });
console.log(outputs['x']!.data, 'computed on server', outputs['server']!.data[0]); // Float32Array [2, 4], 2

const stream = await a!.openStream('echo', { rateHz: 20, stalenessMs: 500 });
for (let k = 0; k < 3; k++) stream.push({ x: { type: 'float32', dims: [1], data: Float32Array.of(k) } });
const summary = stream.close();
for await (const r of stream) console.log(`frame ${r.seq}:`, r.ok ? r.outputs['x']!.data[0] : r.error.code);
console.log('stream pinned to', stream.pinnedTo, await summary);

console.log(a!.stats());
await Promise.all(nodes.map((n) => n.close()));

export const result = { doubled: Array.from(outputs['x']!.data as Float32Array), pinnedTo: stream.pinnedTo, summary: await summary };
