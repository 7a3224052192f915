import { invalidOption, type Clock } from '@epara/core';
import { silentLogger, type Logger } from '@epara/core';
import { createSystemTimers, type Timers } from '@epara/core';
import { hrClock } from './hr-clock.js';
import type { BackendSpec } from '../devices/backend.js';
import { isStaged } from './builtin-engines.js';
import { withRenamedDeviceFields } from '../devices/renamed-device-fields.js';
import { resolveStreamPackPricing, type StreamPackPricing } from './stream-pack-pricing.js';
import { resolveStreamPackForming, type StreamPackForming } from '../streams/stream-pack-forming.js';
import {
  DEFAULT_EXECUTOR_OPTIONS,
  type ExecutorDeviceOptions,
  type ExecutorOptions,
  type ExecutorServiceOptions,
} from './executor-options.js';

/** {@link ExecutorOptions} with defaults filled in. */
export interface ResolvedExecutorOptions {
  readonly devices: readonly (ExecutorDeviceOptions & { readonly deviceKind: string })[];
  readonly services: readonly ExecutorServiceOptions[];
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly guardMs: number;
  readonly hostDelayQuantile: number;
  readonly hostCores: number;
  readonly launchWhenIdle: boolean;
  readonly skipShrinkingHead: boolean;
  readonly adaptLatency: boolean;
  readonly streamPackPricing: StreamPackPricing;
  readonly streamPackForming: StreamPackForming;
  readonly batchWait: 'expected-fill' | 'until-deadline';
  readonly maxQueue: number;
  readonly profiling: { readonly warmup: number; readonly repetitions: number; readonly warmShapesMs: number };
  readonly backend: BackendSpec;
  readonly maxRestarts: number;
  readonly maxResponseBytes: number;
}

/**
 * Fills defaults and validates executor options once.
 * @throws EparaError `INVALID_OPTIONS` quoting the field and the value.
 */
export function resolveExecutorOptions(options: ExecutorOptions): ResolvedExecutorOptions {
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  if (!Array.isArray(options.devices) || options.devices.length === 0) invalidOption('devices', options.devices, 'a non-empty array');
  const ids = new Set<string>();
  const devices = options.devices.map((given, i) => {
    const d = typeof given === 'object' && given !== null ? withRenamedDeviceFields(given, `devices[${i}]`) : given;
    if (typeof d?.id !== 'string' || d.id === '') invalidOption(`devices[${i}].id`, d?.id, 'a non-empty string');
    if (ids.has(d.id)) invalidOption(`devices[${i}].id`, d.id, 'unique');
    ids.add(d.id);
    const provider = d.provider ?? 'cpu';
    const threads = d.threads ?? 1;
    return { ...d, deviceKind: d.deviceKind ?? `${provider}-${threads}t` };
  });
  const services = options.services ?? [];
  if (!Array.isArray(services)) invalidOption('services', services, 'an array');
  const serviceIds = new Set<string>();
  services.forEach((s, i) => {
    validateService(s, `services[${i}]`, ids);
    if (serviceIds.has(s.id)) invalidOption(`services[${i}].id`, s.id, 'unique');
    serviceIds.add(s.id);
  });
  const clock = options.clock ?? hrClock;
  if (typeof clock?.now !== 'function') invalidOption('clock', clock, 'a Clock');
  const guardMs = options.guardMs ?? DEFAULT_EXECUTOR_OPTIONS.guardMs;
  if (!(guardMs >= 0) || !Number.isFinite(guardMs)) invalidOption('guardMs', guardMs, 'a finite number >= 0');
  const hostDelayQuantile = options.hostDelayQuantile ?? DEFAULT_EXECUTOR_OPTIONS.hostDelayQuantile;
  if (typeof hostDelayQuantile !== 'number' || !(hostDelayQuantile >= 0 && hostDelayQuantile <= 1)) invalidOption('hostDelayQuantile', hostDelayQuantile, 'a number in [0, 1]');
  const hostCores = options.hostCores ?? DEFAULT_EXECUTOR_OPTIONS.hostCores;
  if (!Number.isInteger(hostCores) || hostCores < 0) invalidOption('hostCores', hostCores, 'a non-negative integer');
  const maxQueue = options.maxQueue ?? DEFAULT_EXECUTOR_OPTIONS.maxQueue;
  if (!Number.isInteger(maxQueue) || maxQueue < 1) invalidOption('maxQueue', maxQueue, 'a positive integer');
  const warmup = options.profiling?.warmup ?? DEFAULT_EXECUTOR_OPTIONS.profiling.warmup;
  const repetitions = options.profiling?.repetitions ?? DEFAULT_EXECUTOR_OPTIONS.profiling.repetitions;
  if (!Number.isInteger(warmup) || warmup < 0) invalidOption('profiling.warmup', warmup, 'an integer >= 0');
  if (!Number.isInteger(repetitions) || repetitions < 1) invalidOption('profiling.repetitions', repetitions, 'a positive integer');
  const backend = options.backend ?? { kind: 'ort' };
  // The fake backend has no cold shapes to warm: its tests keep their loads short.
  const warmShapesMs = options.profiling?.warmShapesMs ?? (backend.kind === 'fake' ? 0 : DEFAULT_EXECUTOR_OPTIONS.profiling.warmShapesMs);
  if (!(warmShapesMs >= 0) || !Number.isFinite(warmShapesMs)) invalidOption('profiling.warmShapesMs', warmShapesMs, 'a finite number >= 0');
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_EXECUTOR_OPTIONS.maxResponseBytes;
  if (typeof maxResponseBytes !== 'number' || !(maxResponseBytes > 0)) invalidOption('maxResponseBytes', maxResponseBytes, 'a positive number of bytes');
  return {
    devices,
    services,
    clock,
    timers: options.timers ?? createSystemTimers(clock),
    logger: options.logger ?? silentLogger,
    guardMs,
    hostDelayQuantile,
    hostCores,
    launchWhenIdle: options.launchWhenIdle ?? DEFAULT_EXECUTOR_OPTIONS.launchWhenIdle,
    skipShrinkingHead: resolveSkipShrinkingHead(options.skipShrinkingHead),
    adaptLatency: options.adaptLatency ?? true,
    streamPackPricing: resolveStreamPackPricing(options.streamPackPricing),
    streamPackForming: resolveStreamPackForming(options.streamPackForming),
    batchWait: resolveBatchWait(options.batchWait),
    maxQueue,
    profiling: { warmup, repetitions, warmShapesMs },
    backend,
    maxRestarts: options.maxRestarts ?? 5,
    maxResponseBytes,
  };
}

