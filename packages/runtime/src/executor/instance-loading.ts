import { fitProfile, isEparaError, type LatencyProfile, type NamedTensors } from '@epara/core';
import type { DeviceHandle } from '../devices/device-port.js';
import type { KnownOutput } from '../devices/slab-outputs.js';
import { defaultBatchSizes, measureLatencies } from '../profiling/measure-latencies.js';
import { BatchingDecision } from './batching-decision.js';
import type { ModelInstanceContext } from './instance-context.js';
import { resolveIoSpec, wholeRequestSpec, type IoSpec } from './io-spec.js';
import { knownOutputs } from './known-outputs.js';
import { checkSampleAgainst, initialState, sampleFeeds } from './model-inputs.js';
import { checkServableIo } from './servable-io.js';
import { warmBatchShapes } from './warm-shapes.js';
import { DEFAULT_MAX_REQUEST_BYTES } from '../batching/input-cost.js';
import { findSampleItem, needsSampleSearch, refuseOversizedItem, sampleText } from '../tensors/item-shapes.js';

/** What every run of an instance asks its device for. */
export interface InstanceRunOptions {
  outputNames?: readonly string[];
  knownOutputs?: readonly KnownOutput[];
}

/** An instance's model as loaded on its devices. */
export interface LoadedInstance {
  readonly io: IoSpec;
  /** What a request is checked against: `io`, or any size on the batch axes for an instance that never stacks. */
  readonly requestIo: IoSpec;
  readonly runOptions: InstanceRunOptions;
  /**
   * For an instance that never stacks and whose outputs' per-item sizes the model fixes: the options of a run
   * whose request has size 1 on every batch axis (the usual request), whose outputs' sizes are then known too —
   * so that it can come back in its slab or through the doorbell. A request of another size runs with
   * `runOptions`.
   */
  readonly unitRunOptions?: InstanceRunOptions;
  /** Whether a run fetches outputs the caller does not see (a stateful service's state outputs). */
  readonly hidesOutputs: boolean;
  readonly state: NamedTensors;
  readonly batching: BatchingDecision;
  readonly profile: LatencyProfile;
  /** Measured memory per device after load, bytes. */
  readonly memory: ReadonlyMap<string, number>;
  /** The item the load found to measure with, when the service gave none for some input: the service's sample from now on. */
  readonly foundSample?: NamedTensors;
  /**
   * For a stateless instance whose batch check waited for a request at load: what a request is checked against (any
   * size on its batch axes), and how one of another size than 1 there runs — alone and whole, before the check and
   * after it alike (a front end that could not tell the batch sent it as it came, and may have before the verdict).
   */
  readonly wholeRequests?: { readonly requestIo: IoSpec; readonly runOptions: InstanceRunOptions };
}

/**
 * Loads an instance's model on every device, resolves its inputs and outputs, decides whether its requests
 * may share a run (`onBatchable` when that verdict comes later), profiles it if no profile was given, and runs
 * each batch size it may launch twice while `profiling.warmShapesMs` lasts ({@link warmBatchShapes}).
 */
export async function loadInstance(c: ModelInstanceContext, onBatchable: () => void, signal?: AbortSignal): Promise<LoadedInstance> {
  const s = c.service;
  const devices = c.schedulers.map((sch) => sch.device);
  const source = typeof s.model === 'string' ? { path: s.model } : { bytes: s.model as Uint8Array };
  const maxResponseBytes = s.maxResponseBytes ?? c.maxResponseBytes;
  const loadOptions = { ...(signal ? { signal } : {}), ...(maxResponseBytes === undefined ? {} : { maxResponseBytes }) };
  const infos = await Promise.all(devices.map((d) => d.loadModel(c.instanceId, source, loadOptions)));
  const memory = new Map<string, number>();
  infos.forEach((info, i) => memory.set(devices[i]!.id, info.memoryBytes));
  checkServableIo(infos[0]!, s);
  const io = resolveIoSpec(infos[0]!, s);
  refuseOversizedItem(s.id, io, s.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES);
  // One item; of any size along the batch axes where requests never stack (they run whole, as the sample does).
  if (s.sampleInputs !== undefined) checkSampleAgainst(s.batchable === false || io.separability.kind === 'none' ? wholeRequestSpec(io) : io, s.sampleInputs);
  // Computed once: the outputs every run fetches (the requested ones plus the recurrent state).
  const outputNames = io.outputNames ? [...new Set([...io.outputNames, ...Object.values(io.stateMap)])] : undefined;
  // Outputs of a size known before the run come back in the batch's slab, copied per request.
  const known = knownOutputs(infos[0]!.outputs, outputNames, io.outputAxes);
  const runOptions = { ...(outputNames ? { outputNames } : {}), ...(known ? { knownOutputs: known } : {}) };
  const hidesOutputs = outputNames !== undefined && outputNames.length > io.outputNames!.length;
  const state = s.stateful ? initialState(io, s.stateful.initial) : {};
  // A profile to measure and no sample for some free or integer input: one item the model runs on, found now, is
  // the sample of the profile, the warm-up and the batch check (where no dim is free) — and the service's from now
  // on. A request's cost is not priced against it (see the executor's load).
  const foundSample = s.profile === undefined && needsSampleSearch(io, s.sampleInputs) ? await searchSample(c, devices[0]!, { io, state, outputNames: runOptions.outputNames }, signal) : undefined;
  const sample = foundSample ?? s.sampleInputs;
  const service = foundSample === undefined ? s : { ...s, sampleInputs: foundSample };
  const batching = new BatchingDecision({
    instanceId: c.instanceId,
    service,
    planBatchSize: c.plan.batchSize,
    device: devices[0]!,
    io,
    state,
    outputNames: runOptions.outputNames,
    logger: c.logger,
    onBatchable,
  });
  await batching.decide(signal);
  // A check deferred to the first request may allow batches: measure them now, as for a batchable model.
  const profile = s.profile ?? (await measure(c, devices[0]!, { io, sample, state, batchable: batching.ok, deferred: !batching.settled, outputNames: runOptions.outputNames }, signal));
  if (batching.ok && c.profiling.warmShapesMs > 0) {
    // Up to the largest batch the instance may launch (instance-sizes.ts caps it the same way).
    const maxBatch = Math.max(1, Math.min(s.maxBatch ?? 32, profile.points.at(-1)?.batch ?? 1));
    const warmed = await warmBatchShapes({ devices, modelKey: c.instanceId, io, sample, state, outputNames, maxBatch, budgetMs: c.profiling.warmShapesMs, profile, logger: c.logger, signal });
    c.logger.info({ instanceId: c.instanceId, warmedSizes: warmed.sizes, maxBatch, ms: Math.round(warmed.ms) }, 'warmed batch sizes at load');
  }
  // Never stacked (a stateless model unbatched for good): a request runs whole, whatever its size on the batch
  // axes, so its outputs' sizes are not known before the run either.
  if (!batching.ok && batching.settled && io.stateInputs.length === 0) {
    const whole = outputNames ? { outputNames } : {};
    // Only where the batch's place in every output is named: a free dim guessed to be the batch (`Range`'s `[k]`
    // from a scalar) has a size the run decides, and pre-allocated at 1 the run failed and ran again.
    const unit = known === undefined || io.separability.kind !== 'named' ? {} : { unitRunOptions: runOptions };
    return { io, requestIo: wholeRequestSpec(io), runOptions: whole, ...unit, hidesOutputs, state, batching, profile, memory, ...(foundSample ? { foundSample } : {}) };
  }
  const wholeRequests = !batching.settled && io.stateInputs.length === 0 ? { wholeRequests: { requestIo: wholeRequestSpec(io), runOptions: outputNames ? { outputNames } : {} } } : {};
  return { io, requestIo: io, runOptions, hidesOutputs, state, batching, profile, memory, ...wholeRequests, ...(foundSample ? { foundSample } : {}) };
}

