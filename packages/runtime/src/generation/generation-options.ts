import { invalidOption, systemClock, type Clock, type LatencyProfile } from '@epara/core';
import type { DeviceHandle, ModelSource } from '../devices/device-port.js';
import type { DeviceWorkQueue } from '../executor/device-work.js';
import { silentLogger, type Logger } from '@epara/core';

/** Options of {@link createGenerationEngine}. Defaults in {@link DEFAULT_GENERATION_OPTIONS}. */
export interface GenerationEngineOptions {
  /** Device that runs the language model. */
  readonly device: DeviceHandle;
  /**
   * Where the engine's steps queue for the device: the device's scheduler when other services share the
   * device (an executor passes it), so that steps and their batches are launched in one earliest-deadline
   * order and every estimate on the device sees the steps. @default steps run at once, in order
   */
  readonly workQueue?: DeviceWorkQueue;
  /**
   * A causal LM with inputs `input_ids`/`attention_mask` (int64 `[batch, seq]`) and `logits` `[batch, 1|seq, vocab]`;
   * optionally `position_ids`, KV caches (`past_key_values.N.key` → `present.N.key`, `past_key_N` → `present_key_N`)
   * and optimum's `use_cache_branch`.
   */
  readonly model: ModelSource;
  /** Sequences decoded together in one step. */
  readonly maxBatch: number;
  /** Longest sequence (prompt plus new tokens) the model accepts. */
  readonly maxSeq: number;
  /** Token that ends a sequence (it is streamed, then the sequence leaves). @default none */
  readonly eosToken?: number;
  /** Default time-to-first-token SLO of a request, ms. @default none (no TTFT check) */
  readonly ttftMs?: number;
  /** Default time-per-output-token SLO, ms: a step may not take longer for any member of the batch. @default none */
  readonly tpotMs?: number;
  /** Measured step latency against tokens per step (batch × padded length). Omitted: calibrated at start, then learned. */
  readonly stepProfile?: LatencyProfile;
  /** Run two calibration steps at start (1 × 8 and maxBatch × maxSeq tokens) to seed the latency estimate. @default true */
  readonly calibrate?: boolean;
  /** Requests allowed to wait beyond the free slots; beyond, `generate` fails with `OVERLOADED`. @default 64 */
  readonly maxWaiting?: number;
  /** Token id used for left padding. @default 0 */
  readonly padToken?: number;
  /** Model key on the device. @default a unique `generation-<n>` */
  readonly key?: string;
  /** Intra-op threads of the session. @default the device's */
  readonly threads?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /** pino-compatible logger. @default silent */
  readonly logger?: Logger;
}

/** Defaults of {@link GenerationEngineOptions}. */
export const DEFAULT_GENERATION_OPTIONS = { calibrate: true, maxWaiting: 64, padToken: 0 } as const;

/** {@link GenerationEngineOptions} with defaults filled in. */
export interface ResolvedGenerationOptions {
  readonly device: DeviceHandle;
  readonly workQueue: DeviceWorkQueue | undefined;
  readonly model: ModelSource;
  readonly maxBatch: number;
  readonly maxSeq: number;
  readonly eosToken: number | undefined;
  readonly ttftMs: number | undefined;
  readonly tpotMs: number | undefined;
  readonly stepProfile: LatencyProfile | undefined;
  readonly calibrate: boolean;
  readonly maxWaiting: number;
  readonly padToken: number;
  readonly key: string | undefined;
  readonly threads: number | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Validates and fills {@link GenerationEngineOptions}.
 * @throws EparaError `INVALID_OPTIONS` naming the field and value.
 */
export function resolveGenerationOptions(options: GenerationEngineOptions): ResolvedGenerationOptions {
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  const o = options;
  if (typeof o.device?.run !== 'function') invalidOption('device', o.device, 'a DeviceHandle');
  const m = o.model as { path?: unknown; bytes?: unknown } | undefined;
  if (typeof m?.path !== 'string' && !(m?.bytes instanceof Uint8Array)) invalidOption('model', m, '{ path } or { bytes }');
  const int = (field: string, v: unknown, min: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) invalidOption(field, v, `an integer ≥ ${min}`);
    return v;
  };
  const optMs = (field: string, v: unknown): number | undefined => {
    if (v !== undefined && (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))) invalidOption(field, v, 'a positive finite number of ms');
    return v as number | undefined;
  };
  if (o.workQueue !== undefined && (typeof o.workQueue?.enqueueWork !== 'function' || typeof o.workQueue.freeAt !== 'function')) invalidOption('workQueue', o.workQueue, 'a DeviceWorkQueue');
  if (o.key !== undefined && (typeof o.key !== 'string' || o.key === '')) invalidOption('key', o.key, 'a non-empty string');
  return {
    device: o.device,
    workQueue: o.workQueue,
    model: o.model,
    maxBatch: int('maxBatch', o.maxBatch, 1),
    maxSeq: int('maxSeq', o.maxSeq, 2),
    eosToken: o.eosToken === undefined ? undefined : int('eosToken', o.eosToken, 0),
    ttftMs: optMs('ttftMs', o.ttftMs),
    tpotMs: optMs('tpotMs', o.tpotMs),
    stepProfile: o.stepProfile,
    calibrate: o.calibrate ?? DEFAULT_GENERATION_OPTIONS.calibrate,
    maxWaiting: int('maxWaiting', o.maxWaiting ?? DEFAULT_GENERATION_OPTIONS.maxWaiting, 0),
    padToken: int('padToken', o.padToken ?? DEFAULT_GENERATION_OPTIONS.padToken, 0),
    key: o.key,
    threads: o.threads === undefined ? undefined : int('threads', o.threads, 1),
    clock: o.clock ?? systemClock,
    logger: o.logger ?? silentLogger,
  };
}
