import { describe, expect, it } from 'vitest';
import { createManualClock } from '@epara/core';
import type { ClusterView, InstanceInfo } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { LocalLateness } from '../offload/local-lateness.js';
import type { OffloadMessage } from '../offload/offload-messages.js';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { resolveNodeOptions } from './node-options.js';
import { streamCapacityScale } from './node-parts.js';
import { StreamOpener } from './stream-opener.js';

/*
 * A server that hosts images beside a stream service. Its image requests waited 3× their estimates (a burst queued
 * behind batches the estimate did not see). The stream instance's capacity is what the runtime announces: its
 * largest fresh pack at the hold time it learned on this host, 100 frames/s, of which its streams reserve 60. A
 * 10 Hz stream needs 10 + 5 % of 100 spare: the device has room for it.
 */
const video: InstanceInfo = { instanceId: 'a/video', serviceId: 'video', status: 'ready', requestStrategy: 'multi-frame', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 60, waitMs: 0, runMs: 5 };

function lateImages(now: number): LocalLateness {
  const l = new LocalLateness(10_000);
  // Eight image requests, each estimated to wait 10 ms, each answered after 30 ms.
  for (let i = 0; i < 8; i++) l.observe('image', { decidedAt: now - 30, estimateAt: now - 20, settledAt: now });
  return l;
}

async function openVideo(options: Parameters<typeof resolveNodeOptions>[0]): Promise<string> {
  const clock = createManualClock(1000);
  const timers = createManualTimers(clock);
  const fake = createFakeExecutor({ services: { video: { serviceTimeMs: 5 } }, hosted: ['video'], clock, timers });
  const executor = { ...fake, instances: () => [{ ...fake.instances()[0]!, ...video, instanceId: fake.instances()[0]!.instanceId }] };
  const o = resolveNodeOptions({ ...options, executor, clock, timers });
  const lateness = lateImages(clock.now());
  expect(lateness.hostRatio(clock.now())).toBeCloseTo(3);
  const sent: OffloadMessage[] = [];
  const view: ClusterView = { entries: {} };
  const scale = streamCapacityScale(o, lateness);
  const opener = new StreamOpener({
    selfId: 'a', clock, timers, executor, view: () => view, hopLimit: 2, hopDelayMs: 1, network: () => undefined,
    nextId: () => 7, send: (_to, m) => void sent.push(m), openTimeoutMs: 1000, ...(scale ? { capacityScale: scale } : {}),
  });
  try {
    const stream = await opener.open({ serviceId: 'video', rateHz: 10, stalenessMs: 250, hops: 0, visited: [] });
    return stream.pinnedTo;
  } catch (err) {
    return (err as { code: string }).code;
  } finally {
    opener.close();
  }
}

const base = { id: 'a', transport: { connect: () => undefined } as never, executor: undefined as never, security: { insecure: true } } as const;

describe('stream admission reads the executor\'s capacity as it announces it', () => {
  it('admits a stream the device has room for on a server whose requests wait longer than estimated', async () => {
    // The runtime's capacity is at its learned hold time already: divided again by the requests' wait ratio (3×),
    // it read 33 frames/s against 60 reserved, and the stream was refused whole.
    expect(await openVideo(base)).toBe('a');
  });

  it("keeps the earlier rule as an option: the capacity divided by the host's wait ratio", async () => {
    expect(resolveNodeOptions({ ...base, executor: createFakeExecutor({ services: {} }) }).streamCapacity).toBe('executor');
    expect(await openVideo({ ...base, streamCapacity: 'host-ratio' })).toBe('OVERLOADED');
  });

  it('refuses an unknown streamCapacity', () => {
    expect(() => resolveNodeOptions({ ...base, executor: createFakeExecutor({ services: {} }), streamCapacity: 'profile' as never })).toThrow(/streamCapacity/);
  });
});
