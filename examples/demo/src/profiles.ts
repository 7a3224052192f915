import { createProfile, createSeededRandom, scaleProfile, type LatencyProfile, type NamedTensors, type ProfileSample } from '@epara/core';
import { createDevice, profileModel } from '@epara/runtime';
import { CHAT_NEW_TOKENS, CHAT_PROMPT, FRAME_SIDE, IMAGE_SIDE, LOOP_WINDOW, type DemoServiceId } from './catalog.js';
import { detectorPath, imageInput, loopWindow, vadBatch, vadPath } from './models.js';

/** Measured latency profiles of the five services on one 1-thread CPU device (kind `cpu-1t`). */
export type DemoProfiles = Readonly<Record<DemoServiceId, LatencyProfile>>;

/** The device kind every demo device reports (one intra-op thread). */
export const DEVICE_KIND = 'cpu-1t';

/** The batch sizes profiled per service: the largest is the largest batch the executors run (`maxBatch`). */
export const PROFILED_BATCHES = { image: [1, 2, 4], video: [1, 2, 4, 8], loop: [1, 2, 4, 8, 16], chatStep: [1, 2, 4, 8], vad: [1, 2, 4, 8, 16] } as const;

/**
 * Profiles every service with the runtime's `profileModel` on one temporary 1-thread worker device: a warm-up
 * run and a few timed runs per batch size, the lower quartile kept (see {@link lowerQuartileProfile}). A chat turn's profile is the language model's step
 * at the turn's mean padded length times the tokens per turn (concurrent turns share each step).
 */
export async function measureProfiles(o: { lm: Uint8Array; repetitions: number; signal?: AbortSignal }): Promise<DemoProfiles> {
  const device = createDevice({ id: 'profiler', threads: 1 });
  const random = createSeededRandom(7);
  const common = { device, warmup: 1, repetitions: o.repetitions, deviceKind: DEVICE_KIND, ...(o.signal ? { signal: o.signal } : {}) };
  const measure = async (model: string | Uint8Array, batchSizes: number[], inputs: (b: number) => NamedTensors): Promise<LatencyProfile> => {
    const samples: ProfileSample[] = [];
    await profileModel({ ...common, model, batchSizes, inputs, onProgress: (_done, _total, sample) => samples.push(sample) });
    return lowerQuartileProfile(samples);
  };
  try {
    const b = PROFILED_BATCHES;
    const image = await measure(detectorPath(), [...b.image], (n) => imageInput(IMAGE_SIDE, random, n));
    const video = await measure(detectorPath(), [...b.video], (n) => imageInput(FRAME_SIDE, random, n));
    const loop = await measure(o.lm, [...b.loop], (n) => loopWindow(random, LOOP_WINDOW, n));
    const step = await measure(o.lm, [...b.chatStep], (n) => loopWindow(random, CHAT_TURN_LENGTH, n));
    const vad = await measure(vadPath(), [...b.vad], (n) => vadBatch(random, n));
    return { image, video, loop, chat: scaleProfile(step, CHAT_NEW_TOKENS), vad };
  } finally {
    await device.close();
  }
}

/**
 * A profile from the lower quartile of each batch size's timed runs (`profileModel` itself keeps the median).
 * On a machine shared with other work the slow runs are mostly time the worker spent descheduled, which says
 * little about the model; the executors then adapt their estimates to what they measure while serving.
 */
export function lowerQuartileProfile(samples: readonly ProfileSample[]): LatencyProfile {
  const byBatch = new Map<number, number[]>();
  for (const s of samples) byBatch.set(s.batch, [...(byBatch.get(s.batch) ?? []), s.ms]);
  const points = [...byBatch].map(([batch, ms]) => {
    const sorted = [...ms].sort((a, b) => a - b);
    return { batch, ms: sorted[Math.floor((sorted.length - 1) / 4)]! };
  });
  return createProfile(DEVICE_KIND, points);
}

/** Padded sequence length of a chat step the profile is measured at: the longest prompt plus half the turn. */
export const CHAT_TURN_LENGTH = CHAT_PROMPT.max + CHAT_NEW_TOKENS / 2;

/**
 * The generation engine's step profile (latency against tokens per step, `batch × length`), derived from the
 * measured chat profile. Given to the engine as a fixed `stepProfile`: its own estimate learns from step wall
 * times, which on a device shared with other services include waiting behind their batches, and would then
 * refuse turns that have hundreds of milliseconds of slack.
 */
export function chatStepProfile(chat: LatencyProfile): LatencyProfile {
  return createProfile('decode-step', chat.points.map((p) => ({ batch: p.batch * CHAT_TURN_LENGTH, ms: p.ms / CHAT_NEW_TOKENS })));
}

/** `1:4.2 2:7.9 4:15.0` — a profile in one short line (batch:ms). */
export function formatProfile(p: LatencyProfile): string {
  return p.points.map((x) => `${x.batch}:${x.ms < 10 ? x.ms.toFixed(2) : x.ms.toFixed(1)}`).join(' ');
}
