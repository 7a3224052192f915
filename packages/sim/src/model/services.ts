import { createProfile, type LatencyProfile, type ServiceSpec } from '@epara/core';
import { DEVICE_KINDS } from './hardware.js';

/**
 * LLM timing: prefill per prompt token and decode per output token (a step costs `decodeFixedMs +
 * decodePerItemMs·batch`), with prompt and output lengths uniform in `mean·[1−spread, 1+spread]`.
 */
export interface LlmTiming {
  readonly prefillMsPerToken: number;
  readonly decodeFixedMs: number;
  readonly decodePerItemMs: number;
  readonly promptTokensMean: number;
  readonly outputTokensMean: number;
  /** @default 0.5 */
  readonly spread: number;
}

/** A service as the simulator sees it: the core spec plus payload sizes, LLM timing and stream shape. */
export interface SimService {
  readonly spec: ServiceSpec;
  /** Upload bytes of one request or frame. */
  readonly payloadBytes: number;
  /** Download bytes of one result. */
  readonly responseBytes: number;
  /** Reference (edge-gpu) affine latency of CV-style services: `fixedMs + perItemMs·b`. */
  readonly affine?: { readonly fixedMs: number; readonly perItemMs: number };
  /** Present for LLM services: per-request lengths drive the run time of every batch. */
  readonly llm?: LlmTiming;
  /** Mean length of one stream session (frequency services), ms. */
  readonly streamMeanMs?: number;
}

const BATCHES = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64];

/**
 * The profile a careful operator would measure for an LLM: batches of `b` requests with representative
 * length mixes, so the decode phase lasts as long as the longest output of the batch (expected maximum of
 * `b` uniform lengths: `mean·(1 − s + 2s·b/(b+1))`).
 */
export function llmProfileMs(t: LlmTiming, batch: number, slowdown = 1): number {
  const expectedMaxOut = t.outputTokensMean * (1 - t.spread + (2 * t.spread * batch) / (batch + 1));
  const prefill = batch * t.promptTokensMean * t.prefillMsPerToken;
  return slowdown * (prefill + expectedMaxOut * (t.decodeFixedMs + t.decodePerItemMs * batch));
}

function profilesFor(
  ms: (b: number, slowdown: number) => number,
  memoryNeed: number,
  kinds: readonly string[],
  splitKinds: readonly string[] = [],
): Record<string, LatencyProfile> {
  const out: Record<string, LatencyProfile> = {};
  for (const k of kinds) {
    const m = DEVICE_KINDS[k]!;
    // A model larger than one device keeps the whole-model profile on the kinds it may be split over.
    if (memoryNeed > m.memoryBytes && !splitKinds.includes(k)) continue;
    out[k] = createProfile(k, BATCHES.map((b) => ({ batch: b, ms: ms(b, m.slowdown) })));
  }
  return out;
}

const ALL_KINDS = Object.keys(DEVICE_KINDS);

function cv(
  base: Omit<ServiceSpec, 'profiles'>,
  affine: { fixedMs: number; perItemMs: number },
  extra: Omit<SimService, 'spec' | 'affine'>,
): SimService {
  const profiles = profilesFor((b, s) => s * (affine.fixedMs + affine.perItemMs * b), base.memory.weightsBytes + base.memory.perItemBytes, ALL_KINDS);
  return { spec: { ...base, profiles }, affine, ...extra };
}

function llm(base: Omit<ServiceSpec, 'profiles'>, timing: LlmTiming, extra: Omit<SimService, 'spec' | 'llm'>, splitKinds: readonly string[] = []): SimService {
  const profiles = profilesFor((b, s) => llmProfileMs(timing, b, s), base.memory.weightsBytes + base.memory.perItemBytes, ALL_KINDS, splitKinds);
  return { spec: { ...base, profiles }, llm: timing, ...extra };
}

/**
 * The built-in service catalog (the design's case studies, plus two multi-device services). Latencies are for the reference edge GPU;
 * other device kinds scale by their slowdown, and a kind whose memory cannot hold the model gets no profile.
 *
 * | id | category | model stand-in | SLO |
 * |---|---|---|---|
 * | `seg-image` | latency | YOLO-seg-m class, 640 px, `6 + 2.5·b` ms | 150 ms |
 * | `seg-video` | frequency | the same model on 15 fps streams | 15 Hz, 200 ms staleness |
 * | `llm-chat` | latency | 8B LLM, FP16, 1155-token prompts, 211-token answers (Azure trace means) | 20 s per turn |
 * | `hci` | frequency | 1B LLM, 48-token prompts, 6-token answers, 10 Hz device loop | 10 Hz, 300 ms |
 * | `classify` | latency | MobileNet-class classifier, `1.2 + 0.12·b` ms | 50 ms |
 * | `llm-large` | latency, memory-bound | 20B LLM, FP16 (40 GB: no edge device holds it), model parallel only | 30 s per turn |
 * | `stream-4k` | frequency, compute-bound | 4K detector, `4 + 40·b` ms (≤ 25 fps per GPU), 30 fps streams | 30 Hz, 250 ms |
 */
