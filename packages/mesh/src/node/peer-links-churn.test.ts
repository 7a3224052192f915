import { describe, expect, it } from 'vitest';
import { createMemoryHub } from '../transport/memory-hub.js';
import type { PeerLinks } from './peer-links.js';
import { announcing, peerLinksForEachTest } from './peer-links-fixture.js';

/*
 * Per-peer bookkeeping of the links (each peer's runs, the epoch its run was checked at, an address where a
 * replaced run answered) must not grow with every id ever seen: a cluster whose servers come and go under new ids,
 * or a peer that links under ever new ids, would grow it without bound. What is kept for an id goes once no link
 * to it is open and the view does not hold it.
 */

const { transports, links: linksOf } = peerLinksForEachTest();
const links = (hub: ReturnType<typeof createMemoryHub>, id: string, epochOf: (peer: string) => number | undefined): PeerLinks =>
  linksOf(hub, id, { handshake: announcing(id, 1), epochOf });

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
