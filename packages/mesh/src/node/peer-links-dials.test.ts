import { describe, expect, it } from 'vitest';
import type { EparaError } from '@epara/core';
import { createMemoryHub } from '../transport/memory-hub.js';
import type { Connection, Transport } from '../transport/transport.js';
import type { DecodedMessage } from '../protocol/messages.js';
import type { PeerLinks } from './peer-links.js';
import { announcing, peerLinksForEachTest } from './peer-links-fixture.js';

/*
 * A dial to the address the view holds for peer `x` can be answered by another server: `x` died and `y` took its
 * address (a host or container reused under another id, a fixed port handed to the next process). The frames queued
 * for `x` — requests, cancels, stream frames — were never meant for `y`: delivered to it, `y` ran the requests and
 * answered, and the answers were dropped (they came from a server the requests were not sent to), so each request
 * waited out its deadline and the grace. The dial now counts as failed for `x` with nothing delivered, and the
 * requests are routed again at once; the link to `y` is kept as `y`'s.
 */

const { transports, links: linksOf } = peerLinksForEachTest();
const links = (hub: ReturnType<typeof createMemoryHub>, id: string, addressOf: (peer: string) => string | undefined): PeerLinks =>
  linksOf(hub, id, { address: `mem-${id}`, addressOf, epochOf: () => 1 });

describe('PeerLinks: a dial answered by another server than the one dialed', () => {
  it('delivers none of the frames queued for the peer dialed, and reports the dial failed for it', async () => {
    const hub = createMemoryHub();
    // The view of `a` still says `x` listens where `y` now does.
    const a = links(hub, 'a', (peer) => (peer === 'x' ? 'mem-y' : `mem-${peer}`));
    const y = links(hub, 'y', (peer) => `mem-${peer}`);
    await Promise.all(transports.map((t) => t.listen()));
    const atY: DecodedMessage[] = [];
    y.on('messageReceived', ({ message }) => void atY.push(message));
    const unreachable = new Promise<{ peerId: string | undefined; error: EparaError; dialId: string; peerLinked: boolean }>((resolve) => a.once('peerUnreachable', resolve));
    const opened = new Promise<string>((resolve) => a.once('linkOpened', ({ link }) => resolve(link.peerId)));

    // Before, the ping queued for `x` reached `y` and nothing said the dial had failed for `x`.
    const misdelivered = new Promise<'misdelivered'>((resolve) => y.on('messageReceived', ({ message }) => message.type === 'ping' && message.requestId === 7 && resolve('misdelivered')));
    const dialId = a.send('x', { type: 'ping', requestId: 7 });
    const lost = await Promise.race([unreachable, misdelivered]);
    if (lost === 'misdelivered') expect.fail('the frame queued for x was delivered to y');
    expect(lost).toMatchObject({ peerId: 'x', dialId, peerLinked: false });
    expect(lost.error.code).toBe('PEER_UNAVAILABLE');
    expect(lost.error.details).toMatchObject({ cause: 'ANOTHER_SERVER', answeredAs: 'y' });
    // The link is `y`'s, kept as such: a frame for `y` goes over it, and nothing meant for `x` ever arrived there.
    expect(await opened).toBe('y');
    expect(a.connectedPeers()).toEqual(['y']);
    const pinged = new Promise<void>((resolve) => y.on('messageReceived', ({ message }) => message.type === 'ping' && message.requestId === 8 && resolve()));
    a.send('y', { type: 'ping', requestId: 8 });
    await pinged;
    expect(atY.filter((m) => m.type === 'ping').map((m) => (m as { requestId: number }).requestId)).toEqual([8]);
    // Another send to `x` is refused at once rather than dialing `y` again (a new link each time) while the view
    // still shows `x` at that address with the same epoch.
    expect(() => a.send('x', { type: 'ping', requestId: 9 })).toThrow(expect.objectContaining({ code: 'PEER_UNAVAILABLE', details: expect.objectContaining({ cause: 'ANOTHER_SERVER' }) }));
    expect(a.connectedPeers()).toEqual(['y']);
  });
});

