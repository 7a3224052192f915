import { afterEach, describe, expect, it } from 'vitest';
import { createSeededRandom, createSystemTimers } from '@epara/core';
import { createMemoryHub } from '../transport/memory-hub.js';
import { createMemoryTransport } from '../transport/memory-transport.js';
import type { Transport } from '../transport/transport.js';
import { encodeFrame } from '../protocol/frame-codec.js';
import { resolveProtocolLimits } from '../protocol/protocol-limits.js';
import { AuthBackoff } from '../security/auth-backoff.js';
import { newIncarnation } from './peer-incarnations.js';
import { PeerLinks } from './peer-links.js';
import type { Handshake } from './peer-links.js';
import { plainHandshake } from './plain-handshake.js';

/*
 * Per-peer bookkeeping of the links (each peer's runs, the epoch its run was checked at, an address where a
 * replaced run answered) must not grow with every id ever seen: a cluster whose servers come and go under new ids,
 * or a peer that links under ever new ids, would grow it without bound. What is kept for an id goes once no link
 * to it is open and the view does not hold it.
 */

const transports: Transport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

const noLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** The plain handshake plus the node's incarnation frame, as `createHandshake` sends it. */
function announcing(id: string, epoch: number): Handshake {
  const plain = plainHandshake(id, createSystemTimers(), 1000);
  const run = newIncarnation(epoch);
  return async (connection, direction) => {
    const link = await plain(connection, direction);
    link.connection.send(encodeFrame({ type: 'incarnation', flags: 0, ...run }));
    return link;
  };
}

function links(hub: ReturnType<typeof createMemoryHub>, id: string, epochOf: (peer: string) => number | undefined): PeerLinks {
  const transport = createMemoryTransport({ hub, address: id });
  transports.push(transport);
  return new PeerLinks({
    selfId: id,
    transport,
    handshake: announcing(id, 1),
    limits: resolveProtocolLimits(),
    addressOf: (peer) => peer,
    epochOf,
    maxQueuedFrames: 16,
    maxBufferedBytes: 1 << 20,
    authBackoff: new AuthBackoff({ initialMs: 100, maxMs: 100, now: () => 0, random: createSeededRandom(1) }),
    logger: noLog,
  });
}

describe('PeerLinks: per-peer bookkeeping of ids that come and go', () => {
  it('is forgotten for a peer that linked, announced its run and left, unless the view still holds it', async () => {
    const hub = createMemoryHub();
    // The view of `a` holds `p0`…`p4` until the test says it forgot them.
    const inView = new Set(['p0', 'p1', 'p2', 'p3', 'p4']);
    const a = links(hub, 'a', (peer) => (inView.has(peer) ? 1 : undefined));
    await transports[0]!.listen();
    for (let i = 0; i < 40; i++) {
      const id = `p${i}`;
      const p = links(hub, id, () => undefined);
      const transport = transports.at(-1)!;
      await transport.listen();
      // Linked on both ends, and `a` read the run `p` announced (the ping comes after it on the link).
      const pinged = new Promise<void>((resolve) => a.on('messageReceived', ({ link, message }) => link.peerId === id && message.type === 'ping' && resolve()));
      p.send('a', { type: 'ping', requestId: 1 });
      await pinged;
      expect(a.trackedPeers).toBeGreaterThanOrEqual(1);
      const closed = new Promise<void>((resolve) => a.on('linkClosed', ({ link }) => link.peerId === id && resolve()));
      p.close();
      await transport.close();
      await closed;
    }
    // Only what the view still holds is kept.
    expect(a.connectedPeers()).toEqual([]);
    expect(a.trackedPeers).toBe(5);
    inView.clear();
    a.prune();
    expect(a.trackedPeers).toBe(0);
    a.close();
  });
});
