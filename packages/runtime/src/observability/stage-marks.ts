import { performance } from 'node:perf_hooks';

/**
 * The stages of a request's way through the executor and its device, in order: `submit` (the executor's `submit`
 * called), `planned` (the scheduler launched its batch), `sent` (the batch stacked, about to be rung into the
 * doorbell or posted to the worker), `workerWoke` (the worker heard the ring or the message), `runStart` and
 * `runEnd` (the backend's run), `answered` (the answer written, about to wake the host or be posted), `hostWoke`
 * (the host heard it), `settled` (the request's promise resolved; its caller runs a few microtasks later).
 */
export const REQUEST_STAGES = ['submit', 'planned', 'sent', 'workerWoke', 'runStart', 'runEnd', 'answered', 'hostWoke', 'settled'] as const;
/** One of {@link REQUEST_STAGES}. */
export type RequestStage = (typeof REQUEST_STAGES)[number];

export const STAGE_SUBMIT = 0;
export const STAGE_PLANNED = 1;
export const STAGE_SENT = 2;
export const STAGE_WORKER_WOKE = 3;
export const STAGE_RUN_START = 4;
export const STAGE_RUN_END = 5;
export const STAGE_ANSWERED = 6;
export const STAGE_HOST_WOKE = 7;
export const STAGE_SETTLED = 8;

/** This thread's marks (undefined: not recording, each mark a test of one variable). */
let marks: Float64Array | undefined;

/**
 * Starts recording when each request reaches each stage (for benchmarks that send one request at a time): the
 * returned array holds, per stage of {@link REQUEST_STAGES} in order, the absolute time (ms, `performance.timeOrigin
 * + performance.now()`, comparable across threads) the last request reached it. It lies in shared memory, and the
 * workers of devices started from now on write their stages into it. Calling it again returns the same array.
 */
export function recordStageMarks(): Float64Array {
  marks ??= new Float64Array(new SharedArrayBuffer(REQUEST_STAGES.length * Float64Array.BYTES_PER_ELEMENT));
  return marks;
}

/** The shared memory a device worker started now writes its marks into (undefined when not recording). */
export function stageMarksMemory(): SharedArrayBuffer | undefined {
  return marks?.buffer as SharedArrayBuffer | undefined;
}

/** In a device worker: writes its marks into the host's `memory`. */
export function useStageMarks(memory: SharedArrayBuffer): void {
  marks = new Float64Array(memory);
}

/** Notes that the current request reached `stage` (one of the `STAGE_` indices), when recording. */
export function markStage(stage: number): void {
  if (marks !== undefined) marks[stage] = performance.timeOrigin + performance.now();
}
