import { describe, expect, it } from 'vitest';
import { EparaError, createManualClock } from '@epara/core';
import type { ClusterView, NetworkModel, ServerEntry, StreamResult } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { OffloadMessage } from '../offload/offload-messages.js';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { StreamOpener, measuredCapacity } from './stream-opener.js';

const peer = (id: string): ServerEntry => ({
  serverId: id, epoch: 1, version: 1, updatedAt: 0, alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {},
  instances: [{ instanceId: `${id}/s`, serviceId: 's', status: 'ready', requestStrategy: 'multi-frame', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 1000, loadPerSec: 0, waitMs: 0, runMs: 2 }],
});

/** Opens a 10 Hz stream with a 100 ms staleness budget on a node without a local instance; returns the `stream-open` it sent. */
function openRemote(network?: NetworkModel): Extract<OffloadMessage, { type: 'stream-open' }> {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const sent: OffloadMessage[] = [];
  const view: ClusterView = { entries: { b: peer('b') } };
  const opener = new StreamOpener({
    selfId: 'a', clock, timers, executor: createFakeExecutor({ services: {}, clock, timers }), view: () => view,
    hopLimit: 2, hopDelayMs: 1, network: () => network, nextId: () => 7, send: (_to, m) => void sent.push(m), openTimeoutMs: 1000,
  });
  void opener.open({ serviceId: 's', rateHz: 10, stalenessMs: 100, hops: 0, visited: [] }).catch(() => undefined);
  opener.close();
  const open = sent.find((m) => m.type === 'stream-open');
  if (open?.type !== 'stream-open') throw new Error('no stream-open sent');
  return open;
}

