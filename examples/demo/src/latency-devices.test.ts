import { createProfile, type PlacedInstance } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { keepLatencyDevices } from './latency-devices.js';
import { ITEM_BYTES } from './placement.js';
import { DEVICE_KIND, type DemoProfiles } from './profiles.js';
import { demoServices } from './services.js';
import { buildWorkload } from './workload.js';

const ids = ['edge-0', 'edge-1', 'edge-2'];
// One-item times measured on a quiet run (ms).
const itemMs = { image: 6.35, chat: 6.8, video: 3.19, loop: 0.65, vad: 0.49 } as const;
const profiles = Object.fromEntries(Object.entries(itemMs).map(([id, ms]) => [id, createProfile(DEVICE_KIND, [{ batch: 1, ms }])])) as unknown as DemoProfiles;
const specs = demoServices({ profiles, lm: new Uint8Array(0), networkBudgetMs: 42 });
const inst = (serviceId: string, serverId: string, memoryMiB = 20): PlacedInstance => ({
  instanceId: `${serviceId}/${serverId}/cpu0`,
  serviceId,
  serverId,
  deviceIds: ['cpu0'],
  plan: { requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 500, memoryPerDeviceBytes: memoryMiB * 2 ** 20, runMs: 10, stages: 1 } as PlacedInstance['plan'],
});
const context = (deviceMemoryBytes = 2 * 1024 ** 3) => ({
  specs,
  workload: buildWorkload({ durationMs: 10_000, load: 1, nodes: 3, seed: 42, world: 'stationary' }),
  ids,
  delaysMs: [
    [0, 6, 21],
    [6, 0, 6],
    [21, 6, 0],
  ],
  bytesPerMs: 125_000,
  itemBytes: ITEM_BYTES,
  deviceMemoryBytes,
});
const where = (out: readonly PlacedInstance[], serviceId: string): string[] => out.filter((p) => p.serviceId === serviceId).map((p) => p.serverId).sort();

describe('keepLatencyDevices (stream replicas leave the latency services’ devices)', () => {
  it('drops a stream replica on the image server when another server hosts that stream, and moves a lone one off it', () => {
    // Images and chat on edge-0 only; loop on edge-0 and edge-2, video on edge-0 alone; edge-1's memory is full.
    const placed = [inst('chat', 'edge-0'), inst('image', 'edge-0'), inst('loop', 'edge-0'), inst('loop', 'edge-2'), inst('video', 'edge-0'), inst('vad', 'edge-1', 2040)];
    const out = keepLatencyDevices(placed, context());
    expect(where(out, 'loop')).toEqual(['edge-2']); // dropped: edge-2 serves it already
    expect(where(out, 'video')).toEqual(['edge-2']); // moved: the one device with room
    expect(out.find((p) => p.serviceId === 'video')!.instanceId).toBe('video/edge-2/kept-off');
    // The latency services and a stream already off their device stay where they were.
    expect(where(out, 'image')).toEqual(['edge-0']);
    expect(where(out, 'chat')).toEqual(['edge-0']);
    expect(where(out, 'vad')).toEqual(['edge-1']);
    // With room everywhere a lone stream may go to either server without a latency service.
    const roomy = keepLatencyDevices([...placed.slice(0, 5), inst('vad', 'edge-1')], context());
    expect(where(roomy, 'video')).toHaveLength(1);
    expect(where(roomy, 'video')[0]).not.toBe('edge-0');
    expect(where(roomy, 'loop')).not.toContain('edge-0');
  });

  it('keeps a stream where it is when no other device has the memory for it, and moves nothing without a latency service', () => {
    const full = [inst('chat', 'edge-0'), inst('image', 'edge-0'), inst('video', 'edge-0'), inst('vad', 'edge-1', 1000), inst('loop', 'edge-2', 1000)];
    expect(where(keepLatencyDevices(full, context(1000 * 2 ** 20)), 'video')).toEqual(['edge-0']);
    const streamsOnly = [inst('video', 'edge-0'), inst('vad', 'edge-1'), inst('loop', 'edge-2')];
    expect(keepLatencyDevices(streamsOnly, context())).toEqual(streamsOnly);
  });

  it('moves stream instances only, never a latency service', () => {
    const even = ids.flatMap((s) => [inst('image', s), inst('chat', s)]).concat([inst('loop', 'edge-1')]);
    const out = keepLatencyDevices(even, context());
    // Not equal shares with a stationary workload's uneven entries: the loop goes only to a device the
    // latency services use less than edge-1's, never to one they use more.
    expect(where(out, 'loop')).toHaveLength(1);
    expect(out.filter((p) => p.serviceId !== 'loop')).toEqual(even.filter((p) => p.serviceId !== 'loop'));
  });
});

