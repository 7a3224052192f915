import { describe, expect, it } from 'vitest';
import { createSystemTimers } from '@epara/core';
import { createMemoryHub } from '../transport/memory-hub.js';
import type { DecodedMessage } from '../protocol/messages.js';
import { newIncarnation } from './peer-incarnations.js';
import { announcingRun, peerLinksForEachTest } from './peer-links-fixture.js';
import type { PeerLinksEvents } from './peer-links.js';
import { plainHandshake } from './plain-handshake.js';

/*
 * A server `x` restarted under its id: the view of `a` shows the new run (its address, its run), and a request to
 * `x` waits on a dial to that run. The old run, still running (stopped and resumed, or cut off and back), links to
 * `a` meanwhile — its ring token — and that link then closes: the only link `a` has to `x`. Before, it closed as
 * `x`'s last link, and the node took the peer for failed: the request waiting on the new run's dial was retried
 * elsewhere (failed, where only `x` serves it) and the new run marked dead in the view. A replaced run's link
 * closing is that link going down, nothing more.
 */

const { transports, links } = peerLinksForEachTest();
const OLD = newIncarnation(1000);
const NEW = newIncarnation(2000);

describe("PeerLinks: a replaced run's last link closes while a dial to the new run is pending", () => {
  it('closes with lastLink false, and the dial delivers its queue to the new run', async () => {
    const hub = createMemoryHub();
    let openGate = (): void => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const a = links(hub, 'a', {
      address: 'mem-a',
      addressOf: (peer) => (peer === 'x' ? 'mem-x2' : `mem-${peer}`),
      epochOf: (peer) => (peer === 'x' ? NEW.epoch : undefined),
      runOf: (peer) => (peer === 'x' ? NEW : undefined),
      // Only the held gate orders this test: the dial waits for it however long, never for a timer.
      handshake: plainHandshake('a', createSystemTimers(), 3_600_000),
    });
    const oldRun = links(hub, 'x', { address: 'mem-x1', handshake: announcingRun('x', OLD) });
    const newRun = links(hub, 'x', { address: 'mem-x2', handshake: announcingRun('x', NEW, { gate }) });
    await Promise.all(transports.map((t) => t.listen()));
    const unreachable: string[] = [];
    a.on('peerUnreachable', ({ dialId }) => void unreachable.push(dialId));

    // The request waits on the dial to the new run: its handshake is held.
    const accepted = new Promise<void>((resolve) => transports[2]!.once('connectionAccepted', () => resolve()));
    const dialId = a.send('x', { type: 'ping', requestId: 7 });
    await accepted;

    // The old run links to `a` (its incarnation comes first, then the ping): `a`'s only link to `x`.
    const fromOld = new Promise<void>((resolve) => a.on('messageReceived', ({ message }) => message.type === 'ping' && message.requestId === 1 && resolve()));
    oldRun.sendToAddress('mem-a', { type: 'ping', requestId: 1 });
    await fromOld;
    expect(a.connectedPeers()).toEqual(['x']);

    // Its process ends: the link closes.
    const closed = new Promise<PeerLinksEvents['linkClosed'][0]>((resolve) => a.once('linkClosed', resolve));
    await transports[1]!.close();
    const e = await closed;
    expect({ peer: e.link.peerId, lastLink: e.lastLink, dialIds: e.dialIds }).toEqual({ peer: 'x', lastLink: false, dialIds: [] });

    // The new run answers its dial: what was queued reaches it.
    const atNew: DecodedMessage[] = [];
    const delivered = new Promise<void>((resolve) =>
      newRun.on('messageReceived', ({ message }) => {
        atNew.push(message);
        if (message.type === 'ping' && message.requestId === 7) resolve();
      }),
    );
    openGate();
    await delivered;
    expect(unreachable).toEqual([]);
    expect(a.linked('x')).toBe(true);
    expect(dialId).toMatch(/^dial-/);
  });

  it("still reports the peer's current run's last link as the last link", async () => {
    const hub = createMemoryHub();
    const a = links(hub, 'a', { runOf: (peer) => (peer === 'x' ? NEW : undefined) });
    const x = links(hub, 'x', { handshake: announcingRun('x', NEW) });
    await Promise.all(transports.map((t) => t.listen()));
    const opened = new Promise<void>((resolve) => a.on('messageReceived', ({ message }) => message.type === 'ping' && resolve()));
    x.send('a', { type: 'ping', requestId: 3 });
    await opened;
    const closed = new Promise<PeerLinksEvents['linkClosed'][0]>((resolve) => a.once('linkClosed', resolve));
    await transports[1]!.close();
    expect((await closed).lastLink).toBe(true);
  });
});
