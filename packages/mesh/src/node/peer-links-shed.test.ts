import { describe, expect, it } from 'vitest';
import { createMemoryHub } from '../transport/memory-hub.js';
import type { DecodedMessage, WireMessage } from '../protocol/messages.js';
import type { PeerLinks } from './peer-links.js';
import { peerLinksForEachTest } from './peer-links-fixture.js';

/*
 * A link cut because its peer does not read (more than `maxBufferedBytes` wait unsent): the write that found it
 * full is refused, and when that write answered one of the peer's requests, the peer is told OVERLOADED under
 * that request's id. A write of this node's own request must not be: its id is in this node's numbering, and
 * the peer would fail whichever of its own requests carried the same number.
 */

const { transports, links: linksOf } = peerLinksForEachTest();
const links = (hub: ReturnType<typeof createMemoryHub>, id: string, maxBufferedBytes: number): PeerLinks => linksOf(hub, id, { maxBufferedBytes });

const tensor = { x: { type: 'float32' as const, dims: [256], data: new Float32Array(256) } };

/** `a` sends `b` a large frame, then — while it still waits unsent — `message`; resolves with what `b` received. */
async function shedAfter(message: WireMessage): Promise<{ received: DecodedMessage[]; thrown: unknown }> {
  // a → b is slow: what a sends waits unsent (buffered) for 30 ms.
  const hub = createMemoryHub({ faults: { delayMs: (l) => (l.from === 'a' ? 30 : 0) } });
  const a = links(hub, 'a', 512);
  const b = links(hub, 'b', 1 << 20);
  await transports[0]!.listen();
  await transports[1]!.listen();
  const received: DecodedMessage[] = [];
  const closed = new Promise<void>((resolve) => b.on('linkClosed', () => resolve()));
  b.on('messageReceived', ({ message }) => void received.push(message));
  // Both ends linked before the test's frames: a close that reached b mid-handshake would leave no link to close.
  const opened = Promise.all([a, b].map((l) => new Promise<void>((resolve) => l.on('linkOpened', () => resolve()))));
  a.send('b', { type: 'ping', requestId: 0 });
  await opened;
  a.send('b', { type: 'submit', requestId: 1, serviceId: 's', budgetMs: 1000, hops: 0, maxHops: 2, visited: [], priority: 0, inputs: tensor });
  let thrown: unknown;
  try {
    a.send('b', message);
  } catch (err) {
    thrown = err;
  }
  await closed;
  return { received, thrown };
}

describe('PeerLinks: a link cut for a peer that does not read', () => {
  it('a refused answer tells the peer OVERLOADED under the id of its request', async () => {
    const { received, thrown } = await shedAfter({ type: 'result', requestId: 7, outputs: tensor });
    expect(thrown).toMatchObject({ code: 'OVERLOADED' });
    expect(received.filter((m) => m.type === 'error')).toEqual([expect.objectContaining({ type: 'error', requestId: 7, error: expect.objectContaining({ code: 'OVERLOADED' }) })]);
  });

  const own: [string, WireMessage][] = [
    ['submit', { type: 'submit', requestId: 2, serviceId: 's', budgetMs: 1000, hops: 0, maxHops: 2, visited: [], priority: 0, inputs: tensor }],
    ['stream-frame', { type: 'stream-frame', requestId: 3, seq: 0, inputs: tensor }],
    ['cancel', { type: 'cancel', requestId: 4, reason: 'aborted' }],
  ];
  it.each(own)("a refused %s of this node's own sends the peer no error under its id", async (_type, message) => {
    const { received, thrown } = await shedAfter(message);
    expect(thrown).toMatchObject({ code: 'OVERLOADED' });
    expect(received.filter((m) => m.type === 'error')).toEqual([]);
  });
});