describe('PeerLinks: join tokens to a seed address', () => {
  it('go over the link already dialed there, not over a new link each time', async () => {
    // A node alone in its view sends a join token to a seed every sync period, and every few periods to each seed no
    // alive entry is at (a seed written `ws://edge-a:…` while edge-a advertises its IP is never "at" an entry).
    // Before, each dialed a new link to the seed and nothing closed the old ones: one more link per join, for as
    // long as the process ran.
    const hub = createMemoryHub();
    const a = links(hub, 'a', () => undefined);
    const seed = links(hub, 'seed', () => undefined);
    await Promise.all(transports.map((t) => t.listen()));
    let accepted = 0;
    transports[1]!.on('connectionAccepted', () => void accepted++);
    const arrived = (requestId: number): Promise<void> =>
      new Promise((resolve) => {
        const on = ({ message }: { message: DecodedMessage }): void => {
          if (message.type === 'ping' && message.requestId === requestId) (seed.off('messageReceived', on), resolve());
        };
        seed.on('messageReceived', on);
      });
    for (let i = 1; i <= 5; i++) {
      const next = arrived(i);
      a.sendToAddress('mem-seed', { type: 'ping', requestId: i }, undefined, { reuse: true });
      await next;
    }
    expect(accepted).toBe(1);
    // A check of who listens there now (a peer's new run) still dials afresh.
    const fresh = arrived(6);
    a.sendToAddress('mem-seed', { type: 'ping', requestId: 6 });
    await fresh;
    expect(accepted).toBe(2);
  });
});

describe('PeerLinks: a replaced run answering at the address its replacement listens at', () => {
  it('does not bar the address for the current run (both runs under one address: NATS names)', async () => {
    // On NATS a node's address is `<prefix>.peer.<name>`, and a server restarted under its name listens at the same
    // address as its old process, which answers there too once resumed. A dial answered by the old run is refused
    // (right), but the address is the current run's as well: barring it as a replaced run's while the view shows
    // the current run's epoch left this node unable to dial the current run at all.
    const hub = createMemoryHub();
    let viewEpoch = 1;
    const make = (id: string, address: string, epoch: number, epochOf: (peer: string) => number | undefined): { transport: Transport; links: PeerLinks } => {
      const links = linksOf(hub, id, { address, handshake: announcing(id, epoch), addressOf: (peer) => `mem-${peer}`, epochOf });
      return { transport: transports.at(-1)!, links };
    };
    const pinged = (links: PeerLinks, requestId: number): Promise<void> =>
      new Promise((resolve) => links.on('messageReceived', ({ message }) => message.type === 'ping' && message.requestId === requestId && resolve()));
    /** A ping from `p` to `a` on the link just made: `a` has read p's incarnation (sent before it) once it arrives. */
    const runKnown = async (p: PeerLinks, requestId: number): Promise<void> => {
      const got = pinged(a.links, requestId);
      p.send('a', { type: 'ping', requestId });
      await got;
    };
    const a = make('a', 'mem-a', 1, (peer) => (peer === 'p' ? viewEpoch : undefined));
    await a.transport.listen();
    const old = make('p', 'mem-p', 1, () => undefined);
    await old.transport.listen();
    let got = pinged(old.links, 1);
    a.links.send('p', { type: 'ping', requestId: 1 });
    await got;
    await runKnown(old.links, 101);
    // The server restarts under its id at the same address (the old process stopped, its link open): `a` learns the
    // new run from the view, dials it on its next send, and the new run's link replaces the old run's.
    hub.unregister('mem-p', old.transport as unknown as Parameters<typeof hub.unregister>[1]);
    const fresh = make('p', 'mem-p', 2, () => undefined);
    const inbound: Connection[] = [];
    fresh.transport.on('connectionAccepted', ({ connection }) => void inbound.push(connection));
    await fresh.transport.listen();
    viewEpoch = 2;
    const replaced = new Promise<void>((resolve) => a.links.once('linkClosed', () => resolve()));
    a.links.send('p', { type: 'ping', requestId: 2 });
    await replaced;
    // The new run's link drops; the old process, resumed, is the one that answers the next dial there: refused.
    const dropped = new Promise<void>((resolve) => a.links.once('linkClosed', () => resolve()));
    inbound[0]!.close('dropped');
    await dropped;
    hub.unregister('mem-p', fresh.transport as unknown as Parameters<typeof hub.unregister>[1]);
    hub.register('mem-p', old.transport as unknown as Parameters<typeof hub.register>[1]);
    const refused = new Promise<boolean>((resolve) => a.links.once('linkClosed', ({ lastLink }) => resolve(lastLink)));
    a.links.send('p', { type: 'ping', requestId: 3 });
    expect(await refused).toBe(false); // a replaced run's link: its closing says nothing of the current run
    // The new run answers there again: `a` dials it (before, the send threw REPLACED_RUN for as long as the view
    // showed the new run's epoch).
    hub.unregister('mem-p', old.transport as unknown as Parameters<typeof hub.unregister>[1]);
    hub.register('mem-p', fresh.transport as unknown as Parameters<typeof hub.register>[1]);
    got = pinged(fresh.links, 4);
    a.links.send('p', { type: 'ping', requestId: 4 });
    await got;
  });
});
