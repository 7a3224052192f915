import { describe, expect, it } from 'vitest';
import { createMemoryHub } from '../transport/memory-hub.js';
import type { DecodedMessage, WireMessage } from '../protocol/messages.js';
import type { PeerLinks } from './peer-links.js';
import { announcing, peerLinksForEachTest } from './peer-links-fixture.js';

/*
 * Frames a node sends a peer before the peer's `limits` message has arrived (queued on the dial, or written on a
 * link just opened) must not cost the link: the peer announces the largest frame it takes right after the
 * handshake, and a frame over it closes the link on arrival. Such frames wait for the announcement (or for a sign
 * that the peer sends none: any other frame, or the pong to a ping sent to ask); then those that fit go out in
 * order and one over it is refused typed — a request of this node's own is answered PROTOCOL_ERROR as if the peer
 * had refused it, an answer to the peer becomes a PROTOCOL_ERROR the peer gets under its own request's id.
 */

const { transports, links } = peerLinksForEachTest();
const SMALL = 16 * 1024;
const tensor = (n: number) => ({ x: { type: 'uint8' as const, dims: [n], data: new Uint8Array(n) } });
const submit = (requestId: number, n: number): WireMessage => ({ type: 'submit', requestId, serviceId: 's', budgetMs: 1000, hops: 0, maxHops: 2, visited: [], priority: 0, inputs: tensor(n) });

/** `a` (default limits) and `b` (which decodes at most SMALL bytes and says so), both listening; nothing linked yet. */
async function pair(o: { bAnnounces?: boolean } = {}): Promise<{ a: PeerLinks; b: PeerLinks; atA: DecodedMessage[]; atB: DecodedMessage[]; events: string[] }> {
  const hub = createMemoryHub();
  const a = links(hub, 'a', { handshake: announcing('a', 1, 16 * 1024 * 1024) });
  const b = links(hub, 'b', { handshake: announcing('b', 1, o.bAnnounces === false ? undefined : SMALL), limits: { maxFrameBytes: SMALL } });
  await Promise.all(transports.map((t) => t.listen()));
  const atA: DecodedMessage[] = [];
  const atB: DecodedMessage[] = [];
  const events: string[] = [];
  a.on('messageReceived', ({ message }) => void atA.push(message));
  b.on('messageReceived', ({ message }) => void atB.push(message));
  for (const [name, l] of [['a', a], ['b', b]] as const) {
    l.on('frameRejected', ({ error }) => void events.push(`${name} rejected ${error.code}`));
    l.on('linkClosed', () => void events.push(`${name} closed`));
    l.on('peerUnreachable', () => void events.push(`${name} unreachable`));
  }
  return { a, b, atA, atB, events };
}

const settle = (ms = 30): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('PeerLinks: frames sent before the peer said how large a frame it takes', () => {
  it('a request over the peer’s limit queued on the dial is answered PROTOCOL_ERROR here; the link stays and the frames around it arrive in order', async () => {
    const { a, atA, atB, events } = await pair();
    a.send('b', submit(1, 100));
    a.send('b', submit(2, 2 * SMALL));
    a.send('b', submit(3, 200));
    const answered = new Promise<void>((resolve) => a.on('messageReceived', ({ message }) => message.type === 'error' && resolve()));
    await answered;
    await settle();
    expect(events).toEqual([]);
    expect(atB.filter((m) => m.type === 'submit').map((m) => m.requestId)).toEqual([1, 3]);
    expect(atA.filter((m) => m.type === 'error')).toEqual([
      expect.objectContaining({ requestId: 2, error: expect.objectContaining({ code: 'PROTOCOL_ERROR', details: expect.objectContaining({ peer: 'b', peerMaxFrameBytes: SMALL }) }) }),
    ]);
    // Known now: the next one is refused at the call.
    expect(() => a.send('b', submit(4, 2 * SMALL))).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
    expect(a.connectedPeers()).toEqual(['b']);
  });

  it('an answer over the peer’s limit queued on the dial reaches the peer as PROTOCOL_ERROR under its id; the link stays', async () => {
    const { a, atB, events } = await pair();
    a.send('b', { type: 'result', requestId: 9, outputs: tensor(2 * SMALL) });
    a.send('b', { type: 'result', requestId: 10, outputs: tensor(100) });
    const told = new Promise<void>((resolve) => a.on('frameSent', ({ type }) => type === 'result' && resolve()));
    await told;
    await settle();
    expect(events).toEqual([]);
    expect(atB.filter((m) => m.type === 'error' || m.type === 'result').map((m) => [m.type, m.requestId])).toEqual([
      ['error', 9],
      ['result', 10],
    ]);
    expect(atB.find((m) => m.type === 'error')).toMatchObject({ error: { code: 'PROTOCOL_ERROR' } });
  });

  it('a peer that announces no limits (an older build) gets the held frames once it shows it sends none', async () => {
    const { a, b, atB, events } = await pair({ bAnnounces: false });
    // b answers pings, as a node does: its pong is what tells a that no limits are coming.
    b.on('messageReceived', ({ link, message }) => message.type === 'ping' && b.reply(link.linkId, { type: 'pong', requestId: message.requestId ?? 0 }));
    a.send('b', submit(1, SMALL / 2));
    a.send('b', submit(2, 2 * SMALL));
    const closed = new Promise<void>((resolve) => b.on('linkClosed', () => resolve()));
    await closed;
    // Nothing told a it could not: the frames went out, and b (whose codec refuses the large one) closed the link as before.
    expect(atB.filter((m) => m.type === 'submit').map((m) => m.requestId)).toEqual([1]);
    expect(events).toContain('b rejected PROTOCOL_ERROR');
  });

  it('frames held for a peer that dies before it says anything are reported lost with the link: linkClosed names their dial', async () => {
    const { a, atB } = await pair({ bAnnounces: false });
    const dialId = a.send('b', submit(1, 2 * SMALL));
    // b never answers the ping (a process killed right after its handshake): its transport goes away.
    const opened = new Promise<void>((resolve) => a.on('linkOpened', () => resolve()));
    await opened;
    const closed = new Promise<readonly string[]>((resolve) => a.on('linkClosed', ({ dialIds }) => resolve(dialIds)));
    await transports[1]!.close();
    expect(await closed).toContain(dialId);
    expect(atB.filter((m) => m.type === 'submit')).toEqual([]);
  });
});
