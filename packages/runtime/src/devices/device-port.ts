/*
 * The device port: what the executor, profiler and engines see of a device. Declared apart from
 * `createDevice` (device-handle.ts), which picks the worker implementation, so that the implementation can
 * import these types without an import circle.
 */
import type { EventEmitter } from 'eventemitter3';
import type { EparaError, NamedTensors } from '@epara/core';
import type { Logger } from '@epara/core';
import type { BackendSpec, ModelIoInfo } from './backend.js';
import type { BatchAxes } from '../tensors/stack.js';
import type { InputSlabStats } from './input-slabs.js';
import type { KnownOutput, SlabOutput } from './slab-outputs.js';

export type { ModelIoInfo } from './backend.js';

/** What a device reports after loading a model. */
export interface LoadedModelInfo {
  readonly inputs: ModelIoInfo[];
  readonly outputs: ModelIoInfo[];
  /** Measured memory the session holds (at least the model's size), bytes. */
  readonly memoryBytes: number;
  /** The execution provider the session really runs on (after any fallback). */
  readonly executionProvider: 'cpu' | 'cuda';
}

/** Where a model comes from: a file path or the ONNX bytes. */
export type ModelSource = { readonly path: string } | { readonly bytes: Uint8Array };

/** Result of {@link DeviceHandle.runTimed}: the outputs and the time the backend spent computing. */
export interface TimedRun {
  /** The batch's outputs (empty when `items` is set). */
  readonly outputs: NamedTensors;
  /** Milliseconds inside the backend's `run` (excludes messaging). */
  readonly runMs: number;
  /**
   * Set by {@link DeviceHandle.runBatch} when the outputs came back in the batch's slab: each request's outputs,
   * in item order, copied out of the slab (the caller owns them; per-item dims are shared and frozen).
   */
  readonly items?: readonly NamedTensors[];
}

/** Options of {@link DeviceHandle.runBatch}. */
/** Options of {@link DeviceHandle.loadModel}. */
export interface LoadModelOptions {
  readonly threads?: number;
  readonly signal?: AbortSignal;
  /**
   * Bytes the outputs of one request may take, checked in the worker once a run's outputs are known and before
   * they are handed to the host: a batch (`runBatch`, `runStaged`) whose outputs take more than this per request
   * in it (`n` requests: `n` times it) fails `OUT_OF_MEMORY` (`details.reason: 'response-too-large'`,
   * `outputBytes`, `maxResponseBytes`). Direct runs (`run`, `runTimed`: the executor's own at load) are checked
   * only when they say how many requests they answer ({@link DirectRunOptions.requests}). @default no limit
   */
  readonly maxResponseBytes?: number;
}

/** Options of {@link DeviceHandle.run} and {@link DeviceHandle.runTimed}. */
export interface DirectRunOptions {
  readonly outputNames?: readonly string[];
  readonly signal?: AbortSignal;
  /**
   * Requests whose answer the run computes (a pipeline's batch, a check run on a request's inputs): the outputs may
   * take the model's `maxResponseBytes` per request (see {@link LoadModelOptions.maxResponseBytes}). Absent, the run
   * is the host's own (a profile, a warm-up on the service's sample) and is not limited.
   */
  readonly requests?: number;
}

export interface RunBatchOptions {
  readonly outputNames?: readonly string[];
  readonly signal?: AbortSignal;
  /**
   * Every output the run fetches, with its per-item shape. When the batch's inputs and outputs fit one slab,
   * the backend writes the outputs into the slab behind the inputs and the device answers with each request's
   * outputs (`items`): no output buffer is allocated or transferred per batch.
   */
  readonly knownOutputs?: readonly KnownOutput[];
}

/**
 * Where a buffer lent to a worker with a run goes when the worker hands it back (a new `ArrayBuffer` object:
 * transfer moves the memory), or what learns that the worker died with it. The device's own slab pool is one
 * home; a lease slab is another.
 */
export interface SlabHome {
  returned(slab: ArrayBuffer): void;
  lost(): void;
}

/**
 * A batch already laid out in a buffer of the caller's (a lease slab: its requests' inputs were written where
 * the batch runs from), for {@link DeviceHandle.runStaged}. The buffer is lent to the worker with the run and
 * handed back to `home` with its answer (or written off there if the worker dies).
 */
export interface StagedBatch {
  readonly slab: ArrayBuffer;
  /** The batch's input tensors: views of `slab`. */
  readonly feeds: NamedTensors;
  /** Items in the batch. */
  readonly count: number;
  /** Where the batch's outputs go in `slab` (every output known in size and room left), else undefined. */
  readonly outputs: { readonly outputs: readonly SlabOutput[]; readonly end: number } | undefined;
  readonly home: SlabHome;
}

/** Payload of `deviceFellBack`: a `cuda` device could not load the CUDA execution provider. */
export interface DeviceFellBackEvent {
  readonly deviceId: string;
  readonly modelKey: string;
  readonly requested: 'cuda';
  readonly used: 'cpu';
  readonly reason: string;
}

