/* How one generation iteration runs: the port both runners implement (the factory is in step-runner.ts). */
import type { NamedTensors } from '@epara/core';
import type { DeviceHandle, LoadedModelInfo } from '../devices/device-port.js';
import type { Sequence } from './generation-request.js';

/** Result of one iteration: the next token of every sequence that advanced, and the work it took. */
export interface StepResult {
  readonly tokens: ReadonlyMap<Sequence, number>;
  /** Work units of the call (rows × input length), the key of the step-latency estimate. */
  readonly work: number;
  /** Padded input length of the call. */
  readonly seqLen: number;
  /** Compute time the device reported for the call, ms (messaging and queueing excluded), when it does. */
  readonly computeMs?: number;
}

/**
 * How one generation iteration runs on the device. `recompute`: every step feeds every active sequence in
 * full (no cache). `kv`: sequences that just joined are prefilled (their prompt, in one call), otherwise one
 * decode call feeds each active sequence's last token with its cached keys and values.
 */
export interface StepRunner {
  readonly kind: 'recompute' | 'kv';
  /** Runs one iteration over the batch; `joined` are the members that entered it since the last iteration. */
  run(members: readonly Sequence[], joined: readonly Sequence[]): Promise<StepResult>;
  /** Forgets a sequence's state (it left the batch). */
  release(seq: Sequence): void;
  /** Work units of the next {@link StepRunner.run} over `members` (`joined` just entered): its latency key. */
  workOf(members: readonly Sequence[], joined: readonly Sequence[]): number;
  /** Work units of a step with `batch` sequences of length `length` (and of a prefill of `length` tokens). */
  stepWork(batch: number, length: number): number;
  prefillWork(promptTokens: number): number;
  /** Representative calls to time at start: small and large. */
  calibrationCalls(maxBatch: number, maxSeq: number): { readonly work: number; readonly feeds: NamedTensors }[];
}

/** Context a runner needs. */
export interface StepRunnerContext {
  readonly device: DeviceHandle;
  readonly key: string;
  readonly padToken: number;
  readonly info: LoadedModelInfo;
}
