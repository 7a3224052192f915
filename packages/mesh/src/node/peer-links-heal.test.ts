import { describe, expect, it } from 'vitest';
import { createMemoryHub } from '../transport/memory-hub.js';
import type { DecodedMessage } from '../protocol/messages.js';
import { peerLinksForEachTest } from './peer-links-fixture.js';

/*
 * A dial made into a partition loses its handshake frames and waits for an answer until the handshake's timeout;
 * every frame sent to the peer meanwhile queues behind it, after the heal too. When the view shows the peer back
 * (`peerBack` after `peerLeft`, or after a dial to a peer the view held dead), the dial starts another attempt on
 * a fresh connection: the first attempt to link carries the queue, and the dial fails only when every attempt has.
 */

const { transports, links } = peerLinksForEachTest();

/** A hub whose frames between `a` and `b` are lost until `heal` (links stay open, as with a failed switch). */
function cutHub(): { hub: ReturnType<typeof createMemoryHub>; heal(): void } {
  const hub = createMemoryHub();
  hub.setFaults({ drop: (link) => [link.from, link.to].sort().join() === 'a,b' });
  return { hub, heal: () => hub.setFaults({}) };
}

const pingsAt = (received: DecodedMessage[]): number[] => received.filter((m) => m.type === 'ping').map((m) => (m as { requestId: number }).requestId);

describe('PeerLinks: a dial into a cut, and the peer back in the view', () => {
  it('sends what was queued on the stuck dial over a fresh connection once the peer is back', async () => {
    const { hub, heal } = cutHub();
    const a = links(hub, 'a');
    const b = links(hub, 'b');
    await Promise.all(transports.map((t) => t.listen()));
    const atB: DecodedMessage[] = [];
    b.on('messageReceived', ({ message }) => void atB.push(message));
    let accepted = 0;
    transports[1]!.on('connectionAccepted', () => void accepted++);
    const lost: string[] = [];
    a.on('peerUnreachable', ({ dialId }) => void lost.push(dialId));

    a.peerLeft('b');
    const dialId = a.send('b', { type: 'ping', requestId: 1 });
    await new Promise<void>((resolve) => transports[1]!.once('connectionAccepted', () => resolve()));
    heal();
    expect(a.send('b', { type: 'ping', requestId: 2 })).toBe(dialId);
    const both = new Promise<void>((resolve) => b.on('messageReceived', () => pingsAt(atB).length === 2 && resolve()));
    a.peerBack('b');
    await both;
    expect([pingsAt(atB), accepted, lost]).toEqual([[1, 2], 2, []]);
    expect(a.linked('b')).toBe(true);
  });

  it('leaves a dial alone when the peer is seen for the first time (a join, not a return)', async () => {
    const { hub, heal } = cutHub();
    const a = links(hub, 'a');
    links(hub, 'b');
    await Promise.all(transports.map((t) => t.listen()));
    let accepted = 0;
    transports[1]!.on('connectionAccepted', () => void accepted++);
    const failed = new Promise<string>((resolve) => a.once('peerUnreachable', ({ dialId }) => resolve(dialId)));
    const dialId = a.send('b', { type: 'ping', requestId: 1 });
    await new Promise<void>((resolve) => transports[1]!.once('connectionAccepted', () => resolve()));
    heal();
    a.peerBack('b');
    // Its one attempt waits out the handshake's timeout (1 s in the fixture) and fails: no second connection.
    expect(await failed).toBe(dialId);
    expect(accepted).toBe(1);
  });

  it('fails the dial once, when its last attempt fails, and not before', async () => {
    const { hub } = cutHub();
    const a = links(hub, 'a', { aliveOf: () => false });
    links(hub, 'b');
    await Promise.all(transports.map((t) => t.listen()));
    let accepted = 0;
    transports[1]!.on('connectionAccepted', () => void accepted++);
    const lost: string[] = [];
    a.on('peerUnreachable', ({ dialId }) => void lost.push(dialId));
    // A dial to a peer the view holds dead counts as made while it was gone.
    const dialId = a.send('b', { type: 'ping', requestId: 1 });
    await new Promise<void>((resolve) => transports[1]!.once('connectionAccepted', () => resolve()));
    a.peerBack('b');
    // Both attempts go into the cut: the first to time out ends nothing, the second fails the dial.
    await new Promise<void>((resolve) => a.once('peerUnreachable', () => resolve()));
    expect([lost, accepted]).toEqual([[dialId], 2]);
  });
});
