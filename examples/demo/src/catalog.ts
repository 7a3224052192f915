import type { Slo, Sensitivity } from '@epara/core';

/** Ids of the demo's five services. */
export type DemoServiceId = 'image' | 'chat' | 'video' | 'loop' | 'vad';

/**
 * What the demo's clients, tables and baseline read of a service: the part of a `DemoService` (declared once,
 * in `services.ts`) that child processes which only replay, tally or relay receive over IPC.
 */
export interface DemoServiceInfo {
  readonly id: DemoServiceId;
  /** What a reader sees in the tables. */
  readonly title: string;
  readonly sensitivity: Sensitivity;
  readonly slo: Slo;
  /** `request`: independent requests (Poisson); `stream`: sessions pushing frames at the SLO rate. */
  readonly traffic: 'request' | 'stream';
}

/** The {@link DemoServiceInfo} part of a service (what crosses to the client and baseline processes). */
export function serviceInfo(s: DemoServiceInfo): DemoServiceInfo {
  return { id: s.id, title: s.title, sensitivity: s.sensitivity, slo: s.slo, traffic: s.traffic };
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

/** Sequences a chat instance decodes together (iteration-level batching; the baseline's engine uses the same cap). */
export const CHAT_MAX_BATCH = 8;

/** Budget of one item of a service: its deadline or its staleness limit, ms. */
export function budgetOf(s: Pick<DemoServiceInfo, 'slo'>): number {
  return s.slo.kind === 'latency' ? s.slo.deadlineMs : s.slo.stalenessMs;
}
