import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { createFakeExecutor, createNode, createWebSocketTransport } from '@epara/mesh';
import { activeResources, closeAll, ECHO, input, leftOverAfter, PSK, startCluster, until, watch } from './helpers.js';

/*
 * After `close()` a node leaves nothing behind in the process — no timer, socket or server — whatever it was
 * doing: requests offloaded and in flight, a stream pinned to a peer, a dial to a seed that accepted TCP and
 * never answered. Counted with `process.getActiveResourcesInfo()` against the count before the nodes started.
 */

describe('close() leaves no timer, socket or server behind', () => {
  it('with requests in flight to a peer, a stream pinned to it and a dial to a seed that never answers', async () => {
    // The test's own blackhole: accepts TCP, never answers (closed by the test before counting).
    const held = new Set<Socket>();
    const blackhole = createServer((s) => (held.add(s), s.on('error', () => undefined)));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    const baseline = activeResources();
    const cluster = await startCluster({ size: 3, kind: 'ws', hosted: [1], serviceTimeMs: 100 });
    const [n0] = cluster.map((c) => c.node);
    const stream = await n0!.openStream('echo', { rateHz: 1, stalenessMs: 60_000 });
    for (let k = 0; k < 3; k++) stream.push(input([k]));
    let offloaded = 0;
    n0!.on('requestOffloaded', () => void (offloaded += 1));
    const inFlight = [1, 2, 3, 4].map((v) => n0!.submit('echo', input([v]), { deadline: Date.now() + 30_000 }).catch((e: unknown) => e));
    await until(() => offloaded >= 4, 'n0 offloaded the four requests');

    const joiner = createNode({
      id: 'j0',
      transport: createWebSocketTransport({ host: '127.0.0.1', port: 0, connectTimeoutMs: 60_000 }),
      executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: [] }),
      security: { psk: PSK, handshakeTimeoutMs: 60_000 },
      services: [ECHO],
      seeds: [`ws://127.0.0.1:${(blackhole.address() as AddressInfo).port}/epara`],
      syncPeriodMs: 50,
      placement: false,
    });
    watch(joiner);
    await joiner.start();
    await until(() => held.size > 0, 'the joiner dialed the blackholed seed');

    await Promise.all([closeAll(cluster), joiner.close()]);
    // Every call settled: answered before the close, or typed.
    for (const r of await Promise.all(inFlight)) if (r instanceof Error) expect(isEparaError(r)).toBe(true);
    for await (const r of stream) if (!r.ok) expect(isEparaError(r.error)).toBe(true);
    for (const s of held) s.destroy();
    await new Promise<void>((r) => blackhole.close(() => r()));
    expect(await leftOverAfter(baseline)).toEqual([]);
  });
});
