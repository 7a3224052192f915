import { EparaError, fitProfile, invalidOption, type Clock, type LatencyProfile, type NamedTensors, type ProfileSample } from '@epara/core';
import { checkSignal } from '@epara/core/internal';
import { createDevice, type DeviceHandle, type DeviceOptions } from '../devices/device-handle.js';
import type { LoadedModelInfo } from '../devices/device-port.js';
import { carried, what } from '../executor/servable-io.js';
import { measureLatencies } from './measure-latencies.js';
import { resolveIoSpec, type IoSpec } from '../executor/io-spec.js';
import { refuseOversizedItem } from '../tensors/item-shapes.js';
import { DEFAULT_MAX_REQUEST_BYTES } from '../batching/input-cost.js';

/** Options of {@link profileModel}. Defaults in {@link DEFAULT_PROFILE_OPTIONS}. */
export interface ProfileModelOptions {
  /** ONNX file path or bytes. */
  readonly model: string | Uint8Array;
  /** A device to measure on (left open), or options for a temporary one. @default { id: 'profiler', threads: 1 } */
  readonly device?: DeviceHandle | DeviceOptions;
  /** Batch sizes to measure. @default [1, 2, 4, 8, 16, 32] */
  readonly batchSizes?: readonly number[];
  /** Untimed runs per batch size. @default 3 */
  readonly warmup?: number;
  /** Timed runs per batch size (the median is kept). @default 10 */
  readonly repetitions?: number;
  /** Inputs of a batch of `batch` items; called for every run (buffers are transferred to the worker). */
  readonly inputs: (batch: number) => NamedTensors;
  /** Profile key. @default `${provider}-${threads}t` of the device */
  readonly deviceKind?: string;
  readonly signal?: AbortSignal;
  /** Progress callback: runs done, runs in total, the last sample. */
  readonly onProgress?: (done: number, total: number, sample: ProfileSample) => void;
  /**
   * What each run is timed with, ms (from the run's dispatch to its outputs on this thread). A test passes a
   * manual clock that its fake device moves, so the profile is a pure function of what the device reports.
   * @default `performance.now()`
   */
  readonly clock?: Clock;
  /**
   * Bytes one item may hold at most, as a service's `maxRequestBytes`: a model whose declared dims alone make an
   * item larger (`[N, 1048576, 4096]` float32 is 16 GiB) is refused `LOAD_FAILED` before `inputs` is asked for
   * anything, as the executor refuses it at load. @default 128 MiB (the executor's default)
   */
  readonly maxRequestBytes?: number;
}

/** Defaults of {@link ProfileModelOptions}. */
export const DEFAULT_PROFILE_OPTIONS = { batchSizes: [1, 2, 4, 8, 16, 32], warmup: 3, repetitions: 10 } as const;

/**
 * Measures a model's latency against batch size on one device (warm-up, repetitions, median per batch) and
 * returns core's `LatencyProfile`, ready for `allocate` or an executor service's `profile`. A model with outputs
 * that are not tensors (an sklearn classifier's ZipMap) is measured fetching its tensor outputs, as a service
 * that lists them in `outputNames` runs it.
 *
 * @throws EparaError `INVALID_OPTIONS`, `LOAD_FAILED` (also for an input that is not a tensor, no output that is
 * one, or one item larger than `maxRequestBytes`), `MODEL_ERROR`, `ABORTED`.
 * @example
 * ```ts
 * const profile = await profileModel({
 *   model: 'cls.onnx',
 *   batchSizes: [1, 2, 4, 8],
 *   inputs: (b) => ({ x: { type: 'float32', dims: [b, 3, 48, 192], data: new Float32Array(b * 3 * 48 * 192) } }),
 * });
 * ```
 */