/**
 * Validates one service definition.
 * @throws EparaError `INVALID_OPTIONS`.
 */
export function validateService(s: ExecutorServiceOptions, field: string, deviceIds: ReadonlySet<string>): void {
  if (typeof s !== 'object' || s === null) invalidOption(field, s, 'an object');
  if (typeof s.id !== 'string' || s.id === '') invalidOption(`${field}.id`, s.id, 'a non-empty string');
  const single = typeof s.model === 'string' || s.model instanceof Uint8Array;
  const staged = isStaged(s.model);
  if (!single && !staged && typeof s.engine !== 'function') {
    invalidOption(`${field}.model`, s.model, 'a file path, ONNX bytes or { stages } (or an engine factory)');
  }
  if (staged) {
    if (s.model.stages.length === 0) invalidOption(`${field}.model.stages`, s.model.stages, 'a non-empty array');
    s.model.stages.forEach((m, i) => {
      if (typeof m !== 'string' && !(m instanceof Uint8Array)) invalidOption(`${field}.model.stages[${i}]`, m, 'a file path or ONNX bytes');
    });
  }
  if (s.generation !== undefined && !single) invalidOption(`${field}.model`, s.model, 'a single causal LM (path or bytes) for a generation service');
  if (s.sensitivity !== 'latency' && s.sensitivity !== 'frequency') invalidOption(`${field}.sensitivity`, s.sensitivity, "'latency' or 'frequency'");
  const slo = s.slo;
  if (slo?.kind === 'latency') {
    if (!(slo.deadlineMs > 0)) invalidOption(`${field}.slo.deadlineMs`, slo.deadlineMs, 'a positive number');
  } else if (slo?.kind === 'frequency') {
    if (!(slo.rateHz > 0)) invalidOption(`${field}.slo.rateHz`, slo.rateHz, 'a positive number');
    if (!(slo.stalenessMs > 0)) invalidOption(`${field}.slo.stalenessMs`, slo.stalenessMs, 'a positive number');
  } else invalidOption(`${field}.slo`, slo, "an SLO of kind 'latency' or 'frequency'");
  if (s.networkBudgetMs !== undefined) {
    // The budget is taken off the SLO before batching decisions; one that eats the whole SLO leaves no time to run.
    const limit = slo.kind === 'latency' ? slo.deadlineMs : slo.stalenessMs;
    if (!(s.networkBudgetMs >= 0 && s.networkBudgetMs < limit)) {
      invalidOption(`${field}.networkBudgetMs`, s.networkBudgetMs, `a number >= 0 and less than the SLO's ${limit} ms`);
    }
  }
  for (const [i, d] of (s.devices ?? []).entries()) {
    if (!deviceIds.has(d)) invalidOption(`${field}.devices[${i}]`, d, `one of the executor's device ids (${[...deviceIds].join(', ')})`);
  }
  if (s.memoryBytes !== undefined && !(s.memoryBytes >= 0)) invalidOption(`${field}.memoryBytes`, s.memoryBytes, 'a number >= 0');
  if (s.batchable !== undefined && typeof s.batchable !== 'boolean') invalidOption(`${field}.batchable`, s.batchable, 'a boolean');
  if (s.maxBatch !== undefined && !(Number.isInteger(s.maxBatch) && s.maxBatch >= 1)) invalidOption(`${field}.maxBatch`, s.maxBatch, 'a positive integer');
  if (s.maxRequestBytes !== undefined && !(s.maxRequestBytes > 0)) invalidOption(`${field}.maxRequestBytes`, s.maxRequestBytes, 'a positive number of bytes');
  if (s.maxResponseBytes !== undefined && (typeof s.maxResponseBytes !== 'number' || !(s.maxResponseBytes > 0))) invalidOption(`${field}.maxResponseBytes`, s.maxResponseBytes, 'a positive number of bytes');
  if (s.plan?.batchSize !== undefined && !(Number.isInteger(s.plan.batchSize) && s.plan.batchSize >= 1)) {
    invalidOption(`${field}.plan.batchSize`, s.plan.batchSize, 'a positive integer');
  }
}

function resolveBatchWait(v: unknown): 'expected-fill' | 'until-deadline' {
  if (v === undefined) return 'expected-fill';
  if (v !== 'expected-fill' && v !== 'until-deadline') invalidOption('batchWait', v, "'expected-fill' or 'until-deadline'");
  return v;
}

function resolveSkipShrinkingHead(v: unknown): boolean {
  if (v === undefined) return DEFAULT_EXECUTOR_OPTIONS.skipShrinkingHead;
  if (typeof v !== 'boolean') invalidOption('skipShrinkingHead', v, 'a boolean');
  return v;
}
