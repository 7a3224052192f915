import { createProfile, type PlacedInstance } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { localReplicas, reliefPays, servedFrom } from './local-replicas.js';
import { ITEM_BYTES } from './placement.js';
import { DEVICE_KIND, type DemoProfiles } from './profiles.js';
import { demoServices } from './services.js';
import { buildWorkload, type Workload } from './workload.js';

const ids = ['edge-0', 'edge-1', 'edge-2'];
// One-item times measured on a quiet run (ms): image 6.35, chat 6.8, video 3.19, loop 0.65, vad 0.49.
const itemMs = { image: 6.35, chat: 6.8, video: 3.19, loop: 0.65, vad: 0.49 } as const;
const profiles = Object.fromEntries(Object.entries(itemMs).map(([id, ms]) => [id, createProfile(DEVICE_KIND, [{ batch: 1, ms }])])) as unknown as DemoProfiles;
const specs = demoServices({ profiles, lm: new Uint8Array(0), networkBudgetMs: 42 });
const inst = (serviceId: string, serverId: string): PlacedInstance => ({
  instanceId: `${serviceId}/${serverId}/cpu0`,
  serviceId,
  serverId,
  deviceIds: ['cpu0'],
  plan: { requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 500, memoryPerDeviceBytes: 20 * 2 ** 20, runMs: 10, stages: 1 } as PlacedInstance['plan'],
});
// The placement of a quiet run: one instance per service.
const placed = [inst('chat', 'edge-0'), inst('image', 'edge-0'), inst('video', 'edge-1'), inst('loop', 'edge-2'), inst('vad', 'edge-2')];
const delaysMs = [
  [0, 6, 21],
  [6, 0, 6],
  [21, 6, 0],
];
const context = (load: number, maxShare?: number) => ({
  specs,
  workload: buildWorkload({ durationMs: 10_000, load, nodes: 3, seed: 42, world: 'stationary' }),
  ids,
  delaysMs,
  bytesPerMs: 125_000,
  itemBytes: ITEM_BYTES,
  deviceMemoryBytes: 2 * 1024 ** 3,
  ...(maxShare === undefined ? {} : { maxShare }),
});

describe('servedFrom (where the items entering a server are served, as the mesh serves them)', () => {
  const spec = (id: string) => specs.find((s) => s.id === id)!;
  it('serves them where they enter when that server hosts the service', () => {
    expect(servedFrom(spec('vad'), 1, [0, 1, 2], { delaysMs })).toEqual([[1, 1]]);
  });
  it('spreads requests over the hosts, and admits streams at the nearest one', () => {
    expect(servedFrom(spec('image'), 0, [1, 2], { delaysMs })).toEqual([
      [1, 0.5],
      [2, 0.5],
    ]);
    // edge-1 is 6 ms from edge-0, edge-2 21 ms: every stream entering edge-0 is pinned on edge-1.
    expect(servedFrom(spec('vad'), 0, [1, 2], { delaysMs })).toEqual([[1, 1]]);
    // Equally near hosts (within a millisecond) share them.
    expect(servedFrom(spec('vad'), 1, [0, 2], { delaysMs: [[0, 6, 21], [6.3, 0, 5.8], [21, 6, 0]] })).toEqual([
      [0, 0.5],
      [2, 0.5],
    ]);
  });
});

