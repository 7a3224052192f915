import { describe, expect, it } from 'vitest';
import { createMemoryHub } from '../transport/memory-hub.js';
import type { DecodedMessage, WireMessage } from '../protocol/messages.js';
import { announcing, peerLinksForEachTest } from './peer-links-fixture.js';

/*
 * A frame written at once sends its large tensors as views of the caller's bytes (no copy); one held for later —
 * until the peer says how large a frame it takes — is joined into one array of its own when held, so a caller that
 * reuses its tensor once `send` returned cannot change what the peer gets.
 */

const { transports, links } = peerLinksForEachTest();
const BIG = 64 * 1024;
const filled = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);
const submit = (requestId: number, data: Uint8Array): WireMessage => ({ type: 'submit', requestId, serviceId: 's', budgetMs: 1000, hops: 0, maxHops: 2, visited: [], priority: 0, inputs: { x: { type: 'uint8', dims: [data.length], data } } });

async function pair(): Promise<{ send: (m: WireMessage) => void; atB: DecodedMessage[]; next(n: number): Promise<void>; opened: Promise<void>; pings: () => number }> {
  const hub = createMemoryHub();
  const a = links(hub, 'a', { handshake: announcing('a', 1, 16 * 1024 * 1024) });
  // b announces no limits (an older build): what a writes before b shows that is held, and released by b's pong.
  const b = links(hub, 'b', { handshake: announcing('b', 1, undefined) });
  await Promise.all(transports.map((t) => t.listen()));
  const atB: DecodedMessage[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let pings = 0;
  b.on('messageReceived', ({ link, message }) => {
    if (message.type === 'ping') return void (pings++, b.reply(link.linkId, { type: 'pong', requestId: message.requestId ?? 0 }));
    atB.push(message);
    for (const w of [...waiters]) if (atB.length >= w.n) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  });
  const opened = new Promise<void>((resolve) => a.on('linkOpened', () => resolve()));
  return { send: (m) => void a.send('b', m), atB, next: (n) => (atB.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))), opened, pings: () => pings };
}

const bytesOf = (m: DecodedMessage | undefined): Uint8Array => {
  if (m?.type !== 'submit') throw new Error(`expected a submit, got ${m?.type}`);
  return m.inputs['x']!.data as Uint8Array;
};

describe('PeerLinks: large tensors leave without a copy, and a held frame owns its bytes', () => {
  it('a frame held until the peer shows its limits carries the tensor as it was at send, whatever the caller does after', async () => {
    const { send, atB, next, opened, pings } = await pair();
    send(submit(1, filled(10, 1)));
    await opened;
    await next(1);
    const data = filled(BIG, 7);
    send(submit(2, data));
    data.fill(9); // the caller reuses its buffer once send returned
    await next(2);
    expect(atB.map((m) => m.requestId)).toEqual([1, 2]);
    expect(bytesOf(atB[1]).every((v) => v === 7)).toBe(true);
    // It was held: a asked b with a ping whether limits were coming.
    expect(pings()).toBeGreaterThan(0);
  });

  it('frames written at once arrive bit-equal and in order', async () => {
    const { send, atB, next, opened } = await pair();
    send(submit(1, filled(10, 1)));
    await opened;
    await next(1);
    send(submit(2, filled(BIG, 2))); // held: releases with b's pong
    await next(2);
    const later = [filled(BIG, 3), filled(100, 4), filled(BIG + 3, 5)];
    later.forEach((d, i) => send(submit(3 + i, d)));
    await next(5);
    expect(atB.map((m) => m.requestId)).toEqual([1, 2, 3, 4, 5]);
    later.forEach((d, i) => expect(Buffer.from(bytesOf(atB[2 + i])).equals(Buffer.from(d))).toBe(true));
  });
});
