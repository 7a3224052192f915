import { createProfile } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { deviceTime } from './device-time.js';
import { modelArrivals, runDeviceModel, type ModelLane, type ModelTraffic } from './device-model.js';
import { DEVICE_KIND, type DemoProfiles } from './profiles.js';
import { demoServices } from './services.js';

/*
 * The placement question of the demo's image servers, in virtual time (a pure function of the seeds). Figures from
 * the quiet reports' counts: on an image server without chat the device spent 29.1 % of 30 s outside the backend
 * over 1,938 batches — 4.5 ms per batch — and the backend ran about 2.7× the profiles; it served about 1.2 VAD
 * streams (950 packs of 1.17 frames) and under one loop stream. Profiles: the quiet runs' one-item times (image
 * 6.35 ms, VAD 0.49, loop 0.65, video 2.23), growing linearly with the batch.
 */
const RUN_RATIO = 2.7;
const HANDOFF_MS = 4.5;
const DURATION_MS = 30_000;
const profile = { image: [6.35, 4.9, 4], vad: [0.49, 0.12, 16], loop: [0.65, 0.12, 16], video: [2.23, 1.48, 8] } as const;
type Id = keyof typeof profile;
const runMs = (id: Id) => (n: number): number => RUN_RATIO * (profile[id][0] + profile[id][1] * (n - 1));

function lane(id: Id, t: ModelTraffic, seed: number, name: string = id): ModelLane {
  return { id: name, latencyMs: runMs(id), maxBatch: profile[id][2], stateful: id === 'vad', streams: t.kind === 'streams' ? t.streams : 0, items: modelArrivals(t, DURATION_MS, seed) };
}
const streams = (rateHz: number, stalenessMs: number) => (n: number, linkMs = 0): ModelTraffic => ({ kind: 'streams', streams: n, rateHz, stalenessMs, linkMs });
const vad = streams(31.25, 100);
const loop = streams(20, 100);
const video = streams(10, 250);
const images = (perSec: number): ModelTraffic => ({ kind: 'requests', perSec, deadlineMs: 300, burst: { factor: 4, periodMs: 10_000 } });

interface World {
  /** Streams the stream server serves of its own: VAD, loop, video. */
  readonly server: readonly [number, number, number];
  /** Whether the image server's streams (2 VAD, 1 loop) are served on the stream server, one 5 ms link away. */
  readonly moved: boolean;
  readonly packWaitMs?: number;
}

/** Two servers: the image server (30 images/s in bursts, and its own streams unless moved) and a stream server. */
function world(w: World, seed: number): { images: number; frames: number; all: number; packs: number } {
  const imageServer = [lane('image', images(30), seed)];
  const streamServer = [lane('vad', vad(w.server[0]), seed + 1), lane('loop', loop(w.server[1]), seed + 2), lane('video', video(w.server[2]), seed + 3)];
  const link = w.moved ? 5 : 0;
  (w.moved ? streamServer : imageServer).push(lane('vad', vad(2, link), seed + 4, 'vad-entering-image-server'), lane('loop', loop(1, link), seed + 5, 'loop-entering-image-server'));
  const o = { handoffMs: HANDOFF_MS, ...(w.packWaitMs === undefined ? {} : { packWaitMs: w.packWaitMs }) };
  const r = { ...runDeviceModel(streamServer, o), ...runDeviceModel(imageServer, o) };
  const frames = Object.entries(r).filter(([id]) => id !== 'image');
  const sum = (rows: typeof frames, k: 'offered' | 'good' | 'ran' | 'batches'): number => rows.reduce((a, [, x]) => a + x[k], 0);
  const every = Object.entries(r);
  return {
    images: r['image']!.good / r['image']!.offered,
    frames: sum(frames, 'good') / sum(frames, 'offered'),
    all: sum(every, 'good') / sum(every, 'offered'),
    packs: sum(frames, 'ran') / sum(frames, 'batches'),
  };
}
type Outcome = ReturnType<typeof world>;
const mean = (w: World): Outcome => {
  const runs = [100, 200, 300].map((seed) => world(w, seed));
  const avg = (k: keyof Outcome): number => runs.reduce((a, r) => a + r[k], 0) / runs.length;
  return { images: avg('images'), frames: avg('frames'), all: avg('all'), packs: avg('packs') };
};

