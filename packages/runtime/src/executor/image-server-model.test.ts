import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, latencyAt, type LatencyProfile } from '@epara/core';
import type { DeviceHandle } from '../devices/device-port.js';
import type { WorkItem } from '../batching/work-item.js';
import { fakeItem, fakeLane } from '../testing/fake-lane.js';
import { eventTimers } from '../testing/event-timers.js';
import { DEMO_IMAGE_PROFILE, DEMO_VIDEO_PROFILE } from '../testing/demo-profiles.js';
import { DeviceScheduler } from './device-scheduler.js';
import { estimateCompletion } from './estimate-completion.js';
import { HoldCorrections } from './hold-corrections.js';

// The demo's image server in virtual time, deterministic (a pure function of the seed): one 1-thread device with
// the detector on images (300 ms deadline, Poisson) beside the detector on video frames (250 ms staleness, streams
// of 10 frames/s), on the profiles a quiet demo run measured. The host is a contended one, as the demo's quiet
// reports read it: each batch runs its profile times a factor drawn around 3× (a lognormal, a sixth of the
// batches past 4×), its outputs reach the host after a hand-off and a wait for the event loop (exponential, mean
// 2 ms). Every input of the estimate is the executor's own: hold-time corrections learned from the batches that
// ran, each lane's load share from its arrivals at its priced batch cost. A host admits an image where it enters
// when the estimate lands by its deadline (as the mesh does) and sends it elsewhere otherwise.

const IMAGE = DEMO_IMAGE_PROFILE;
const VIDEO = DEMO_VIDEO_PROFILE;
const IMAGE_BUDGET_MS = 300;
const FRAME_BUDGET_MS = 250;
const FRAME_PERIOD_MS = 100;
const HAND_OFF_MS = 0.3;
const HOST_WAIT_MEAN_MS = 2;
const flush = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await Promise.resolve();
};

/** Outcome of the images admitted where they entered, by the estimate's wait ÷ budget at the decision. */
interface ShareBucket {
  admitted: number;
  good: number;
}

interface ModelOutcome {
  offered: number;
  admitted: number;
  /** Admitted and served by the deadline. */
  good: number;
  /** Admitted, then dropped in the queue or served late. */
  lost: number;
  /** Sent elsewhere at entry. */
  refused: number;
  frames: number;
  fresh: number;
  /** `<50%`, `50–75%`, `75–90%`, `90–100%` of the budget. */
  byShare: ShareBucket[];
}

interface ModelOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly imagesPerSec: number;
  readonly videoStreams: number;
  /** Whether the lanes tell their deadline budgets (the estimate counts overtaking work only then). @default true */
  readonly budgets?: boolean;
}

/** A lognormal factor with median `median` and log-sd `sigma`, from two uniforms (Box–Muller). */
function factor(u1: number, u2: number, median: number, sigma: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  return median * Math.exp(sigma * z);
}