export const SERVICE_CATALOG: Readonly<Record<string, SimService>> = {
  'seg-image': cv(
    { id: 'seg-image', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 150 }, memory: { weightsBytes: 90e6, perItemBytes: 80e6 }, loadTimeMs: 1500, networkBudgetMs: 30 },
    { fixedMs: 6, perItemMs: 2.5 },
    { payloadBytes: 120_000, responseBytes: 20_000 },
  ),
  'seg-video': cv(
    { id: 'seg-video', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 15, stalenessMs: 200 }, memory: { weightsBytes: 90e6, perItemBytes: 80e6 }, loadTimeMs: 1500, networkBudgetMs: 20 },
    { fixedMs: 6, perItemMs: 2.5 },
    { payloadBytes: 40_000, responseBytes: 8_000, streamMeanMs: 60_000 },
  ),
  'llm-chat': llm(
    { id: 'llm-chat', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 20_000 }, memory: { weightsBytes: 16e9, perItemBytes: 60e6 }, loadTimeMs: 20_000, networkBudgetMs: 30 },
    // Mean lengths of the Azure LLM conversation trace (1155 prompt, 211 answer tokens): the lengths it is profiled with.
    { prefillMsPerToken: 0.12, decodeFixedMs: 18, decodePerItemMs: 0.35, promptTokensMean: 1155, outputTokensMean: 211, spread: 0.5 },
    { payloadBytes: 2_000, responseBytes: 1_000 },
  ),
  hci: llm(
    { id: 'hci', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 10, stalenessMs: 300 }, memory: { weightsBytes: 2.5e9, perItemBytes: 10e6 }, loadTimeMs: 4000, networkBudgetMs: 20 },
    { prefillMsPerToken: 0.02, decodeFixedMs: 5, decodePerItemMs: 0.08, promptTokensMean: 48, outputTokensMean: 6, spread: 0.5 },
    { payloadBytes: 512, responseBytes: 256, streamMeanMs: 120_000 },
  ),
  'llm-large': llm(
    { id: 'llm-large', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 30_000 }, memory: { weightsBytes: 40e9, perItemBytes: 100e6 }, loadTimeMs: 60_000, networkBudgetMs: 50 },
    // Decoding is memory-bound: one step streams the 40 GB of weights (~1 TB/s → ~45 ms per token).
    { prefillMsPerToken: 0.3, decodeFixedMs: 45, decodePerItemMs: 0.8, promptTokensMean: 1155, outputTokensMean: 211, spread: 0.5 },
    { payloadBytes: 2_000, responseBytes: 1_000 },
    ['edge-gpu'],
  ),
  'stream-4k': cv(
    { id: 'stream-4k', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 30, stalenessMs: 250 }, memory: { weightsBytes: 400e6, perItemBytes: 300e6 }, loadTimeMs: 3000, networkBudgetMs: 20 },
    { fixedMs: 4, perItemMs: 40 },
    { payloadBytes: 150_000, responseBytes: 10_000, streamMeanMs: 120_000 },
  ),
  classify: cv(
    { id: 'classify', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 50 }, memory: { weightsBytes: 20e6, perItemBytes: 8e6 }, loadTimeMs: 300, networkBudgetMs: 20 },
    { fixedMs: 1.2, perItemMs: 0.12 },
    { payloadBytes: 30_000, responseBytes: 200 },
  ),
};

/** Deadline (latency services) or staleness limit (frequency services) of a service, ms. */
export function serviceDeadlineMs(spec: ServiceSpec): number {
  return spec.slo.kind === 'latency' ? spec.slo.deadlineMs : spec.slo.stalenessMs;
}

/**
 * The same service judged per item: a frequency service turned into a latency one whose deadline is its
 * staleness limit. This is how the baselines and the "no categorization" ablation see streams.
 */
export function asLatencyService(service: SimService): SimService {
  if (service.spec.slo.kind === 'latency') return service;
  return { ...service, spec: { ...service.spec, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: service.spec.slo.stalenessMs } } };
}
