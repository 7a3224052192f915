import type { Slo, ServiceSpec, LatencyProfile, Sensitivity } from '@epara/core';

/** Ids of the demo's five services. */
export type DemoServiceId = 'image' | 'chat' | 'video' | 'loop' | 'vad';

/** One service of the demo: what it runs, its SLO, and how clients use it. */
export interface DemoService {
  readonly id: DemoServiceId;
  /** What a reader sees in the tables. */
  readonly title: string;
  readonly sensitivity: Sensitivity;
  readonly slo: Slo;
  /** `request`: independent requests (Poisson); `stream`: sessions pushing frames at the SLO rate. */
  readonly traffic: 'request' | 'stream';
  /** Declared memory (weights with session overhead, and per item), bytes: what placement and bin-packing use. */
  readonly memory: ServiceSpec['memory'];
}

/** Side of an image request (PP-OCR detector input, pixels). */
export const IMAGE_SIDE = 160;
/** Side of a video frame: small so that a 2-core box keeps up with several streams. */
export const FRAME_SIDE = 96;
/** Tokens generated per chat turn. */
export const CHAT_NEW_TOKENS = 12;
/** Prompt lengths of chat turns (uniform, inclusive). */
export const CHAT_PROMPT = { min: 4, max: 12 } as const;
/** Token window of one device-loop step. */
export const LOOP_WINDOW = 16;

const MB = 1024 * 1024;

/** The service catalog (the same on every node and for both systems). */
export const DEMO_SERVICES: readonly DemoService[] = [
  {
    id: 'image',
    title: 'OCR detector, images',
    sensitivity: 'latency',
    slo: { kind: 'latency', deadlineMs: 300 },
    traffic: 'request',
    memory: { weightsBytes: 20 * MB, perItemBytes: 12 * MB },
  },
  {
    id: 'chat',
    title: 'tiny LM, chat turns',
    sensitivity: 'latency',
    slo: { kind: 'latency', deadlineMs: 800 },
    traffic: 'request',
    memory: { weightsBytes: 8 * MB, perItemBytes: 1 * MB },
  },
  {
    id: 'video',
    title: 'OCR detector, video',
    sensitivity: 'frequency',
    slo: { kind: 'frequency', rateHz: 10, stalenessMs: 250 },
    traffic: 'stream',
    memory: { weightsBytes: 20 * MB, perItemBytes: 3 * MB },
  },
  {
    id: 'loop',
    title: 'tiny LM, device loop',
    sensitivity: 'frequency',
    slo: { kind: 'frequency', rateHz: 20, stalenessMs: 100 },
    traffic: 'stream',
    memory: { weightsBytes: 8 * MB, perItemBytes: 1 * MB },
  },
  {
    id: 'vad',
    title: 'Silero VAD, audio',
    sensitivity: 'frequency',
    slo: { kind: 'frequency', rateHz: 31.25, stalenessMs: 100 },
    traffic: 'stream',
    memory: { weightsBytes: 6 * MB, perItemBytes: 0.1 * MB },
  },
];

/** Network time budgeted out of a latency deadline when no delay is configured (a loopback hop), ms. */
export const NETWORK_BUDGET_MS = 5;

/**
 * The core {@link ServiceSpec} of a demo service with its measured profile. A latency service budgets
 * `networkBudgetMs` of its deadline for the network (the demo passes one round trip over the slowest link:
 * one offload, or the baseline's one forwarded hop); both systems plan with the same specs.
 */
export function serviceSpec(s: DemoService, profile: LatencyProfile, networkBudgetMs: number = NETWORK_BUDGET_MS): ServiceSpec {
  return {
    id: s.id,
    sensitivity: s.sensitivity,
    slo: s.slo,
    memory: s.memory,
    profiles: { [profile.deviceKind]: profile },
    networkBudgetMs: s.sensitivity === 'latency' ? networkBudgetMs : 0,
    loadTimeMs: 200,
  };
}

/** Budget of one item of a service: its deadline or its staleness limit, ms. */
export function budgetOf(s: DemoService): number {
  return s.slo.kind === 'latency' ? s.slo.deadlineMs : s.slo.stalenessMs;
}
