import { describe, expect, it } from 'vitest';
import { allocate } from '../allocation/allocate.js';
import { deviceKindsOf } from '../categories/device-kinds.js';
import type { ServiceDemand } from '../model/demand.js';
import type { ServiceSpec } from '../model/service.js';
import { createProfile } from '../profiles/latency-profile.js';
import { dutyCycleFits, sharedClaimLimit, sharedTimeShare, sharedWaitFits, type CycleItem } from './duty-cycle.js';
import { findPlacementViolations } from './find-violations.js';
import type { DeviceNode } from './model.js';
import { placeServices } from './place-services.js';
import { createResources, type ItemFootprint } from './resources.js';
import type { PlacementInput, PlacementResult } from './types.js';

// The price of co-locating a latency service on a shared, non-preemptive device, with figures worked by hand: a
// request may arrive just after the longest batch on the device started (B), then runs its own (L); the
// co-located items' device share ρ_o stretches that, so it needs B + L ≤ D (1 − ρ_o).

/** A latency item: a batch of 4 runs 20 ms, 50 items/s assigned (a quarter of the device), a 200 ms budget. */
const latency = (over: Partial<CycleItem> = {}): CycleItem => ({ runMs: 20, batchSize: 4, capacityPerSec: 50, cycleBudgetMs: 200, blocking: true, ...over });
/** A long, light item (an LLM's turn batch): 8 per 100 ms batch at 16 items/s, a fifth of the device. */
const long = (over: Partial<CycleItem> = {}): CycleItem => ({ runMs: 100, batchSize: 8, capacityPerSec: 16, cycleBudgetMs: 1000, ...over });
/** A short stream item: 1 per 1 ms at 100 items/s, a tenth of the device. */
const short = (over: Partial<CycleItem> = {}): CycleItem => ({ runMs: 1, batchSize: 1, capacityPerSec: 100, cycleBudgetMs: 100, fillsPacks: true, ...over });

describe('sharedWaitFits (residual blocking)', () => {
  it('accepts a lone item, and beside short light work, as the half-SLO rule would', () => {
    expect(sharedWaitFits([latency({ cycleBudgetMs: 1 })])).toBe(true);
    // B = 20 (its own batch), L = 20, ρ_o = 0.1: 40 ≤ 200 × 0.9.
    expect(sharedWaitFits([latency(), short()])).toBe(true);
  });

  it('charges the longest co-located batch and the co-located share', () => {
    // B = 100, L = 20, ρ_o = 16 × 100 / 8 / 1000 = 0.2: 120 ≤ 200 × 0.8 = 160 fits, and 149 ms of budget does not.
    expect(sharedTimeShare(long())).toBeCloseTo(0.2, 12);
    expect(sharedWaitFits([latency(), long()])).toBe(true);
    expect(sharedWaitFits([latency({ cycleBudgetMs: 149 }), long()])).toBe(false);
    expect(sharedWaitFits([latency({ cycleBudgetMs: 150 }), long()])).toBe(true);
    // At 34/s: ρ_o = 0.425, 120 > 200 × 0.575 = 115.
    expect(sharedWaitFits([latency(), long({ capacityPerSec: 34 })])).toBe(false);
  });

  it('reads the shared (interfered) runs, checks a newcomer as one more item, and prices only blocking items', () => {
    // The long batch at 130 ms with interference: ρ_o = 0.26, 150 > 200 × 0.74 = 148.
    expect(sharedWaitFits([latency(), long({ sharedRunMs: 130 })])).toBe(false);
    expect(sharedWaitFits([latency()], long({ sharedRunMs: 130 }))).toBe(false);
    expect(sharedWaitFits([long({ sharedRunMs: 130 })], latency())).toBe(false);
    // Without the price (a frequency item, or the option off) the same pair is left to the round-robin rule.
    expect(sharedWaitFits([latency({ blocking: false }), long({ sharedRunMs: 130 })])).toBe(true);
  });

  it('is part of dutyCycleFits, on top of the round-robin cycle', () => {
    // Round-robin: C = 120, the latency item allows 200 − 20 = 180 and its rate 4 / 50 s = 80 ms: C is too long.
    expect(dutyCycleFits([latency(), long()])).toBe(false);
    // At 25 items/s the cycle allows 160 ≥ 120, and the wait fits: both rules hold.
    expect(dutyCycleFits([latency({ capacityPerSec: 25 }), long()])).toBe(true);
    // The cycle alone would take a 400 ms batch beside a 25 items/s latency item with a 450 ms budget (C = 420 ≤
    // 450 − 20); the wait does not: 420 > 450 × (1 − 0.8).
    const llm = long({ runMs: 400, capacityPerSec: 16, cycleBudgetMs: 5000 });
    expect(dutyCycleFits([latency({ capacityPerSec: 1, cycleBudgetMs: 450, blocking: false }), llm])).toBe(true);
    expect(dutyCycleFits([latency({ capacityPerSec: 1, cycleBudgetMs: 450 }), llm])).toBe(false);
  });
});