describe('keepLatencyDevices on the measured device time (the default placement input)', () => {
  // Profiles growing with the batch, the backend at 2.7× them and 4.5 ms of hand-off per batch, as an image
  // server without chat measured them in the quiet reports (docs/demo.md, "Why EPARA's latency group loses").
  const lin = ([a, b, max]: readonly [number, number, number]) => createProfile(DEVICE_KIND, Array.from({ length: max }, (_, i) => ({ batch: i + 1, ms: a + b * i })));
  const grown = { image: lin([6.35, 4.9, 4]), vad: lin([0.49, 0.12, 16]), loop: lin([0.65, 0.12, 16]), video: lin([2.23, 1.48, 8]), chat: lin([6.8, 1, 8]) } as unknown as DemoProfiles;
  const grownSpecs = demoServices({ profiles: grown, lm: new Uint8Array(0), networkBudgetMs: 42 });
  const at = (serviceId: string, serverId: string, batchSize = 1): PlacedInstance => ({ ...inst(serviceId, serverId), plan: { ...inst(serviceId, serverId).plan, batchSize } });
  // Images on edge-0 and edge-2 (chat there too), every stream service on edge-0 and edge-1, VAD and loop on edge-2.
  const placed = [at('image', 'edge-0', 2), at('chat', 'edge-2'), at('image', 'edge-2', 2), at('vad', 'edge-0'), at('loop', 'edge-0'), at('video', 'edge-0'), at('vad', 'edge-1'), at('loop', 'edge-1'), at('video', 'edge-1'), at('vad', 'edge-2'), at('loop', 'edge-2')];
  const ratio = 2.7;
  const ctx = (load: number) => ({ ...context(), specs: grownSpecs, workload: buildWorkload({ durationMs: 10_000, load, nodes: 3, seed: 42, world: 'stationary' }) });
  const priced = (load: number) => ({ ...ctx(load), handoffMs: 4.5, costRatio: { image: ratio, chat: ratio, vad: ratio, loop: ratio, video: ratio }, maxShare: 0.85 });

  it('moves the streams off the image servers as far as the stream server has room at that price, not all of them', () => {
    // Priced at the profiles every stream leaves the image servers; at the device time edge-1 has room for
    // VAD and loop but not for video too, so video keeps its instance beside the images.
    const byProfile = keepLatencyDevices(placed, ctx(3));
    expect(['vad', 'loop', 'video'].map((s) => where(byProfile, s))).toEqual([['edge-1'], ['edge-1'], ['edge-1']]);
    const byDeviceTime = keepLatencyDevices(placed, priced(3));
    expect(['vad', 'loop', 'video'].map((s) => where(byDeviceTime, s))).toEqual([['edge-1'], ['edge-1'], ['edge-0', 'edge-1']]);
    // At a lower load edge-1 takes all of them.
    const low = keepLatencyDevices(placed, priced(1));
    expect(['vad', 'loop', 'video'].map((s) => where(low, s))).toEqual([['edge-1'], ['edge-1'], ['edge-1']]);
  });
});