describe('the device model (virtual time) on the image server question', () => {
  it('is a pure function of its seeds', () => {
    expect(world({ server: [4, 2, 3], moved: false }, 7)).toEqual(world({ server: [4, 2, 3], moved: false }, 7));
  });

  it('packs stay near the streams a device serves: waiting to pack frees no time for the images beside one or two streams', () => {
    const now = mean({ server: [4, 2, 3], moved: false });
    const waiting = mean({ server: [4, 2, 3], moved: false, packWaitMs: 20 });
    // A VAD pack takes one frame per stream: beside the images there are two; the launch rule already packs what
    // queues behind a running batch. Waiting 20 ms for the other streams' frames changes the images by < 1 point.
    expect(Math.abs(waiting.images - now.images)).toBeLessThan(0.01);
    expect(waiting.frames).toBeLessThanOrEqual(now.frames + 0.005);
  });

  it('moving the streams off the image server pays while the stream server has room, and costs frames once it has none', () => {
    const roomy = { local: mean({ server: [8, 4, 6], moved: false }), moved: mean({ server: [8, 4, 6], moved: true }) };
    // Each frame beside the images paid a whole hand-off: moved, the images gain 7 points and the frames keep ≥ 99.5 %.
    expect(roomy.moved.images - roomy.local.images).toBeGreaterThan(0.05);
    expect(roomy.moved.frames).toBeGreaterThan(0.995);
    // On the stream server the moved frames join packs that share the hand-off.
    expect(roomy.moved.packs).toBeGreaterThan(roomy.local.packs);
    const full = { local: mean({ server: [12, 6, 9], moved: false }), moved: mean({ server: [12, 6, 9], moved: true }) };
    expect(full.local.frames).toBeGreaterThan(0.99);
    expect(full.moved.frames).toBeLessThan(0.9);
    // Counting every item, moving all of them loses there and wins where there was room: neither "all" nor "none"
    // is right everywhere.
    expect(full.moved.all).toBeLessThan(full.local.all - 0.05);
    expect(roomy.moved.all).toBeGreaterThan(roomy.local.all);
  });

  it('the device-time pricing the replica rule uses agrees: under the cap where moving paid, over it where it did not', () => {
    const lin = ([a, b, max]: readonly [number, number, number]) => createProfile(DEVICE_KIND, Array.from({ length: max }, (_, i) => ({ batch: i + 1, ms: a + b * i })));
    const profiles = { image: lin(profile.image), vad: lin(profile.vad), loop: lin(profile.loop), video: lin(profile.video), chat: lin([6.8, 1, 8]) } as unknown as DemoProfiles;
    const specs = demoServices({ profiles, lm: new Uint8Array(0), networkBudgetMs: 42 });
    const spec = (id: string) => specs.find((s) => s.id === id)!;
    const pricing = { handoffMs: HANDOFF_MS, costRatio: { image: RUN_RATIO, vad: RUN_RATIO, loop: RUN_RATIO, video: RUN_RATIO } };
    const server = (v: number, l: number, vid: number): number =>
      deviceTime([{ spec: spec('vad'), perSec: v * 31.25 }, { spec: spec('loop'), perSec: l * 20 }, { spec: spec('video'), perSec: vid * 10 }], pricing).share;
    // With the image server's 2 VAD and 1 loop streams added.
    expect(server(8 + 2, 4 + 1, 6)).toBeLessThan(0.85);
    expect(server(12 + 2, 6 + 1, 9)).toBeGreaterThan(0.85);
    // The streams beside the images: priced at a hand-off per frame they take about a quarter of that device.
    const imageServer = (withStreams: boolean): number =>
      deviceTime([{ spec: spec('image'), perSec: 30, batch: 2 }, ...(withStreams ? [{ spec: spec('vad'), perSec: 62.5 }, { spec: spec('loop'), perSec: 20 }] : [])], pricing).share;
    expect(imageServer(true) - imageServer(false)).toBeGreaterThan(0.2);
  });
});