describe('sharedClaimLimit', () => {
  it('is the rate that fills the latency item’s remaining budget, and unlimited without one', () => {
    // Beside the latency item: ρ_o ≤ 1 − (100 + 20) / 200 = 0.4, so the long item may claim 0.4 × 8 / 100 ms = 32/s.
    expect(sharedClaimLimit([latency(), long()], 1)).toBeCloseTo(32, 9);
    // The latency item's own claim does not enter its own wait; a frequency neighbour prices nothing.
    expect(sharedClaimLimit([latency(), long()], 0)).toBe(Number.POSITIVE_INFINITY);
    expect(sharedClaimLimit([long(), short()], 0)).toBe(Number.POSITIVE_INFINITY);
    expect(sharedClaimLimit([long()], 0)).toBe(Number.POSITIVE_INFINITY);
    // With a short item taking 0.1 too, the long item's limit shrinks to 0.3 of the device.
    expect(sharedClaimLimit([latency(), long(), short()], 1)).toBeCloseTo(24, 9);
  });

  it('is what Resources reports for a placed item', () => {
    const device: DeviceNode = { server: 0, id: 'g', kind: 'gpu', usableBytes: 1000, healthy: true };
    const foot = (service: number, item: CycleItem): ItemFootprint => ({ service, memBytes: 100, exclusive: false, ...item });
    const r = createResources([device]);
    const a = foot(0, latency());
    const b = foot(1, long());
    r.add([0], a);
    expect(r.fits(0, foot(1, long({ capacityPerSec: 32 })))).toBe(false);
    expect(r.fits(0, b)).toBe(false); // the round-robin cycle refuses it at the latency item's 50/s …
    r.remove([0], a);
    const slow = foot(0, latency({ capacityPerSec: 25 }));
    r.add([0], slow);
    expect(r.fits(0, b)).toBe(true); // … and takes it at 25/s
    r.add([0], b);
    expect(r.claimLimit(0, b)).toBeCloseTo(32, 9);
    expect(r.claimLimit(0, slow)).toBe(Number.POSITIVE_INFINITY);
    expect(r.claimLimit(0, foot(2, short()))).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('placeServices prices residual blocking: the demo’s three single-device servers', () => {
  // The demo's shape: three servers of one 1-thread device each; images (a 300 ms deadline, 42 ms of network
  // budget, the detector's measured 4.83 / 8.99 / 17.6 ms for 1 / 2 / 4) enter mostly at edge-0; chat is an LLM
  // whose turn batches run long (60–200 ms); a device loop, video and VAD streams enter everywhere.
  const MB = 1024 ** 2;
  const KIND = 'cpu-1t';
  const ids = ['edge-0', 'edge-1', 'edge-2'];
  const spec = (id: string, slo: ServiceSpec['slo'], points: [number, number][], weightsMb: number): ServiceSpec => ({
    id,
    sensitivity: slo.kind,
    slo,
    networkBudgetMs: slo.kind === 'latency' ? 42 : 0,
    loadTimeMs: 200,
    memory: { weightsBytes: weightsMb * MB, perItemBytes: MB },
    profiles: { [KIND]: createProfile(KIND, points.map(([batch, ms]) => ({ batch, ms }))) },
  });
  const services = [
    spec('image', { kind: 'latency', deadlineMs: 300 }, [[1, 4.83], [2, 8.99], [4, 17.6]], 20),
    spec('chat', { kind: 'latency', deadlineMs: 800 }, [[1, 60], [2, 80], [4, 120], [8, 200]], 8),
    spec('video', { kind: 'frequency', rateHz: 10, stalenessMs: 250 }, [[1, 2.23], [2, 4.27], [4, 6.56], [8, 12.6]], 20),
    spec('loop', { kind: 'frequency', rateHz: 20, stalenessMs: 100 }, [[1, 0.65], [2, 0.75], [4, 0.9], [8, 1.2], [16, 1.8]], 8),
    spec('vad', { kind: 'frequency', rateHz: 31.25, stalenessMs: 100 }, [[1, 0.49], [2, 0.52], [4, 0.6], [8, 0.8], [16, 1.3]], 6),
  ];
  const maxBatch: Record<string, number> = { image: 4, chat: 8, video: 8, loop: 16, vad: 16 };
  const oneWay = [
    [0, 5.3, 20.5],
    [5.3, 0, 5.4],
    [20.5, 5.4, 0],
  ];

  function demoInput(servers: number, load: number): PlacementInput {
    const streams = (hz: number, counts: number[]) => counts.flatMap((n, i) => Array.from({ length: n * load }, () => ({ accessServer: ids[i]!, rateHz: hz })));
    const demand: ServiceDemand[] = [
      { serviceId: 'image', ratePerServer: { 'edge-0': 58 * load, 'edge-1': 17 * load, 'edge-2': 5 * load } },
      { serviceId: 'chat', ratePerServer: { 'edge-0': 1.3 * load, 'edge-1': 4.4 * load, 'edge-2': 14.5 * load } },
      { serviceId: 'video', ratePerServer: {}, streams: streams(10, [4, 3, 3]) },
      { serviceId: 'loop', ratePerServer: {}, streams: streams(20, [3, 4, 3]) },
      { serviceId: 'vad', ratePerServer: {}, streams: streams(31.25, [4, 4, 5]) },
    ];
    const list = ids.slice(0, servers).map((id) => ({ id, devices: [{ id: 'cpu0', kind: KIND, memoryBytes: 2 * 1024 ** 3 }] }));
    const kinds = deviceKindsOf(list);
    const plans = Object.fromEntries(services.map((s, i) => [s.id, allocate({ service: s, demand: demand[i]!, deviceKinds: kinds, options: { maxBatch: maxBatch[s.id]! } }).plans]));
    // Demand enters at all three nodes (with two servers, edge-2's is served over its links).
    const delaysMs = Object.fromEntries(ids.map((a, i) => [a, Object.fromEntries(ids.map((b, j) => [b, oneWay[i]![j]!]))]));
    return { servers: list, services, plans, demand, delaysMs };
  }
  /** The services beside each image instance on its device. */
  const besideImage = (r: PlacementResult): string[][] =>
    r.instances.filter((x) => x.serviceId === 'image').map((img) => r.instances.filter((x) => x !== img && x.serverId === img.serverId && x.deviceIds[0] === img.deviceIds[0]).map((x) => x.serviceId).sort());
  const served = (r: PlacementResult, id: string): number => {
    const s = r.services.find((x) => x.serviceId === id)!;
    return s.servedPerSec / s.demandPerSec;
  };

  it('gives images a device without the LLM when another device can take it', () => {
    const input = demoInput(3, 1);
    // Without the price, round-robin alone: an image instance shares a device with chat's 200 ms turn batches.
    const before = placeServices(input, { residualBlocking: false });
    expect(besideImage(before).some((list) => list.includes('chat'))).toBe(true);
    // That placement breaks the price: a request arriving behind a chat batch waits it, then its own batch.
    expect(findPlacementViolations(input, before.instances).some((v) => v.includes('co-location price'))).toBe(true);
    expect(findPlacementViolations(input, before.instances, { residualBlocking: false })).toEqual([]);
    const after = placeServices(input);
    expect(findPlacementViolations(input, after.instances)).toEqual([]);
    expect(besideImage(after).every((list) => !list.includes('chat'))).toBe(true);
    // Every image is still served, and so is every chat turn; the price is paid by the streams, which now share one
    // device (VAD at two thirds of its rate, fully served before).
    expect(served(after, 'image')).toBeCloseTo(1, 9);
    expect(served(after, 'chat')).toBeCloseTo(1, 9);
    expect(served(before, 'vad')).toBeCloseTo(1, 9);
    expect(served(after, 'vad')).toBeCloseTo(2 / 3, 2);
  });

  it('still puts images beside the LLM where there is no other room, with the LLM’s claim cut to what the price leaves', () => {
    // Two servers: the streams fill one device, images and chat share the other.
    const input = demoInput(2, 1);
    const r = placeServices(input);
    expect(findPlacementViolations(input, r.instances)).toEqual([]);
    expect(besideImage(r)).toEqual([['chat']]);
    const image = r.instances.find((x) => x.serviceId === 'image')!;
    const chat = r.instances.find((x) => x.serviceId === 'chat')!;
    // The wait holds with the shared runs (×1.1): B = the chat batch, then the image batch, within D (1 − ρ_chat).
    const shared = (ms: number): number => ms * 1.1;
    const rhoChat = (chat.capacityPerSec! * shared(chat.plan.runMs)) / (1000 * chat.plan.batchSize);
    expect(shared(Math.max(chat.plan.runMs, image.plan.runMs)) + shared(image.plan.runMs)).toBeLessThanOrEqual((300 - 42) * (1 - rhoChat) * (1 + 1e-9));
    // Without the price chat would claim more of that device.
    const before = placeServices(input, { residualBlocking: false });
    expect(before.instances.find((x) => x.serviceId === 'chat')!.capacityPerSec!).toBeGreaterThan(chat.capacityPerSec!);
  });

  it('lets images share with the LLM when its load is light enough (demand decides)', () => {
    const r = placeServices(demoInput(3, 0.5));
    expect(besideImage(r).some((list) => list.includes('chat'))).toBe(true);
    expect(served(r, 'image')).toBeCloseTo(1, 9);
  });
});
