import { createProfile } from '@epara/core';
import { describe, expect, it } from 'vitest';
import type { DeviceUsage, ServiceDeviceUsage } from './device-usage.js';
import { MIN_MEASURED_BATCHES, devicePricing, deviceTime, everyServiceRatio, measureDeviceTime } from './device-time.js';
import { DEVICE_KIND, type DemoProfiles } from './profiles.js';
import { demoServices } from './services.js';

const lin = ([a, b, max]: readonly [number, number, number]) => createProfile(DEVICE_KIND, Array.from({ length: max }, (_, i) => ({ batch: i + 1, ms: a + b * i })));
const profiles = { image: lin([6.35, 4.9, 4]), vad: lin([0.49, 0.12, 16]), loop: lin([0.65, 0.12, 16]), video: lin([2.23, 1.48, 8]), chat: lin([6.8, 1, 8]) } as unknown as DemoProfiles;
const specs = demoServices({ profiles, lm: new Uint8Array(0), networkBudgetMs: 42 });
const spec = (id: string) => specs.find((s) => s.id === id)!;

describe('deviceTime (a device priced with a hand-off per batch, stream frames at the packs they run in)', () => {
  it('is the items’ run time alone without a hand-off and at packs of one', () => {
    const d = deviceTime([{ spec: spec('image'), perSec: 10 }, { spec: spec('vad'), perSec: 31.25 }], { handoffMs: 0 });
    expect(d.share).toBeCloseTo((10 * 6.35 + 31.25 * 0.49) / 1000, 2);
  });

  it('prices one VAD stream beside images at a hand-off per frame, and many streams on one device in shared packs', () => {
    const pricing = { handoffMs: 4.5 };
    const one = deviceTime([{ spec: spec('vad'), perSec: 31.25 }], pricing);
    expect(one.packs['vad']).toBeLessThan(1.2);
    expect(one.share).toBeCloseTo(31.25 * (0.49 + 4.5) / 1000, 1);
    const many = deviceTime([{ spec: spec('vad'), perSec: 8 * 31.25 }], pricing);
    // A stateful stream puts at most one frame in a pack: eight streams, packs between one and eight.
    expect(many.packs['vad']).toBeGreaterThan(1.5);
    expect(many.packs['vad']).toBeLessThanOrEqual(8);
    expect(many.share / 8).toBeLessThan(one.share);
  });

  it('reads above 1, and more so with more work, when no pack keeps up within the staleness budget', () => {
    const over = (streams: number) => deviceTime([{ spec: spec('image'), perSec: 100, batch: 4 }, { spec: spec('video'), perSec: streams * 10 }], { handoffMs: 10, costRatio: { image: 3, video: 3 } }).share;
    expect(over(10)).toBeGreaterThan(1);
    expect(over(20)).toBeGreaterThan(over(10));
  });
});

describe('measureDeviceTime (the hand-off per batch and the run ratios, from the nodes’ device usage)', () => {
  const service = (batches: number, runMs: number, profileMs: number): ServiceDeviceUsage => ({ batches, items: batches, runMs, profileMs, expectedMs: 0, waitsMs: [], steadyItems: 0, steadyProfileMs: 0, steadyExpectedMs: 0 });
  const node = (busyMs: number, services: Record<string, ServiceDeviceUsage>): DeviceUsage => ({ wallMs: 10_000, busyMs, loopBusyMs: 0, services });

  it('divides the busy time outside the backend by the batches, on the nodes without generation steps', () => {
    // edge-0 runs chat's steps (its busy time counts them); edge-1 does not: 600 + 300 ms of backend, 1,000 ms busy
    // outside it over 200 batches.
    const run = [node(5000, { image: service(100, 2000, 1000) }), node(1900, { image: service(100, 600, 300), vad: service(100, 300, 100) })];
    const m = measureDeviceTime([run], (i) => i === 0);
    expect(m.handoffMs).toBeCloseTo(5, 9);
    expect(m.batches).toBe(200);
    expect(m.costRatio).toEqual({ image: 2600 / 1300, vad: 3 });
  });

  it('falls back on the lowest node when every node ran steps, and measures nothing from too few batches', () => {
    const run = [node(5000, { image: service(100, 2000, 1000) }), node(1900, { image: service(100, 600, 300) })];
    expect(measureDeviceTime([run], () => true).handoffMs).toBeCloseTo(13, 9);
    const few = [node(100, { image: service(MIN_MEASURED_BATCHES - 1, 50, 20) })];
    expect(measureDeviceTime([few], () => false)).toEqual({ handoffMs: undefined, costRatio: {}, batches: 0 });
  });
});

describe('devicePricing (what the streams\' move is priced at)', () => {
  it('prices a service without batches at the median measured ratio, and every service at the profile when none was measured', () => {
    const p = devicePricing({ handoffMs: 4.5, costRatio: { image: 2.5, vad: 3.5, loop: 3 }, batches: 900 }, ['image', 'chat', 'vad', 'loop'], 0.85);
    expect(p).toEqual({ handoffMs: 4.5, costRatio: { image: 2.5, chat: 3, vad: 3.5, loop: 3 }, maxShare: 0.85 });
    expect(devicePricing({ handoffMs: 1, costRatio: {}, batches: 60 }, ['image'], 0.85).costRatio).toEqual({ image: 1 });
  });
});

describe('everyServiceRatio (what the placement at measured speed scales each service by)', () => {
  it('keeps each measured ratio and gives a service the warm-up did not measure the lower median of the others', () => {
    expect(everyServiceRatio(['image', 'video', 'loop', 'vad'], { video: 2.3, loop: 1.4, vad: 1.7 })).toEqual({ image: 1.7, video: 2.3, loop: 1.4, vad: 1.7 });
    expect(everyServiceRatio(['image', 'vad'], { vad: 4.1 })).toEqual({ image: 4.1, vad: 4.1 });
  });

  it('gives nothing when nothing was measured, and ignores figures that are not positive or of other services', () => {
    expect(everyServiceRatio(['image'], {})).toEqual({});
    expect(everyServiceRatio(['image', 'vad'], { vad: Number.NaN, chat: 3 })).toEqual({});
    expect(everyServiceRatio(['image', 'vad'], { vad: 0, image: 2 })).toEqual({ image: 2, vad: 2 });
  });
});
