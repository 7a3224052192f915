import { connect } from 'node:net';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import { expect, it } from 'vitest';
import { createGateway } from '../gateway.js';

/*
 * A body is buffered as it arrives, not as large as its Content-Length claims: a client that declares the
 * largest allowed body and then trickles (or sends nothing) must not make the server hold that much memory per
 * connection before a byte of it came.
 */

it('does not allocate a declared body up front', async () => {
  const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'] });
  const node = createNode({ id: 'n1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false, syncPeriodMs: 20 });
  await node.start();
  const maxBodyBytes = 64 * 1024 * 1024;
  const gateway = createGateway({ node, models: [{ name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }], http: { port: 0 }, grpc: false, maxBodyBytes });
  const url = new URL((await gateway.start()).http!);
  const sockets = Array.from({ length: 4 }, () => connect(Number(url.port), url.hostname));
  try {
    const before = process.memoryUsage().arrayBuffers;
    for (const s of sockets) s.write(`POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nContent-Length: ${maxBodyBytes}\r\n\r\n{"inputs":`);
    // Each request reached the infer route (its body buffer is made there).
    while (gateway.stats().httpAccepted < sockets.length) await new Promise((r) => setImmediate(r));
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(maxBodyBytes);
  } finally {
    for (const s of sockets) s.destroy();
    await gateway.close();
    await node.close();
  }
});