describe('StreamOpener', () => {
  it('opens a stream on a peer with its staleness budget less the round trip to that peer', () => {
    // A frame reaches the peer one delay after its push and its result needs another to come back.
    expect(openRemote({ delayMs: { b: 15 } }).stalenessMs).toBe(70);
    // Unlisted peers cost the default hop delay each way.
    expect(openRemote().stalenessMs).toBe(98);
  });

  it('does not pin a stream to a peer whose round trip alone spends its staleness budget', () => {
    expect(() => openRemote({ delayMs: { b: 60 } })).toThrow(/no stream-open sent/);
  });

  it('reads the local spare rate from the capacity divided by the measured correction', async () => {
    // The local instance runs one frame in 10 ms: 100 frames/s by its profile, room for a 40 Hz stream.
    const openWith = async (scale: (() => number) | undefined): Promise<{ pinnedTo: string; sent: OffloadMessage[] }> => {
      const clock = createManualClock(0);
      const timers = createManualTimers(clock);
      const sent: OffloadMessage[] = [];
      const view: ClusterView = { entries: { b: peer('b') } };
      const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 10 } }, hosted: ['s'], clock, timers });
      const opener = new StreamOpener({
        selfId: 'a', clock, timers, executor, view: () => view, hopLimit: 2, hopDelayMs: 1, network: () => undefined,
        nextId: () => 7, send: (_to, m) => void sent.push(m), openTimeoutMs: 1000, ...(scale ? { capacityScale: scale } : {}),
      });
      const opened = opener.open({ serviceId: 's', rateHz: 40, stalenessMs: 100, hops: 0, visited: [] });
      opener.close();
      const pinnedTo = await opened.then((st) => st.pinnedTo, () => 'none');
      return { pinnedTo, sent };
    };
    expect((await openWith(undefined)).pinnedTo).toBe('a');
    expect((await openWith(() => 1)).pinnedTo).toBe('a');
    // Its work measured at 4× its estimates: 25 frames/s, no room; the stream goes to the peer with room.
    const slow = await openWith(() => 4);
    expect(slow.pinnedTo).not.toBe('a');
    expect(slow.sent.find((m) => m.type === 'stream-open')).toBeDefined();
  });

  it('priced at the wait behind the other services (priceWaitBehind), leaves a server busy with images for a quiet peer, and comes back when the peer refuses', async () => {
    // Here: the stream's own instance beside an image instance at 40 of 50 items/s in batches of 4 (80 ms each): a
    // frame waits 0.8 × 80 / 2 = 32 ms behind the batch in progress. The peer is 5 ms away with nothing else.
    const images = { instanceId: 'a/image', serviceId: 'image', status: 'ready' as const, requestStrategy: 'batching' as const, serviceStrategy: 'single' as const, batchSize: 4, capacityPerSec: 50, loadPerSec: 40, waitMs: 0, runMs: 80 };
    const openWith = (price: boolean) => {
      const clock = createManualClock(0);
      const timers = createManualTimers(clock);
      const sent: OffloadMessage[] = [];
      const view: ClusterView = { entries: { b: peer('b') } };
      const fake = createFakeExecutor({ services: { s: { serviceTimeMs: 1 } }, hosted: ['s'], clock, timers });
      const executor = { ...fake, instances: () => [...fake.instances(), images] };
      const opener = new StreamOpener({
        selfId: 'a', clock, timers, executor, view: () => view, hopLimit: 2, hopDelayMs: 1, network: () => ({ delayMs: { b: 5 } }),
        nextId: () => 7, send: (_to, m) => void sent.push(m), openTimeoutMs: 1000, ...(price ? { priceWaitBehind: true } : {}),
      });
      const opened = opener.open({ serviceId: 's', rateHz: 10, stalenessMs: 100, hops: 0, visited: [] });
      return { opener, opened, sent };
    };
    const unpriced = openWith(false);
    expect((await unpriced.opened).pinnedTo).toBe('a');
    const priced = openWith(true);
    const open = priced.sent.find((m) => m.type === 'stream-open');
    expect(open).toMatchObject({ type: 'stream-open', serviceId: 's', stalenessMs: 90 });
    // The peer refuses: the local instance, which had room, takes the stream.
    priced.opener.onResponse('b', { type: 'error', requestId: 7, error: new EparaError('OVERLOADED', 'no room') });
    expect((await priced.opened).pinnedTo).toBe('a');
    priced.opener.close();
  });

  it('measuredCapacity divides each instance\'s rate capacity, and leaves them as they are at 1', () => {
    const instances = peer('a').instances;
    expect(measuredCapacity(instances, 1)).toBe(instances);
    expect(measuredCapacity(instances, 2.5)[0]).toEqual({ ...instances[0], capacityPerSec: 400 });
  });

  it("bounds a remote stream's frames on the monotonic clock: a wall clock stepped forward fails no frame early", async () => {
    const monotonic = createManualClock(0);
    const timers = createManualTimers(monotonic);
    const step = { ms: 0 };
    const clock = { now: () => monotonic.now() + step.ms };
    const view = (): ClusterView => ({ entries: { b: { ...peer('b'), updatedAt: clock.now() } } });
    const opener = new StreamOpener({
      selfId: 'a', clock, timers, executor: createFakeExecutor({ services: {}, clock, timers }), view,
      hopLimit: 2, hopDelayMs: 1, network: () => undefined, nextId: () => 7, send: () => 'link-1', openTimeoutMs: 1000,
      frameBounds: { graceMs: 100, defaultStalenessMs: () => 200, clock: monotonic },
    });
    const opening = opener.open({ serviceId: 's', rateHz: 10, stalenessMs: 200, hops: 0, visited: [] });
    opener.onResponse('b', { type: 'stream-accepted', requestId: 7, instanceId: 'b/s' });
    const stream = await opening;
    // Each frame is bounded 300 ms after its push (staleness 200 ms less the round trip, plus the 100 ms grace).
    stream.push({ x: { type: 'float32', dims: [1], data: Float32Array.of(0) } });
    timers.advance(200);
    stream.push({ x: { type: 'float32', dims: [1], data: Float32Array.of(1) } });
    timers.advance(50);
    step.ms = 3_600_000; // NTP steps the wall clock an hour ahead
    timers.advance(100); // frame 0 unanswered past its bound; frame 1 has time left
    opener.onResponse('b', { type: 'stream-result', requestId: 7, seq: 1, ok: true, outputs: { y: { type: 'float32', dims: [1], data: Float32Array.of(2) } }, latencyMs: 5 });
    opener.onPeerDown('b');
    const results: StreamResult[] = [];
    for await (const r of stream) results.push(r);
    expect(results.map((r) => [r.seq, r.ok ? 'ok' : r.error.code])).toEqual([[0, 'DEADLINE_EXCEEDED'], [1, 'ok']]);
  });
});
