import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import type { ClusterView, NetworkModel, ServerEntry } from '@epara/core';
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

  it('measuredCapacity divides each instance\'s rate capacity, and leaves them as they are at 1', () => {
    const instances = peer('a').instances;
    expect(measuredCapacity(instances, 1)).toBe(instances);
    expect(measuredCapacity(instances, 2.5)[0]).toEqual({ ...instances[0], capacityPerSec: 400 });
  });
});

