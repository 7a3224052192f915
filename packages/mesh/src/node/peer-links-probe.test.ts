import { describe, expect, it } from 'vitest';
import { createMemoryHub } from '../transport/memory-hub.js';
import type { PeerLinks } from './peer-links.js';
import { peerLinksForEachTest } from './peer-links-fixture.js';

/*
 * A link cut one way (a one-way partition: frames from one side are lost, the other way they pass) stays open, and
 * its keepalive may be content: requests sent over it were each lost until their deadline, again and again. When
 * something sent over a link got no answer in time, the node probes it — a `ping` the peer answers with a `pong` —
 * and closes it when no pong comes: what it carried is routed again, and a new link cannot be had while the cut
 * lasts (its handshake needs both ways).
 */

const { transports, links } = peerLinksForEachTest();

/** `a` linked to `b`, where `b` answers pings as a node does; `cut(from)` drops every frame from that side. */
async function pair(): Promise<{ a: PeerLinks; b: PeerLinks; cut: (from: string | undefined) => void }> {
  const hub = createMemoryHub();
  const a = links(hub, 'a');
  const b = links(hub, 'b');
  await Promise.all(transports.map((t) => t.listen()));
  b.on('messageReceived', ({ link, message }) => void (message.type === 'ping' && b.reply(link.linkId, { type: 'pong', requestId: message.requestId })));
  const up = new Promise<void>((resolve) => b.once('linkOpened', () => resolve()));
  a.send('b', { type: 'ping', requestId: 0 });
  await up;
  let from: string | undefined;
  hub.setFaults({ drop: (l) => l.from === from });
  return { a, b, cut: (f) => void (from = f) };
}

describe('PeerLinks.probe', () => {
  for (const side of ['b', 'a']) {
    it(`closes a link whose ${side === 'b' ? 'answers' : 'frames'} are lost on the way (a one-way cut from ${side})`, async () => {
      const { a, cut } = await pair();
      cut(side);
      const closed = new Promise<{ peer: string; lastLink: boolean }>((resolve) => a.once('linkClosed', ({ link, lastLink }) => resolve({ peer: link.peerId, lastLink })));
      a.probe('b', undefined, 50);
      expect(a.probing).toBe(1);
      expect(await closed).toEqual({ peer: 'b', lastLink: true });
      expect(a.probing).toBe(0);
      expect(a.connectedPeers()).toEqual([]);
    });
  }

  it('keeps a link that answers, probes it once at a time, and leaves no timer behind on close', async () => {
    const { a } = await pair();
    // The probe's pong (not the one answering the ping that opened the link, numbered 0).
    const ponged = new Promise<void>((resolve) => a.on('messageReceived', ({ message }) => void (message.type === 'pong' && message.requestId !== 0 && resolve())));
    // A generous wait: only the pong ends this probe.
    a.probe('b', undefined, 60_000);
    a.probe('b', undefined, 60_000);
    expect(a.probing).toBe(1);
    await ponged;
    expect(a.probing).toBe(0);
    expect(a.connectedPeers()).toEqual(['b']);
    // A link other than the one named (nor a dial that went out on it) is not probed.
    a.probe('b', 'another-link', 60_000);
    expect(a.probing).toBe(0);
    a.probe('b', undefined, 60_000);
    expect(a.probing).toBe(1);
    a.close();
    expect(a.probing).toBe(0);
  });
});
