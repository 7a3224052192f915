import { describe, expect, it } from 'vitest';
import { createMemoryHub } from '../transport/memory-hub.js';
import { createMemoryTransport } from '../transport/memory-transport.js';
import { closedOf, collectFrames, nextAccepted } from '../transport/transport-contract-helpers.js';
import { decodeFrame, encodeFrame } from './frame-codec.js';
import type { DecodedMessage } from './messages.js';
import { createPeerChannel } from './peer-channel.js';
import type { MalformedFrameEvent } from './peer-channel.js';

async function pair() {
  const hub = createMemoryHub();
  const server = createMemoryTransport({ hub, address: 's' });
  await server.listen();
  const accepted = nextAccepted(server);
  const client = await createMemoryTransport({ hub }).connect('s');
  return { client, inbound: await accepted };
}

describe('createPeerChannel', () => {
  it('sends and receives typed messages in order', async () => {
    const { client, inbound } = await pair();
    const a = createPeerChannel(client, { peerId: 's' });
    const b = createPeerChannel(inbound, { peerId: 'c' });
    const got: DecodedMessage[] = [];
    const done = new Promise<void>((resolve) => b.on('messageReceived', (m) => (got.push(m), got.length === 2 && resolve())));
    a.send({ type: 'ping', requestId: 1 });
    a.send({ type: 'cancel', requestId: 2, reason: 'caller aborted' });
    await done;
    expect(got.map((m) => [m.type, m.requestId])).toEqual([['ping', 1], ['cancel', 2]]);
  });

  it("answers a malformed request of the peer's with PROTOCOL_ERROR for its request id and closes the link", async () => {
    const { client, inbound } = await pair();
    const b = createPeerChannel(inbound, { peerId: 'c' });
    const bad: MalformedFrameEvent[] = [];
    b.on('malformedFrameReceived', (e) => bad.push(e));
    const frame = encodeFrame({ type: 'submit', requestId: 42, serviceId: 's', budgetMs: 100, hops: 0, maxHops: 2, visited: [], priority: 0, inputs: { x: { type: 'float32', dims: [1], data: new Float32Array(1) } } });
    const broken = frame.subarray(0, frame.byteLength - 4);
    const reply = collectFrames(client, 1);
    client.send(broken);
    const m = decodeFrame((await reply)[0] as Uint8Array);
    expect(m.type === 'error' && [m.requestId, m.error.code]).toEqual([42, 'PROTOCOL_ERROR']);
    await closedOf(client);
    expect(bad).toHaveLength(1);
    expect(bad[0]?.requestId).toBe(42);
    expect(() => b.send({ type: 'ping' })).toThrow(/closed/);
  });

  it('a malformed answer is reported with its id but not answered: the id is this side\'s, the peer would fail its own request of that number', async () => {
    const { client, inbound } = await pair();
    const b = createPeerChannel(inbound, { peerId: 'c' });
    const bad: MalformedFrameEvent[] = [];
    b.on('malformedFrameReceived', (e) => bad.push(e));
    const got: Uint8Array[] = [];
    client.on('frameReceived', ({ frame }) => void got.push(frame));
    const frame = encodeFrame({ type: 'result', requestId: 42, outputs: { x: { type: 'float32', dims: [1], data: new Float32Array(1) } } });
    client.send(frame.subarray(0, frame.byteLength - 4));
    await closedOf(client);
    expect(bad.map((e) => e.requestId)).toEqual([42]);
    expect(got).toEqual([]);
  });
});