/**
 * One item the model runs on ({@link findSampleItem}), logged when the first tried (zeros, free dims of 1) failed.
 * @throws what the search throws: `INVALID_OPTIONS` or `MODEL_ERROR` when the model runs on none.
 */
async function searchSample(c: ModelInstanceContext, device: DeviceHandle, m: { io: IoSpec; state: NamedTensors; outputNames: readonly string[] | undefined }, signal?: AbortSignal): Promise<NamedTensors> {
  const s = c.service;
  const fetch = { ...(m.outputNames ? { outputNames: m.outputNames } : {}), ...(signal ? { signal } : {}) };
  const found = await findSampleItem(m.io, s.sampleInputs, (item) => device.run(c.instanceId, sampleFeeds(m.io, 1, item, m.state), fetch));
  if (found.refused !== undefined) {
    const shown = sampleText(found.item);
    c.logger.info(
      { instanceId: c.instanceId, serviceId: s.id, sample: shown },
      `service ${s.id} failed on its load-time sample (zeros shaped ${sampleText(found.refused.first)}: ${found.refused.message}); profiled on ${shown}${found.ones ? ' (ones)' : ''}, kept as its sample (give sampleInputs to choose)`,
    );
  }
  return found.item;
}

/** Profiles the model on `device` at the default batch sizes (1 only when unbatchable). */
async function measure(
  c: ModelInstanceContext,
  device: DeviceHandle,
  m: { io: IoSpec; sample: NamedTensors | undefined; state: NamedTensors; batchable: boolean; deferred: boolean; outputNames: readonly string[] | undefined },
  signal?: AbortSignal,
): Promise<LatencyProfile> {
  const s = c.service;
  const maxBatch = c.plan.batchSize ?? s.maxBatch ?? 32;
  const fetch = { ...(m.outputNames ? { outputNames: m.outputNames } : {}), ...(signal ? { signal } : {}) };
  const sample = m.sample;
  const run = (batchSizes: number[]): ReturnType<typeof measureLatencies> =>
    measureLatencies({
      device,
      modelKey: c.instanceId,
      batchSizes,
      inputs: (b) => sampleFeeds(m.io, b, sample, m.state),
      warmup: c.profiling.warmup,
      repetitions: c.profiling.repetitions,
      // The outputs a request fetches: a model whose other outputs cannot be returned (a sequence) still runs.
      ...fetch,
      // Batches stop at the largest the profile measured: none carries more than one request may send or get (items
      // of 80 MB, profiled to 32, took the server to 13.6 GB while it loaded).
      maxBatchBytes: { inputs: s.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES, outputs: s.maxResponseBytes ?? c.maxResponseBytes ?? Number.POSITIVE_INFINITY },
    });
  // A batch of copies of the sample the model refuses (its check, deferred, would not pass either): batch 1 only.
  const samples =
    m.batchable ? await run(defaultBatchSizes(maxBatch))
    : m.deferred ? await run(defaultBatchSizes(maxBatch)).catch((err: unknown) => (isModelError(err) ? run([1]) : Promise.reject(err)))
    : await run([1]);
  c.logger.info({ instanceId: c.instanceId, samples: samples.length }, 'profiled model at load');
  return fitProfile(c.plan.deviceKind ?? `${device.provider}-${device.threads}t`, samples);
}

function isModelError(err: unknown): boolean {
  return isEparaError(err) && err.code === 'MODEL_ERROR';
}