/** Payload of `workerCrashed`: the worker died; in-flight calls failed with `WORKER_CRASHED`. */
export interface WorkerCrashedEvent {
  readonly deviceId: string;
  readonly reason: string;
  readonly failedCalls: number;
}

/** Payload of `workerRestarted`: a new worker is up and every model is loaded again. */
export interface WorkerRestartedEvent {
  readonly deviceId: string;
  readonly restarts: number;
  readonly reloadedModels: number;
  /** Batch sizes warmed again (over all models) before the restarted worker took any call. */
  readonly warmedSizes: number;
}

/**
 * Payload of `deviceFailed`: the worker crashed more than `maxRestarts` times in a row and the device gave up.
 * Every call made to it from then on fails at once with `error` (`WORKER_CRASHED`).
 */
export interface DeviceFailedEvent {
  readonly deviceId: string;
  /** Consecutive crashes without a successful run. */
  readonly crashes: number;
  readonly reason: string;
  readonly error: EparaError;
}

/** Runs one warm-up run on the restarting worker (outputs unread); see {@link DeviceHandle.warmAfterRestart}. */
export type RestartWarmRun = (feeds: NamedTensors, options: { outputNames?: readonly string[] }) => Promise<unknown>;

/** Events of a {@link DeviceHandle}. */
export interface DeviceEvents {
  deviceFellBack: [DeviceFellBackEvent];
  workerCrashed: [WorkerCrashedEvent];
  workerRestarted: [WorkerRestartedEvent];
  deviceFailed: [DeviceFailedEvent];
}

/**
 * A device: one worker thread that owns its onnxruntime sessions, so that inference never runs on the host's
 * event loop. Calls are served one at a time in arrival order (a device is a serial resource, like a GPU
 * stream). Tensors passed to {@link DeviceHandle.run} are transferred to the worker: the caller hands over
 * their buffers (views of larger or shared buffers are copied instead).
 */
export interface DeviceHandle extends EventEmitter<DeviceEvents> {
  readonly id: string;
  /** The execution provider that was asked for. A `cuda` device whose provider failed runs on the CPU (see `deviceFellBack`). */
  readonly provider: 'cpu' | 'cuda';
  /** Intra-op threads of every session on this device. */
  readonly threads: number;
  /** Memory of the device, bytes (`Infinity` when not declared). */
  readonly memoryBytes: number;
  /**
   * Loads (or replaces) a model under `key`.
   * @throws EparaError `LOAD_FAILED` (bad file, bad bytes), `CLOSED`, `ABORTED`, `WORKER_CRASHED`.
   */
  loadModel(key: string, source: ModelSource, options?: LoadModelOptions): Promise<LoadedModelInfo>;
  /**
   * Runs a loaded model once on the given feeds.
   * @throws EparaError `MODEL_ERROR` (the model threw), `UNKNOWN_SERVICE` (no model under `key`), `CLOSED`,
   * `ABORTED` (the caller stops waiting; the device still finishes the run), `WORKER_CRASHED`.
   */
  run(key: string, feeds: NamedTensors, options?: DirectRunOptions): Promise<NamedTensors>;
  /** {@link DeviceHandle.run} that also reports the backend's compute time. */
  runTimed(key: string, feeds: NamedTensors, options?: DirectRunOptions): Promise<TimedRun>;
  /**
   * Runs one batch given as per-item inputs (size 1 on each batch axis; `axes` as {@link stackTensors} takes
   * them). Devices made by `createDevice` stack the items straight into a reusable input slab lent to the
   * worker, leaving the callers' arrays untouched; a batch larger than a slab is stacked into a fresh buffer
   * and transferred, as {@link DeviceHandle.runTimed} does. Optional: callers fall back to stacking themselves.
   * @throws EparaError as {@link DeviceHandle.run}.
   */
  runBatch?(key: string, items: readonly NamedTensors[], axes: BatchAxes, options?: RunBatchOptions): Promise<TimedRun>;
  /**
   * Runs a batch laid out by the caller in its own buffer ({@link StagedBatch}): no copy, no slab of the device's.
   * With `knownOutputs` and `staged.outputs`, the outputs come back per request (`items`) as with `runBatch`.
   * Optional: callers fall back to `runBatch`.
   * @throws EparaError as {@link DeviceHandle.run}.
   */
  runStaged?(key: string, staged: StagedBatch, options?: RunBatchOptions): Promise<TimedRun>;
  /** What the device's input slab pool has done so far (devices made by `createDevice`). */
  inputSlabs?(): InputSlabStats;
  /**
   * Registers how model `key` is warmed after a restart: once the worker's models are loaded again, and before it
   * takes any call, `warm` runs through the given runner and returns the batch sizes it warmed (devices made by
   * `createDevice`; the executor registers what it warmed at load). Forgotten when the model is unloaded or
   * loaded again.
   */
  warmAfterRestart?(key: string, warm: (run: RestartWarmRun) => Promise<number>): void;
  /**
   * Frees a model. Unknown keys are ignored. The worker frees it once the calls sent before are done; if it has
   * not answered after `waitMs` (default: the device's `closeWaitMs`) — a run that never ends — the worker is
   * terminated and restarted with the device's other models (its calls in flight fail `WORKER_CRASHED`, as in a
   * crash), so that an unload always ends.
   */
  unloadModel(key: string, options?: { waitMs?: number }): Promise<void>;
  /**
   * Terminates the worker, stuck in a call that never ends, and restarts it with the device's models (the stuck
   * call fails `WORKER_CRASHED`; a batch sent behind it, never started, runs again on the new worker, or fails with
   * `details.ran: false`); not counted toward `maxRestarts`. Devices made by `createDevice`.
   */
  recycle?(reason: string): void;
  /** Set once the device gave up restarting its worker (`deviceFailed`): every call fails with it. */
  readonly failure?: EparaError | undefined;
  /**
   * Refuses new calls (`CLOSED`), lets the run in progress finish (its caller gets the answer; at most
   * `closeWaitMs`), fails every other pending call with `CLOSED` and ends the worker. Idempotent.
   */
  close(): Promise<void>;
}

