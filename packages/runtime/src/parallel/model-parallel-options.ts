import { invalidOption, systemClock, type Clock, type LatencyProfile } from '@epara/core';
import type { DeviceHandle, ModelSource } from '../devices/device-port.js';
import { silentLogger, type Logger } from '@epara/core';

/** One stage of a pipeline: the device it runs on and its stage model (see `splitModel`). */
export interface PipelineStage {
  readonly device: DeviceHandle;
  readonly model: ModelSource;
  /** Measured latency of this stage against batch size. Omitted: learned from the runs. */
  readonly profile?: LatencyProfile;
}

/** Options of {@link createPipelineEngine}. Defaults in {@link DEFAULT_PIPELINE_OPTIONS}. */
export interface PipelineEngineOptions {
  /** Stages in order; stage `i + 1` reads what stage `i` (or an earlier one, or the request) provides. */
  readonly stages: readonly PipelineStage[];
  /** Largest batch (in rows) launched into the pipeline. */
  readonly batchSize: number;
  /** Model key prefix on the devices. @default 'pipeline' */
  readonly key?: string;
  /** Time source for deadlines and events. @default systemClock */
  readonly clock?: Clock;
  /** Safety margin before a deadline when deciding to launch a partial batch, ms. @default 1 */
  readonly guardMs?: number;
  /** Queued requests beyond which `submit` rejects with `OVERLOADED`. @default 1024 */
  readonly maxQueue?: number;
  /** Batches inside the pipeline at once (bounds memory). @default 2 · stages + 1 (two per stage device, one forming) */
  readonly maxInFlightBatches?: number;
  /** Launch a partial batch as soon as stage 0 idles instead of waiting until the earliest deadline forces it. @default false */
  readonly launchWhenIdle?: boolean;
  /**
   * How stages hand values to each other. `direct`: each stage's worker sends them to the next stage's
   * worker over a `MessageChannel` (the host sees only the request inputs and the returned outputs), when
   * every stage device supports it (devices from `createDevice` do; others fall back to `host`). `host`: the
   * values come back to the host and go out again to the next device. @default 'direct'
   */
  readonly handoff?: 'direct' | 'host';
  /** Names of the outputs returned per item. @default the stages' outputs that no later stage reads */
  readonly outputNames?: readonly string[];
  /** Intra-op threads of each stage session. @default the device's */
  readonly threads?: number;
  /**
   * Largest answer one request may get, bytes (all its outputs together; a batch of `n` may take `n` times it),
   * checked in the last stage's worker before the outputs reach the host: above it the batch fails `OUT_OF_MEMORY`
   * (`details.reason: 'response-too-large'`). Values stages hand each other are not limited. @default no limit
   */
  readonly maxResponseBytes?: number;
  /** pino-compatible logger. @default silent */
  readonly logger?: Logger;
}

/** Defaults of {@link PipelineEngineOptions}. */
export const DEFAULT_PIPELINE_OPTIONS = { key: 'pipeline', guardMs: 1, maxQueue: 1024, launchWhenIdle: false, handoff: 'direct' } as const;

/** {@link PipelineEngineOptions} with defaults filled in. */
export interface ResolvedPipelineOptions {
  readonly stages: readonly PipelineStage[];
  readonly batchSize: number;
  readonly key: string;
  readonly clock: Clock;
  readonly guardMs: number;
  readonly maxQueue: number;
  readonly maxInFlightBatches: number;
  readonly launchWhenIdle: boolean;
  readonly handoff: 'direct' | 'host';
  readonly outputNames: readonly string[] | undefined;
  readonly threads: number | undefined;
  readonly maxResponseBytes: number | undefined;
  readonly logger: Logger;
}

/**
 * Validates and fills {@link PipelineEngineOptions}.
 * @throws EparaError `INVALID_OPTIONS` naming the field and value.
 */
export function resolvePipelineOptions(options: PipelineEngineOptions): ResolvedPipelineOptions {
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  const o = options;
  if (!Array.isArray(o.stages) || o.stages.length === 0) invalidOption('stages', o.stages, 'a non-empty array');
  o.stages.forEach((s, i) => {
    if (typeof s?.device?.run !== 'function') invalidOption(`stages[${i}].device`, s?.device, 'a DeviceHandle');
    const m = s.model as { path?: unknown; bytes?: unknown } | undefined;
    if (typeof m?.path !== 'string' && !(m?.bytes instanceof Uint8Array)) invalidOption(`stages[${i}].model`, m, '{ path } or { bytes }');
  });
  const positiveInt = (field: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) invalidOption(field, v, 'a positive integer');
    return v;
  };
  if (o.launchWhenIdle !== undefined && typeof o.launchWhenIdle !== 'boolean') invalidOption('launchWhenIdle', o.launchWhenIdle, 'a boolean');
  const guardMs = o.guardMs ?? DEFAULT_PIPELINE_OPTIONS.guardMs;
  if (!(guardMs >= 0) || !Number.isFinite(guardMs)) invalidOption('guardMs', guardMs, 'a finite number ≥ 0');
  if (o.outputNames !== undefined && (!Array.isArray(o.outputNames) || o.outputNames.some((n) => typeof n !== 'string'))) {
    invalidOption('outputNames', o.outputNames, 'an array of strings');
  }
  const handoff = o.handoff ?? DEFAULT_PIPELINE_OPTIONS.handoff;
  if (handoff !== 'direct' && handoff !== 'host') invalidOption('handoff', handoff, "'direct' or 'host'");
  const limit = o.maxResponseBytes;
  if (limit !== undefined && (typeof limit !== 'number' || !(limit > 0))) invalidOption('maxResponseBytes', limit, 'a positive number of bytes');
  const key = o.key ?? DEFAULT_PIPELINE_OPTIONS.key;
  if (typeof key !== 'string' || key === '') invalidOption('key', key, 'a non-empty string');
  return {
    stages: o.stages,
    batchSize: positiveInt('batchSize', o.batchSize),
    key,
    clock: o.clock ?? systemClock,
    guardMs,
    maxQueue: positiveInt('maxQueue', o.maxQueue ?? DEFAULT_PIPELINE_OPTIONS.maxQueue),
    maxInFlightBatches: positiveInt('maxInFlightBatches', o.maxInFlightBatches ?? 2 * o.stages.length + 1),
    launchWhenIdle: o.launchWhenIdle ?? DEFAULT_PIPELINE_OPTIONS.launchWhenIdle,
    handoff,
    outputNames: o.outputNames,
    threads: o.threads === undefined ? undefined : positiveInt('threads', o.threads),
    maxResponseBytes: limit,
    logger: o.logger ?? silentLogger,
  };
}
