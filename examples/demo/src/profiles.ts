import { createProfile, createSeededRandom, scaleProfile, type LatencyProfile } from '@epara/core';
import { createDevice, profileModel } from '@epara/runtime';
import { CHAT_NEW_TOKENS, CHAT_PROMPT, FRAME_SIDE, IMAGE_SIDE, LOOP_WINDOW, type DemoServiceId } from './catalog.js';
import { detectorPath, imageInput, loopWindow, vadBatch, vadPath } from './models.js';

/** Measured latency profiles of the five services on one 1-thread CPU device (kind `cpu-1t`). */
export type DemoProfiles = Readonly<Record<DemoServiceId, LatencyProfile>>;

/** The device kind every demo device reports (one intra-op thread). */
export const DEVICE_KIND = 'cpu-1t';

/**
 * Profiles every service with the runtime's `profileModel` on one temporary 1-thread worker device: a warm-up
 * run and a few timed runs per batch size, the median kept. A chat turn's profile is the language model's step
 * at the turn's mean padded length times the tokens per turn (concurrent turns share each step).
 */
export async function measureProfiles(o: { lm: Uint8Array; repetitions: number; signal?: AbortSignal }): Promise<DemoProfiles> {
  const device = createDevice({ id: 'profiler', threads: 1 });
  const random = createSeededRandom(7);
  const common = { device, warmup: 1, repetitions: o.repetitions, deviceKind: DEVICE_KIND, ...(o.signal ? { signal: o.signal } : {}) };
  try {
    const image = await profileModel({ ...common, model: detectorPath(), batchSizes: [1, 2, 4], inputs: (b) => imageInput(IMAGE_SIDE, random, b) });
    const video = await profileModel({ ...common, model: detectorPath(), batchSizes: [1, 2, 4, 8], inputs: (b) => imageInput(FRAME_SIDE, random, b) });
    const loop = await profileModel({ ...common, model: o.lm, batchSizes: [1, 2, 4, 8, 16], inputs: (b) => loopWindow(random, LOOP_WINDOW, b) });
    const turnLength = CHAT_TURN_LENGTH;
    const step = await profileModel({ ...common, model: o.lm, batchSizes: [1, 2, 4, 8], inputs: (b) => loopWindow(random, turnLength, b) });
    const vad = await profileModel({ ...common, model: vadPath(), batchSizes: [1, 2, 4, 8, 16], inputs: (b) => vadBatch(random, b) });
    return { image, video, loop, chat: scaleProfile(step, CHAT_NEW_TOKENS), vad };
  } finally {
    await device.close();
  }
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