/** A run's outcome delivered to a listener instead of a promise ({@link ListeningDevice}). */
export interface RunListener {
  onRun(run: TimedRun): void;
  onFail(err: EparaError): void;
}

/**
 * A device that can hand a batch's outcome to a listener instead of a promise (devices made by `createDevice`):
 * the executor's batch path runs one batch per answer, and a promise per batch cost it the promise, a reaction
 * and a microtask between the worker's answer and the requests' outputs. Not part of the package's API.
 */
export interface ListeningDevice {
  /** {@link DeviceHandle.runBatch}, its outcome to `listener` (at once when it fails before being sent). */
  runBatchTo(key: string, items: readonly NamedTensors[], axes: BatchAxes, options: RunBatchOptions, listener: RunListener): void;
  /** {@link DeviceHandle.runStaged}, its outcome to `listener`. */
  runStagedTo(key: string, staged: StagedBatch, options: RunBatchOptions, listener: RunListener): void;
}

/** Options of {@link createDevice}. Defaults in {@link DEFAULT_DEVICE_OPTIONS}. */
export interface DeviceOptions {
  /** Unique id of the device within the executor. */
  readonly id: string;
  /** Execution provider to request. @default 'cpu' */
  readonly provider?: 'cpu' | 'cuda';
  /** The provider's device ordinal (the CUDA device index; cuda only). @default 0 */
  readonly ordinal?: number;
  /** Intra-op thread budget of the device. @default 1 */
  readonly threads?: number;
  /**
   * Whether the device's intra-op threads spin while they wait for work (onnxruntime's
   * `session.intra_op.allow_spinning` and `session.inter_op.allow_spinning`). Spinning shaves the wake-up of a
   * helper thread off each parallel step but keeps a core busy while the thread waits: with `threads` > 1 on
   * a machine the host shares, it takes CPU from the host's event loop and from the other devices. Without
   * effect at `threads: 1` (no helper threads). @default false
   */
  readonly spinWait?: boolean;
  /** Device memory, bytes. @default Infinity */
  readonly memoryBytes?: number;
  /** pino-compatible logger. @default silent */
  readonly logger?: Logger;
  /** The inference backend inside the worker. @default { kind: 'ort' } (onnxruntime-node) */
  readonly backend?: BackendSpec;
  /** Consecutive crashes after which the device stops restarting its worker. @default 5 */
  readonly maxRestarts?: number;
  /**
   * Bytes of the largest input slab: batches whose stacked inputs fit are written once into a reusable slab lent
   * to the worker (no allocation per batch); larger ones are stacked into a fresh buffer and transferred. A batch
   * takes the smallest slab that holds it (powers of two from 64 KiB), so small batches do not move 8 MiB back
   * and forth. `0` turns slabs off. @default 8 MiB
   */
  readonly inputSlabBytes?: number;
  /** Slabs a device may hold at once (allocated when first needed; one per batch in the worker). @default 4 */
  readonly inputSlabs?: number;
  /**
   * Bytes of one slot of the device's shared-memory doorbell: a batch whose inputs and outputs fit one (and whose
   * outputs' sizes are known) rings in through shared memory instead of a `postMessage` each way, once a batch of
   * its layout has run by message. `0` turns the doorbell off. @default 64 KiB
   */
  readonly doorbellSlotBytes?: number;
  /**
   * Microseconds the worker keeps polling its doorbell after it served its last call, before it parks: a batch
   * rung in meanwhile (a caller's next request in a closed loop) is taken without a wake-up of the worker or a
   * notify by the host. The poll occupies a core for that long each time the worker runs out of work, and holds
   * back messages to the worker as long. `0` parks at once. @default 0
   */
  readonly doorbellSpinUs?: number;
  /** URL of the worker script. @default the package's `dist/device-worker.js` */
  readonly workerUrl?: URL;
  /**
   * How long `close()` waits for the worker to finish its run in progress and release its sessions, ms; a worker
   * still busy then is terminated. Generous by default: terminating a thread while onnxruntime runs inside it can
   * abort the whole process, and a run on a starved machine can take seconds. Only a run that does not end (a
   * model that never finishes, a hung worker) waits it out. @default 30 000
   */
  readonly closeWaitMs?: number;
}
