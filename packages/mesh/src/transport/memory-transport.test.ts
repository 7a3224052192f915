import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '@epara/core';
import { createMemoryHub } from './memory-hub.js';
import { createMemoryTransport } from './memory-transport.js';
import { runTransportContract } from './transport-contract.js';
import { codeOf, collectFrames, nextAccepted } from './transport-contract-helpers.js';

const hub = createMemoryHub();
runTransportContract('memory', {
  createServer: (o) => createMemoryTransport({ hub, ...o }),
  createClient: (o) => createMemoryTransport({ hub, ...o }),
  deadAddress: () => 'nobody-listens-here',
});

describe('memory transport faults', () => {
  it('drops frames the hub drops and keeps order under random delay', async () => {
    const h = createMemoryHub({ faults: { drop: (_link, f) => f[0] === 0, delayMs: () => Math.floor(Math.random() * 3) } });
    const server = createMemoryTransport({ hub: h, address: 's' });
    await server.listen();
    const accepted = nextAccepted(server);
    const conn = await createMemoryTransport({ hub: h }).connect('s');
    const inbound = await accepted;
    const got = collectFrames(inbound, 50);
    for (let i = 0; i < 100; i++) conn.send(new Uint8Array([i % 2, i]));
    expect((await got).map((f) => f[1])).toEqual(Array.from({ length: 50 }, (_, k) => 2 * k + 1));
    await server.close();
  });

  it('loses about lossRate of frames with a seeded random', async () => {
    const h = createMemoryHub({ faults: { lossRate: 0.5, random: createSeededRandom(7) } });
    const server = createMemoryTransport({ hub: h, address: 's' });
    await server.listen();
    const accepted = nextAccepted(server);
    const conn = await createMemoryTransport({ hub: h }).connect('s');
    const inbound = await accepted;
    let n = 0;
    inbound.on('frameReceived', () => n++);
    for (let i = 0; i < 400; i++) conn.send(new Uint8Array([1]));
    h.setFaults({});
    const last = collectFrames(inbound, 1);
    conn.send(new Uint8Array([2]));
    await last;
    expect(n).toBeGreaterThan(120);
    expect(n).toBeLessThan(280);
    await server.close();
  });

  it('validates options and refuses a taken address', async () => {
    expect(await codeOf(() => createMemoryTransport({ maxFrameBytes: 0 }))).toBe('INVALID_OPTIONS');
    expect(await codeOf(() => createMemoryHub({ faults: { lossRate: 0.1 } }))).toBe('INVALID_OPTIONS');
    const h = createMemoryHub();
    await createMemoryTransport({ hub: h, address: 'x' }).listen();
    expect(await codeOf(() => createMemoryTransport({ hub: h, address: 'x' }).listen())).toBe('INVALID_OPTIONS');
  });
});