export async function profileModel(options: ProfileModelOptions): Promise<LatencyProfile> {
  const o = resolveProfileOptions(options);
  const owned = !isHandle(options.device);
  const device = isHandle(options.device) ? options.device : createDevice(options.device ?? { id: 'profiler', threads: 1 });
  const key = `profile-${Math.random().toString(36).slice(2)}`;
  try {
    const source = typeof options.model === 'string' ? { path: options.model } : { bytes: options.model };
    const info = await device.loadModel(key, source, options.signal ? { signal: options.signal } : {});
    const outputNames = tensorOutputs(info);
    const io = readIo(info, outputNames);
    if (io !== undefined) refuseOversizedItem('profile', io, o.maxRequestBytes, 'profileModel');
    const total = o.batchSizes.length * o.repetitions;
    let done = 0;
    const samples = await measureLatencies({
      device,
      modelKey: key,
      batchSizes: o.batchSizes,
      inputs: options.inputs,
      warmup: o.warmup,
      repetitions: o.repetitions,
      ...(outputNames ? { outputNames } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onSample: (s) => options.onProgress?.(++done, total, s),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    return fitProfile(options.deviceKind ?? `${device.provider}-${device.threads}t`, samples);
  } finally {
    if (owned) await device.close();
    else await device.unloadModel(key).catch(() => undefined);
  }
}

/**
 * The outputs a run fetches: every one (`undefined`) when all are tensors, else the tensors — those a served
 * request can get (a ZipMap's sequence of maps is neither returned by onnxruntime-node nor served).
 *
 * @throws EparaError `LOAD_FAILED` naming an input that is not a tensor (no run could feed it), or when no output is one.
 */
export function tensorOutputs(info: LoadedModelInfo): string[] | undefined {
  for (const i of info.inputs) if (!carried(i)) throw new EparaError('LOAD_FAILED', `profileModel: input '${i.name}' is ${what(i)}, which onnxruntime-node cannot feed`, { input: i.name });
  if (info.outputs.every(carried)) return undefined;
  const tensors = info.outputs.filter(carried).map((v) => v.name);
  if (tensors.length === 0) throw new EparaError('LOAD_FAILED', `profileModel: no output is a tensor EPARA carries (${info.outputs.map((v) => `'${v.name}' is ${what(v)}`).join(', ')}), and onnxruntime-node returns nothing else`, {});
  return tensors;
}

/**
 * The model's inputs as the executor reads them (batch axes, free dims), for the item-size check; `undefined` for a
 * model the executor's reading refuses (profiled as before: the caller's inputs say what a run takes).
 */
function readIo(info: LoadedModelInfo, outputNames: string[] | undefined): IoSpec | undefined {
  try {
    return resolveIoSpec(info, { id: 'profile', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 1 }, ...(outputNames ? { outputNames } : {}) });
  } catch {
    return undefined;
  }
}

function isHandle(d: ProfileModelOptions['device']): d is DeviceHandle {
  return typeof d === 'object' && d !== null && typeof (d as DeviceHandle).run === 'function';
}

function resolveProfileOptions(o: ProfileModelOptions): { batchSizes: readonly number[]; warmup: number; repetitions: number; maxRequestBytes: number } {
  if (typeof o !== 'object' || o === null) invalidOption('options', o, 'an object');
  if (typeof o.model !== 'string' && !(o.model instanceof Uint8Array)) invalidOption('model', o.model, 'a file path or ONNX bytes');
  checkSignal(o.signal);
  if (o.clock !== undefined && (typeof o.clock !== 'object' || o.clock === null || typeof o.clock.now !== 'function')) invalidOption('clock', o.clock, 'a Clock ({ now(): number })');
  if (typeof o.inputs !== 'function') invalidOption('inputs', o.inputs, 'a function (batch) => NamedTensors');
  const batchSizes = o.batchSizes ?? DEFAULT_PROFILE_OPTIONS.batchSizes;
  if (!Array.isArray(batchSizes) || batchSizes.length === 0 || !batchSizes.every((b) => Number.isInteger(b) && b >= 1)) {
    invalidOption('batchSizes', batchSizes, 'a non-empty array of positive integers');
  }
  const warmup = o.warmup ?? DEFAULT_PROFILE_OPTIONS.warmup;
  if (!Number.isInteger(warmup) || warmup < 0) invalidOption('warmup', warmup, 'an integer >= 0');
  const repetitions = o.repetitions ?? DEFAULT_PROFILE_OPTIONS.repetitions;
  if (!Number.isInteger(repetitions) || repetitions < 1) invalidOption('repetitions', repetitions, 'a positive integer');
  const maxRequestBytes = o.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  if (typeof maxRequestBytes !== 'number' || !(maxRequestBytes > 0)) invalidOption('maxRequestBytes', maxRequestBytes, 'a positive number of bytes');
  return { batchSizes: [...new Set(batchSizes)].sort((a, b) => a - b), warmup, repetitions, maxRequestBytes };
}
