import { describe, expect, it } from 'vitest';
import type { InstanceInfo, ServerEntry } from '../view/server-entry.js';
import { createView } from '../view/merge-view.js';
import { admitStream } from './admit-stream.js';

function inst(instanceId: string, capacityPerSec: number, loadPerSec: number, extra: Partial<InstanceInfo> = {}): InstanceInfo {
  return { instanceId, serviceId: 'video', status: 'ready', requestStrategy: 'multi-frame', serviceStrategy: 'single', batchSize: 4, capacityPerSec, loadPerSec, waitMs: 0, runMs: 40, ...extra };
}
function server(serverId: string, instances: InstanceInfo[], extra: Partial<ServerEntry> = {}): ServerEntry {
  return { serverId, epoch: 1, version: 1, updatedAt: 0, alive: true, instances, load: 0.5, freeMemoryBytes: 0, arrivalRates: {}, ...extra };
}

const view = createView([
  server('near', [inst('n1', 100, 50)]),
  server('far', [inst('f1', 300, 0)]),
  server('full', [inst('x1', 100, 95)]),
]);
const network = { delayMs: { near: 2, far: 20, full: 1 } };

describe('admitStream', () => {
  it('admits locally on the instance with the most spare rate', () => {
    const d = admitStream({ stream: { serviceId: 'video', rateHz: 30 }, localInstances: [inst('a', 100, 60), inst('b', 100, 20)], view, self: 'me', now: 0 });
    expect(d).toEqual({ action: 'local', instanceId: 'b', spareRatePerSec: 80 });
  });

  it('keeps a margin of spare capacity: a stream that would fill the instance goes elsewhere', () => {
    const d = admitStream({ stream: { serviceId: 'video', rateHz: 30 }, localInstances: [inst('a', 100, 68)], view, self: 'me', now: 0, network });
    expect(d).toMatchObject({ action: 'forward', serverId: 'near', instanceId: 'n1', next: { hops: 1, visited: ['me'] } });
  });

  it('prefers the lowest round trip, and skips peers too far for the staleness limit', () => {
    const d = admitStream({ stream: { serviceId: 'video', rateHz: 30, stalenessMs: 60 }, localInstances: [], view, self: 'me', now: 0, network });
    expect(d).toMatchObject({ action: 'forward', serverId: 'near' });
    if (d.action === 'forward') expect(d.candidates.map((c) => c.serverId)).toEqual(['near']);
    const big = admitStream({ stream: { serviceId: 'video', rateHz: 100, stalenessMs: 60 }, localInstances: [], view, self: 'me', now: 0, network });
    expect(big).toMatchObject({ action: 'reject', code: 'DEADLINE_INFEASIBLE' });
  });

  it('rejects with OVERLOADED, NO_INSTANCE or HOP_LIMIT', () => {
    expect(admitStream({ stream: { serviceId: 'video', rateHz: 500 }, localInstances: [], view, self: 'me', now: 0 })).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
    expect(admitStream({ stream: { serviceId: 'audio', rateHz: 5 }, localInstances: [], view, self: 'me', now: 0 })).toMatchObject({ action: 'reject', code: 'NO_INSTANCE' });
    expect(admitStream({ stream: { serviceId: 'video', rateHz: 5, hops: 2 }, localInstances: [], view, self: 'me', now: 0 })).toMatchObject({ action: 'reject', code: 'HOP_LIMIT' });
  });

  it("sends a stream to a peer only when its frames fit this server's spare link (egressSpareBytesPerSec)", () => {
    const stream = { serviceId: 'video', rateHz: 30, frameBytes: 1000 };
    // 30 frames/s of 1000 bytes: 30 000 bytes/s through this server's link.
    expect(admitStream({ stream, localInstances: [], view, self: 'me', now: 0, network, egressSpareBytesPerSec: 30_000 })).toMatchObject({ action: 'forward', serverId: 'near' });
    const full = admitStream({ stream, localInstances: [], view, self: 'me', now: 0, network, egressSpareBytesPerSec: 29_999 });
    expect(full).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
    if (full.action === 'reject') expect(full.reason).toContain('link');
    // Local admission sends nothing over the link: it is not limited by it.
    expect(admitStream({ stream, localInstances: [inst('a', 100, 0)], view, self: 'me', now: 0, egressSpareBytesPerSec: 0 })).toMatchObject({ action: 'local', instanceId: 'a' });
    // No peer has room at all: the reason is the peers' load, not the link.
    const none = admitStream({ stream: { ...stream, rateHz: 500 }, localInstances: [], view, self: 'me', now: 0, egressSpareBytesPerSec: 0 });
    expect(none).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
    if (none.action === 'reject') expect(none.reason).not.toContain('link');
    expect(() => admitStream({ stream, localInstances: [], view, self: 'me', now: 0, egressSpareBytesPerSec: Number.NaN })).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ field: 'egressSpareBytesPerSec' }) }),
    );
  });

  it('validates the stream', () => {
    expect(() => admitStream({ stream: { serviceId: 'video', rateHz: 0 }, localInstances: [], view, self: 'me', now: 0 })).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ field: 'stream.rateHz' }) }),
    );
  });
});

