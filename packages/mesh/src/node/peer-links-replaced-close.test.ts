import { describe, expect, it } from 'vitest';
import { createSystemTimers } from '@epara/core';
import { createMemoryHub } from '../transport/memory-hub.js';
import { newIncarnation } from './peer-incarnations.js';
import { announcingRun, peerLinksForEachTest } from './peer-links-fixture.js';
import type { PeerLinks, PeerLinksEvents } from './peer-links.js';
import { plainHandshake } from './plain-handshake.js';

/*
 * A server `x` restarted under its id. `a` is linked to the old run (still running: stopped and resumed, or cut
 * off) when its view learns of the new run: a request goes over the old run's link, and the next send dials the
 * new run to check it. The old run's link then closes — `a`'s only link to `x`, the new run's dial still pending.
 * Before, it closed as `x`'s last link and the node took the peer for failed: the request on it was retried without
 * `x` (failed, where only `x` serves it), the new run marked dead in the view, streams pinned to `x` ended and cancels
 * owed to it. A replaced run's link closing is that link going down, nothing more.
 */

const { transports, links } = peerLinksForEachTest();
const OLD = newIncarnation(1000);
const NEW = newIncarnation(2000);

describe("PeerLinks: a replaced run's last link closes while a dial to the new run is pending", () => {
  it('closes with lastLink false, and the dial delivers what was sent to the new run', async () => {
    const hub = createMemoryHub();
    let openGate = (): void => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    // `a`'s view of x: its old run at first.
    let view = { address: 'mem-x1', run: OLD };
    const a = links(hub, 'a', {
      address: 'mem-a',
      addressOf: (peer) => (peer === 'x' ? view.address : `mem-${peer}`),
      epochOf: (peer) => (peer === 'x' ? view.run.epoch : undefined),
      runOf: (peer) => (peer === 'x' ? view.run : undefined),
      // Only the held gate orders this test: the dial waits for it however long, never for a timer.
      handshake: plainHandshake('a', createSystemTimers(), 3_600_000),
    });
    const oldRun = links(hub, 'x', { address: 'mem-x1', addressOf: (peer) => `mem-${peer}`, handshake: announcingRun('x', OLD) });
    const newRun = links(hub, 'x', { address: 'mem-x2', handshake: announcingRun('x', NEW, { gate }) });
    await Promise.all(transports.map((t) => t.listen()));
    const pingsAt = (l: PeerLinks, id: number): Promise<void> => new Promise((resolve) => l.on('messageReceived', ({ message }) => message.type === 'ping' && message.requestId === id && resolve()));

    // Linked to the old run (its incarnation read: its ping comes behind it).
    const linked = pingsAt(oldRun, 1);
    const firstDial = a.send('x', { type: 'ping', requestId: 1 });
    await linked;
    const announced = pingsAt(a, 2);
    oldRun.send('a', { type: 'ping', requestId: 2 });
    await announced;

    // The view learns of the new run: a request goes over the old run's link, and a dial checks the new run (held).
    view = { address: 'mem-x2', run: NEW };
    const accepted = new Promise<void>((resolve) => transports[2]!.once('connectionAccepted', () => resolve()));
    const viaOld = a.send('x', { type: 'ping', requestId: 3 });
    await accepted;
    expect(a.connectedPeers()).toEqual(['x']);

    // The old run's process ends: its link closes, the last one to x here.
    const closed = new Promise<PeerLinksEvents['linkClosed'][0]>((resolve) => a.once('linkClosed', resolve));
    await transports[1]!.close();
    const e = await closed;
    expect({ link: e.link.linkId, lastLink: e.lastLink, dialIds: e.dialIds }).toEqual({ link: viaOld, lastLink: false, dialIds: [firstDial] });

    // What is sent to x now waits on the dial to the new run, and reaches it once the run answers.
    const unreachable: string[] = [];
    a.on('peerUnreachable', ({ dialId }) => void unreachable.push(dialId));
    const delivered = pingsAt(newRun, 4);
    expect(a.send('x', { type: 'ping', requestId: 4 })).toMatch(/^dial-/);
    openGate();
    await delivered;
    expect(unreachable).toEqual([]);
    expect(a.linked('x')).toBe(true);
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

describe('PeerLinks: a link from a run the view shows replaced', () => {
  it('is refused, even when no link of the new run is open here to have replaced it', async () => {
    // The view of `a` shows x's new run; `a` never linked the old one. Before, the old run's link was taken as x's
    // current run (nothing of x was linked to compare it with): its frames were read as x's, and sends to x went
    // to the replaced process.
    const hub = createMemoryHub();
    const a = links(hub, 'a', { address: 'mem-a', addressOf: (peer) => (peer === 'x' ? 'mem-x2' : `mem-${peer}`), runOf: (peer) => (peer === 'x' ? NEW : undefined) });
    const oldRun = links(hub, 'x', { address: 'mem-x1', handshake: announcingRun('x', OLD) });
    await Promise.all(transports.map((t) => t.listen()));
    const pings: number[] = [];
    a.on('messageReceived', ({ message }) => void (message.type === 'ping' && pings.push(message.requestId)));
    const closed = new Promise<PeerLinksEvents['linkClosed'][0]>((resolve) => a.once('linkClosed', resolve));
    oldRun.sendToAddress('mem-a', { type: 'ping', requestId: 1 });
    const e = await closed;
    expect({ lastLink: e.lastLink, pings, linked: a.linked('x') }).toEqual({ lastLink: false, pings: [], linked: false });
  });
});