describe('localReplicas (serve demand where it enters)', () => {
  it('adds replicas where demand enters, but none that makes the busiest device busier', () => {
    const out = localReplicas(placed, context(2.62));
    expect(out.slice(0, placed.length)).toEqual(placed);
    const at = (s: string): Set<string> => new Set(out.filter((p) => p.serviceId === s).map((p) => p.serverId));
    // The stream frames entering edge-0 are admitted at the nearest host, edge-1 (6 ms; edge-2 is 21 ms away),
    // which makes edge-1 the busiest device: it gets no image or chat replica, and its images and chat turns go
    // one 6 ms link away. Elsewhere they are served where they enter.
    for (const s of ['image', 'chat']) expect(at(s)).toEqual(new Set(['edge-0', 'edge-2']));
    expect(out.find((p) => p.serviceId === 'chat' && p.serverId === 'edge-2')!.instanceId).toBe('chat/edge-2/local');
    // edge-0, where 77% of images enter, stays the busiest: the video and loop frames entering there cross a
    // 6 ms link to a replica instead of waiting behind its images.
    expect(at('video').has('edge-0')).toBe(false);
    expect(at('loop').has('edge-0')).toBe(false);
    for (const s of ['video', 'loop', 'vad']) expect(at(s)).toEqual(new Set([...at(s), 'edge-1', 'edge-2']));
  });

  it('plans with measured costs when given: a service costing more than its profile gets fewer replicas', () => {
    const at = (out: readonly PlacedInstance[], s: string): Set<string> => new Set(out.filter((p) => p.serviceId === s).map((p) => p.serverId));
    expect(at(localReplicas(placed, context(2.62)), 'image').size).toBe(2);
    // Images measured at 20× their profile on this host: an image replica would take any device past its share.
    const out = localReplicas(placed, { ...context(2.62), costRatio: { image: 20 } });
    expect(at(out, 'image')).toEqual(new Set(['edge-0']));
    expect(out.length).toBeGreaterThan(placed.length); // the cheap services still get theirs
    // A ratio of 1 is the profile.
    expect(localReplicas(placed, { ...context(2.62), costRatio: { image: 1, vad: 1 } })).toEqual(localReplicas(placed, context(2.62)));
  });

  it('adds nothing that would push a device past its share of time', () => {
    expect(localReplicas(placed, context(2.62, 0.01))).toEqual(placed);
  });

  it('under a heavier load, leaves the busiest device alone; past every device share, adds nothing', () => {
    const out = localReplicas(placed, context(3.49));
    expect(out.length).toBeGreaterThan(placed.length);
    // edge-0 carries most images: its video frames keep going to edge-1.
    expect(out.some((p) => p.serviceId === 'video' && p.serverId === 'edge-0')).toBe(false);
    expect(localReplicas(placed, context(12))).toEqual(placed);
  });

  it('moves the stream services off the busiest device only when the wait it saves their frames exceeds the round trip', () => {
    // Core packed video and VAD next to the images (where 77% of them enter); replicas of both go elsewhere.
    const packed = [inst('image', 'edge-0'), inst('video', 'edge-0'), inst('vad', 'edge-0'), inst('chat', 'edge-2'), inst('loop', 'edge-1')];
    const at = (out: readonly PlacedInstance[], s: string): Set<string> => new Set(out.filter((p) => p.serviceId === s).map((p) => p.serverId));
    // Behind 6.35 ms image batches taking 31% of the device a frame waits about 1 ms on average: less than a 12 ms round trip. They stay.
    const measured = localReplicas(packed, context(2.62));
    expect(at(measured, 'video').has('edge-0')).toBe(true);
    expect(at(measured, 'vad').has('edge-0')).toBe(true);
    expect(reliefPays(measured, measured.find((p) => p.serviceId === 'vad' && p.serverId === 'edge-0')!, context(2.62))).toBe(false);
    // Over 0.1 ms links the same wait (about 1 ms) is worth the trip: the busiest device sheds them, never a last instance.
    const near = { ...context(2.62), delaysMs: delaysMs.map((row) => row.map((d) => (d === 0 ? 0 : 0.1))) };
    const out = localReplicas(packed, near);
    expect(at(out, 'image').has('edge-0')).toBe(true);
    expect(at(out, 'video').has('edge-0')).toBe(false);
    expect(at(out, 'vad').has('edge-0')).toBe(false);
    for (const s of ['video', 'vad', 'loop', 'chat', 'image']) expect(at(out, s).size).toBeGreaterThan(0);
    // With no room for replicas the streams stay where core put them: nothing else can serve them.
    expect(localReplicas(packed, { ...near, maxShare: 0.01 })).toEqual(packed);
  });

  describe('overflow hosts (a stream service whose one host also serves requests gets a second host)', () => {
    // The forecast of a quiet run's trials in the edge world (×2.38 the base mix, items/s entering each server), and
    // the placement it made: video alone on the far server beside an image replica, loop and VAD on the middle one.
    const demand = { image: [18.2, 21.7, 13.9], chat: [8.2, 5.9, 5.4], video: [7.3, 10.3, 40.4], loop: [23.3, 71.7, 37.3], vad: [40.6, 232, 45.7] };
    const workload: Workload = { durationMs: 10_000, requests: [], streams: [], demand, meanDemand: demand, world: 'edge' };
    // That run's profiles (batch:ms).
    const measured = (pts: [number, number][]) => createProfile(DEVICE_KIND, pts.map(([batch, ms]) => ({ batch, ms })));
    const run = {
      image: measured([[1, 6.61], [2, 11.3], [4, 20.2]]),
      chat: measured([[1, 8.9], [2, 9.9], [4, 13.2], [8, 18.2]]),
      video: measured([[1, 3.12], [2, 5.16], [4, 8.56], [8, 15.2]]),
      loop: measured([[1, 0.81], [2, 0.81], [4, 0.95], [8, 1.41], [16, 2.37]]),
      vad: measured([[1, 0.82], [2, 0.82], [4, 0.82], [8, 0.88], [16, 1.28]]),
    } as DemoProfiles;
    const edge = { ...context(2.38), workload, specs: demoServices({ profiles: run, lm: new Uint8Array(0), networkBudgetMs: 44 }), delaysMs: [[0, 5.6, 21.3], [6.3, 0, 6.3], [20.8, 5.5, 0]] };
    const trial = [inst('chat', 'edge-0'), inst('image', 'edge-0'), inst('loop', 'edge-1'), inst('vad', 'edge-1'), inst('image', 'edge-2'), inst('video', 'edge-2')];
    const at = (out: readonly PlacedInstance[], s: string): string[] => out.filter((p) => p.serviceId === s).map((p) => p.serverId).sort();

    it('adds it on the server that runs no latency service, beyond the busiest-device guard, within the share cap', () => {
      const out = localReplicas(trial, edge);
      expect(at(out, 'video')).toEqual(['edge-1', 'edge-2']);
      expect(out.find((p) => p.serviceId === 'video' && p.serverId === 'edge-1')!.instanceId).toBe('video/edge-1/overflow');
      // The guard alone refused it: edge-1, the busiest device by the profiles, would have become busier.
      // Loop and VAD, whose host serves no requests, get none.
      expect(out.filter((p) => p.instanceId.endsWith('/overflow')).map((p) => p.serviceId)).toEqual(['video']);
      // Past the cap nothing is added.
      expect(localReplicas(trial, { ...edge, maxShare: 0.01 })).toEqual(trial);
    });

    it('adds none to a stream service whose host serves no requests', () => {
      // Video beside loop and VAD on the middle server, the images on the two others.
      const apart = [inst('chat', 'edge-0'), inst('image', 'edge-0'), inst('loop', 'edge-1'), inst('vad', 'edge-1'), inst('video', 'edge-1'), inst('image', 'edge-2')];
      const out = localReplicas(apart, edge);
      expect(out.some((p) => p.instanceId.endsWith('/overflow'))).toBe(false);
    });

    it('falls back to a server that serves requests when the others lack the memory, the one whose busiest device stays least busy', () => {
      const heavy = (p: PlacedInstance): PlacedInstance => (p.serverId === 'edge-1' ? { ...p, plan: { ...p.plan, memoryPerDeviceBytes: 2 ** 30 } } : p);
      const out = localReplicas(trial.map(heavy), edge);
      expect(out.filter((p) => p.instanceId.endsWith('/overflow')).map((p) => p.instanceId)).toEqual(['video/edge-0/overflow']);
    });
  });
});