describe('admitStream priced at the wait behind the other services (priceWaitBehind)', () => {
  // A busy image instance beside this server's video instance: batches of 4 at 50 items/s (80 ms each), 40 items/s
  // coming in: a frame waits 0.8 × 80 / 2 = 32 ms on average behind the batch in progress.
  const images = (id: string, loadPerSec: number): InstanceInfo => inst(id, 50, loadPerSec, { serviceId: 'image', requestStrategy: 'batching', batchSize: 4 });
  const peers = createView([server('quiet', [inst('q1', 100, 0)]), server('busy', [inst('b1', 100, 0), images('bi', 40)])]);
  const net = { delayMs: { quiet: 10, busy: 1 } };
  const stream = { serviceId: 'video', rateHz: 10, stalenessMs: 100 };

  it('sends the stream to a peer whose round trip costs its frames less than the wait behind the images here', () => {
    const d = admitStream({ stream, localInstances: [inst('v', 100, 0), images('i', 40)], view: peers, self: 'me', now: 0, network: net, priceWaitBehind: true });
    // quiet: 20 ms round trip, nothing to wait behind; busy: 2 ms + 32 ms; here: 32 ms.
    expect(d).toMatchObject({ action: 'forward', serverId: 'quiet', instanceId: 'q1' });
    if (d.action === 'forward') expect(d.candidates.map((c) => [c.serverId, c.waitBehindMs])).toEqual([['quiet', 0], ['busy', 32]]);
  });

  it('keeps the stream here when the wait here is no longer than a peer would cost (ties stay), and without the option', () => {
    const light = [inst('v', 100, 0), images('i', 10)]; // 0.2 × 80 / 2 = 8 ms < 20 ms to the quiet peer
    expect(admitStream({ stream, localInstances: light, view: peers, self: 'me', now: 0, network: net, priceWaitBehind: true })).toMatchObject({ action: 'local', instanceId: 'v' });
    const tie = [inst('v', 100, 0), images('i', 25)]; // 0.5 × 80 / 2 = 20 ms = the quiet peer's round trip
    expect(admitStream({ stream, localInstances: tie, view: peers, self: 'me', now: 0, network: net, priceWaitBehind: true })).toMatchObject({ action: 'local' });
    const busy = [inst('v', 100, 0), images('i', 40)];
    expect(admitStream({ stream, localInstances: busy, view: peers, self: 'me', now: 0, network: net })).toMatchObject({ action: 'local', instanceId: 'v' });
  });

  it('prices only where the stream enters: a peer asked to take it (hops ≥ 1) runs it when it has room', () => {
    const busy = [inst('v', 100, 0), images('i', 40)];
    expect(admitStream({ stream: { ...stream, hops: 1, visited: ['x'] }, localInstances: busy, view: peers, self: 'me', now: 0, network: net, priceWaitBehind: true })).toMatchObject({ action: 'local' });
  });

  it('ranks the peers by round trip plus wait when nothing here has room', () => {
    const d = admitStream({ stream, localInstances: [], view: peers, self: 'me', now: 0, network: net, priceWaitBehind: true });
    expect(d).toMatchObject({ action: 'forward', serverId: 'quiet' });
    // Unpriced, the nearest peer goes first.
    expect(admitStream({ stream, localInstances: [], view: peers, self: 'me', now: 0, network: net })).toMatchObject({ action: 'forward', serverId: 'busy' });
  });
});