async function imageServer(o: ModelOptions): Promise<ModelOutcome> {
  const clock = createManualClock(0);
  const timers = eventTimers(clock);
  const random = createSeededRandom(o.seed);
  const host = createSeededRandom(o.seed + 1000);
  const out: ModelOutcome = { offered: 0, admitted: 0, good: 0, lost: 0, refused: 0, frames: 0, fresh: 0, byShare: [0, 1, 2, 3].map(() => ({ admitted: 0, good: 0 })) };
  let workerFreeAt = 0;
  let sch!: DeviceScheduler;
  const lane = (id: string, profile: LatencyProfile, batchSize: number, maxBatchSize: number, budgetMs: number, perMs: () => number) => {
    const corrections = new HoldCorrections();
    const priced = (d: string, n: number, now: number): number => latencyAt(profile, n) * corrections.of(d, n, now);
    return fakeLane({
      id,
      serviceId: id,
      batchSize,
      maxBatchSize,
      guardMs: 2,
      launchWhenIdle: false,
      ...(o.budgets === false ? {} : { deadlineBudgetMs: budgetMs }),
      arrivalsPerMs: perMs(),
      latencyMs: priced,
      dropLatencyMs: (d, now) => Math.min(latencyAt(profile, 1), priced(d, 1, now)),
      loadShare: (d, now) => (perMs() * priced(d, batchSize, now)) / batchSize,
      freeAt: () => sch,
      observeHold: (d, n, holdMs, now) => corrections.observe(profile, d, n, holdMs, now),
      drop: (item) => item.settle(new Error('expired') as never),
      run: (items, _device, _startedAt, done) => {
        const runMs = latencyAt(profile, items.length) * factor(host.next(), host.next(), 2.85, 0.35);
        const end = Math.max(clock.now() + HAND_OFF_MS, workerFreeAt) + runMs;
        workerFreeAt = end;
        const back = end + HAND_OFF_MS - HOST_WAIT_MEAN_MS * Math.log(1 - host.next());
        timers.at(back, () => {
          for (const it of items) it.settle(undefined, {}, { startedAt: 0, finishedAt: clock.now(), batchSize: items.length, deviceId: 'd0' });
          done.batchEnded(runMs);
        });
      },
    }).lane;
  };
  const imagePerMs = o.imagesPerSec / 1000;
  // The images the host admits, not all that arrive, load this device.
  let admittedPerMs = imagePerMs;
  const images = lane('image', IMAGE, 2, 4, IMAGE_BUDGET_MS, () => admittedPerMs);
  const video = lane('video', VIDEO, 1, 8, FRAME_BUDGET_MS, () => o.videoStreams / FRAME_PERIOD_MS);
  sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
  sch.attach(images);
  sch.attach(video);
  const advance = async (to: number): Promise<void> => {
    while (timers.nextAt() <= to) {
      timers.fireNext();
      await flush();
    }
    if (clock.now() < to) clock.set(to);
  };
  // Arrivals in time order: images (Poisson) and each stream's frames (a random phase per stream).
  const phases = Array.from({ length: o.videoStreams }, () => random.next() * FRAME_PERIOD_MS);
  const frames: number[] = [];
  for (const p of phases) for (let at = p; at < o.durationMs; at += FRAME_PERIOD_MS) frames.push(at);
  frames.sort((a, b) => a - b);
  let f = 0;
  const admittedAt: number[] = [];
  for (let at = -Math.log(1 - random.next()) / imagePerMs; at < o.durationMs; at += -Math.log(1 - random.next()) / imagePerMs) {
    for (; f < frames.length && frames[f]! < at; f++) {
      const frameAt = frames[f]!;
      await advance(frameAt);
      const deadline = frameAt + FRAME_BUDGET_MS;
      out.frames++;
      const frame = fakeItem(deadline, { serviceId: 'video', enqueuedAt: frameAt, frame: true, settle: (err) => void (err === undefined && clock.now() <= deadline ? out.fresh++ : undefined) });
      video.queue.push(frame);
      sch.arrived(video, frame, frameAt);
    }
    await advance(at);
    const now = clock.now();
    const deadline = now + IMAGE_BUDGET_MS;
    out.offered++;
    const estimate = estimateCompletion(images, [sch], now);
    if (estimate > deadline) {
      out.refused++;
      continue;
    }
    out.admitted++;
    admittedAt.push(now);
    while (admittedAt.length > 0 && admittedAt[0]! < now - 1000) admittedAt.shift();
    admittedPerMs = now >= 1000 ? admittedAt.length / 1000 : imagePerMs;
    const share = (estimate - now) / IMAGE_BUDGET_MS;
    const bucket = out.byShare[share < 0.5 ? 0 : share < 0.75 ? 1 : share < 0.9 ? 2 : 3]!;
    bucket.admitted++;
    const item: WorkItem = fakeItem(deadline, {
      serviceId: 'image',
      enqueuedAt: now,
      settle: (err) => {
        if (err === undefined && clock.now() <= deadline) {
          out.good++;
          bucket.good++;
        } else out.lost++;
      },
    });
    images.queue.push(item);
    sch.arrived(images, item, now);
  }
  await advance(o.durationMs + 2000);
  sch.close();
  return out;
}

/** Seeds 1–3, 20 s each, summed. */
async function seeds(imagesPerSec: number, budgets = true): Promise<ModelOutcome> {
  const sum: ModelOutcome = { offered: 0, admitted: 0, good: 0, lost: 0, refused: 0, frames: 0, fresh: 0, byShare: [0, 1, 2, 3].map(() => ({ admitted: 0, good: 0 })) };
  for (let seed = 1; seed <= 3; seed++) {
    const o = await imageServer({ seed, durationMs: 20_000, imagesPerSec, videoStreams: 12, budgets });
    for (const k of ['offered', 'admitted', 'good', 'lost', 'refused', 'frames', 'fresh'] as const) sum[k] += o[k];
    o.byShare.forEach((b, i) => {
      sum.byShare[i]!.admitted += b.admitted;
      sum.byShare[i]!.good += b.good;
    });
  }
  return sum;
}

describe('the image server at long waits (virtual time, a contended host)', () => {
  it('loses few of the images it admits, at any share of their budget, and keeps more items within their SLO', async () => {
    // 45 images/s beside 12 video streams, seeds 1–3 (the figures in docs/runtime.md, "Work that overtakes a
    // waiting item"). The estimate before this model: 2 442 admitted, 340 lost (13.9 %; 74–83 % good at 75–100 % of
    // the budget, 64–74 % on the demo's image server), 249 sent elsewhere; 86.2 % of images and frames within their SLO.
    // Now: 40 of 1 930 lost (2.1 %; 97–98 % good at 75–100 %), 761 sent elsewhere; 90.3 % within their SLO.
    const o = await seeds(45);
    expect(o.lost).toBeLessThan(0.04 * o.admitted);
    for (const b of o.byShare.slice(2)) expect(b.good).toBeGreaterThanOrEqual(0.9 * b.admitted);
    expect((o.good + o.fresh) / (o.offered + o.frames)).toBeGreaterThan(0.89);
  });

  it('still admits nearly every image where few are lost', async () => {
    // 25 images/s: before, 1 473 admitted and 9 sent elsewhere (6 lost); now 1 417 and 65 (3 lost).
    const o = await seeds(25);
    expect(o.lost).toBeLessThan(0.01 * o.admitted);
    expect(o.refused).toBeLessThan(0.07 * o.offered);
  });

  it('keeps more items within their SLO for counting the work that overtakes a waiting image', async () => {
    // 45 images/s: with the lanes' deadline budgets, 8 926 of 9 885 images and frames within their SLO (90.3 %);
    // without them (the estimate blind to frames arriving while an image waits), 8 617 (87.2 %), 303 of 2 287
    // admitted images lost.
    const counted = await seeds(45);
    const not = await seeds(45, false);
    expect(counted.good + counted.fresh).toBeGreaterThan(not.good + not.fresh);
  });
});
