import { afterEach, describe, expect, it } from 'vitest';
import { createSeededRandom, createSystemTimers } from '@epara/core';
import type { EparaError } from '@epara/core';
import { createMemoryHub } from '../transport/memory-hub.js';
import { createMemoryTransport } from '../transport/memory-transport.js';
import type { Transport } from '../transport/transport.js';
import type { DecodedMessage } from '../protocol/messages.js';
import { resolveProtocolLimits } from '../protocol/protocol-limits.js';
import { AuthBackoff } from '../security/auth-backoff.js';
import { PeerLinks } from './peer-links.js';
import { plainHandshake } from './plain-handshake.js';

/*
 * A dial to the address the view holds for peer `x` can be answered by another server: `x` died and `y` took its
 * address (a host or container reused under another id, a fixed port handed to the next process). The frames queued
 * for `x` — requests, cancels, stream frames — were never meant for `y`: delivered to it, `y` ran the requests and
 * answered, and the answers were dropped (they came from a server the requests were not sent to), so each request
 * waited out its deadline and the grace. The dial now counts as failed for `x` with nothing delivered, and the
 * requests are routed again at once; the link to `y` is kept as `y`'s.
 */

const transports: Transport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

const noLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function links(hub: ReturnType<typeof createMemoryHub>, id: string, addressOf: (peer: string) => string | undefined): PeerLinks {
  const transport = createMemoryTransport({ hub, address: `mem-${id}` });
  transports.push(transport);
  return new PeerLinks({
    selfId: id,
    transport,
    handshake: plainHandshake(id, createSystemTimers(), 1000),
    limits: resolveProtocolLimits(),
    addressOf,
    epochOf: () => 1,
    maxQueuedFrames: 16,
    maxBufferedBytes: 1 << 20,
    authBackoff: new AuthBackoff({ initialMs: 100, maxMs: 100, now: () => 0, random: createSeededRandom(1) }),
    logger: noLog,
  });
}

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
    // A node alone in its view sends a join token to a seed every sync period, and every 32 periods to each seed no
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
