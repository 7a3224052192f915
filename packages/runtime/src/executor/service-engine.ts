import type { AbortSignalLike, NamedTensors } from '@epara/core';

/** Options of one engine submission (already validated and resolved by the executor). */
export interface EngineSubmitOptions {
  /** Absolute deadline, executor clock ms. */
  readonly deadline: number;
  /** Higher first among equal deadlines. */
  readonly priority: number;
  /**
   * The caller's abort signal, as the host passed it: a platform `AbortSignal` or any `AbortSignalLike`
   * (the gateway passes a light one-shot signal). Use only `aborted`, `reason` and the `abort` listener.
   */
  readonly signal?: AbortSignalLike;
}

/**
 * A service implementation that is not a plain batched model: a model-parallel pipeline or a generation
 * (language model) service. The executor validates the service id and the options, then hands the request to
 * its engine; engines run their work on the executor's {@link DeviceHandle}s.
 */
export interface ServiceEngine {
  /** Runs one item; rejects with an `EparaError` (`DEADLINE_EXCEEDED`, `ABORTED`, `MODEL_ERROR`, …). */
  submit(inputs: NamedTensors, options: EngineSubmitOptions): Promise<NamedTensors>;
  /** Expected completion time (executor clock ms) of a request submitted at `now`. */
  estimate(now: number): number;
  /** Settles everything in flight and frees the engine's models. Idempotent. */
  close(): Promise<void>;
}
