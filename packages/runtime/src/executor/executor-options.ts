import type { AbortSignalLike, Clock, LatencyProfile, NamedTensors, ParallelPlan, ServiceSpec, TensorType } from '@epara/core';
import type { BackendSpec } from '../devices/backend.js';
import type { DeviceHandle } from '../devices/device-port.js';
import type { Logger } from '@epara/core';
import type { Timers } from '@epara/core';
import type { ServiceEngine } from './service-engine.js';
import type { DeviceWorkQueue } from './device-work.js';
import type { PipelineEngineOptions } from '../parallel/model-parallel-options.js';
import type { GenerationEngineOptions } from '../generation/generation-options.js';
import type { GenerationServiceOptions } from '../generation/generation-service.js';
import type { StreamPackPricing } from './stream-pack-pricing.js';
import type { StreamPackForming } from '../streams/stream-pack-forming.js';

/** A model run as ordered stages, one per device (model parallelism, pipelined). */
export interface StagedModel {
  /** Stage models in order (file paths or bytes), e.g. from `splitModel`. */
  readonly stages: readonly (string | Uint8Array)[];
}

/** A causal language model served as generation (iteration-level batching). */
export type GenerationServiceConfig = Omit<GenerationEngineOptions, 'device' | 'model' | 'clock' | 'logger'> & Omit<GenerationServiceOptions, 'maxResponseBytes'>;

/** A device of the executor. */
export interface ExecutorDeviceOptions {
  readonly id: string;
  /** Execution provider. @default 'cpu' */
  readonly provider?: 'cpu' | 'cuda';
  /** The provider's device ordinal (the CUDA device index). @default 0 */
  readonly ordinal?: number;
  /** Intra-op threads of the device's sessions. @default 1 */
  readonly threads?: number;
  /** Whether those threads spin while waiting for work (see the device option `spinWait`). @default false */
  readonly spinWait?: boolean;
  /** Memory budget, bytes. @default Infinity */
  readonly memoryBytes?: number;
  /** The device's profile key (core `DeviceKind`), as plans name it. @default `${provider}-${threads}t`, e.g. `cpu-1t` */
  readonly deviceKind?: string;
  /** Backend inside the worker. @default the executor's `backend` */
  readonly backend?: BackendSpec;
  /**
   * Where the device worker script is, for hosts that bundle the SDK (the bundle has no package root to find
   * `dist/device-worker.js` in): copy that file next to the bundle and pass its URL. @default the package's own
   */
  readonly workerUrl?: URL;
  /** Bytes of the device's largest input slab (a batch takes the smallest power-of-two slab from 64 KiB that holds it; `0`: every batch takes the copy path). @default 8 MiB */
  readonly inputSlabBytes?: number;
  /** Input slabs the device may hold at once. @default 4 */
  readonly inputSlabs?: number;
  /**
   * Bytes of one slot of the device's shared-memory doorbell (batches that fit one, with outputs of known size,
   * reach the worker and come back without a `postMessage`; `0` turns it off). @default 64 KiB
   */
  readonly doorbellSlotBytes?: number;
  /**
   * How long the device's worker polls its doorbell after its last call before it parks, µs: a request rung in
   * meanwhile costs no wake-up, at the price of a core busy that long whenever the worker runs out of work. @default 0
   */
  readonly doorbellSpinUs?: number;
  /** How long `close()` waits for the device's run in progress before terminating its worker, ms. @default 30 000 */
  readonly closeWaitMs?: number;
}

/** What a service expects of one input tensor. Omitted fields are read from the model. */
export interface TensorExpectation {
  readonly type?: TensorType;
  /** Per-item dims (batch axis included, size 1); `null` = any size. */
  readonly dims?: readonly (number | null)[];
  /** Axis along which items stack; `null` for a tensor shared by the batch (e.g. a sample rate). */
  readonly batchAxis?: number | null;
  /**
   * The model leaves this input's rank open (an ONNX input with no shape, which onnxruntime reports as a
   * scalar): a request may give it any shape, and it is not batched (`dims` and `batchAxis` are then ignored).
   * @default false
   */
  readonly anyRank?: boolean;
}

/** Recurrent state carried per stream (Silero VAD's `state` → `stateN`). */
export interface StatefulOptions {
  /** State input name → the output name holding the next state. */
  readonly state: Readonly<Record<string, string>>;
  /** Initial per-stream state (size 1 on the batch axis). @default zeros of the model's shape */
  readonly initial?: NamedTensors;
}

/** What an engine factory gets to work with. */
export interface EngineContext {
  readonly serviceId: string;
  readonly devices: readonly DeviceHandle[];
  /**
   * The schedulers of `devices`, in the same order: queue device work there (a generation engine's
   * `workQueue`) so that it is ordered with, and seen by, the other services on the device.
   */
  readonly workQueues: readonly DeviceWorkQueue[];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

/**
 * A service the executor can host: core's `ServiceSpec` — the one declaration that placement, routing and
 * the mesh node read (`id`, `sensitivity`, `slo`, `networkBudgetMs`, …) — plus only what the runtime adds: the
 * model or engine, tensor I/O, batching and profiling. The same object can be handed to the executor and to a
 * mesh node. Core's `memory` and `profiles` are optional here: `memory` is placement's figure (the executor's
 * own memory check reads `memoryBytes`), and `profiles` supplies the executor's profile when `profile` is
 * omitted (the entry of the plan's `deviceKind`, else of the device's `deviceKind`).
 */
export interface ExecutorServiceOptions extends Omit<ServiceSpec, 'memory' | 'profiles'>, Partial<Pick<ServiceSpec, 'memory' | 'profiles'>> {
  /** ONNX file path or bytes, or ordered stage models (model parallelism). Omit only with `engine`. */
  readonly model?: string | Uint8Array | StagedModel;
  /** Pipeline options of a staged model (the batch size defaults to the plan's). */
  readonly pipeline?: Partial<Omit<PipelineEngineOptions, 'stages' | 'clock' | 'logger' | 'maxResponseBytes'>>;
  /** Serve `model` as a generation service (a causal LM; see `executor.generate`). */
  readonly generation?: GenerationServiceConfig;
  /** Builds a custom engine (model-parallel pipeline, generation) over the instance's devices instead of a batcher. */
  readonly engine?: (ctx: EngineContext) => ServiceEngine | Promise<ServiceEngine>;
  /**
   * Measured latency against batch size on this executor's devices.
   * @default `profiles` of the device's profile key, else measured at first load with `sampleInputs`
   */
  readonly profile?: LatencyProfile;
  /** The plan to run (batch size, devices). @default derived from the profile and the SLO (docs/concepts.md) */
  readonly plan?: Partial<ParallelPlan>;
  /** Devices to load an instance on at `start()`. @default none (load later with `load(plan)`) */
  readonly devices?: readonly string[];
  /** Declared memory per device, bytes (checked before loading; the measured size counts when larger). @default 0 */
  readonly memoryBytes?: number;
  /** Input expectations by name (override what the model declares). */
  readonly inputs?: Readonly<Record<string, TensorExpectation>>;
  /** Batch axis of each output (`null`: shared). @default read from the model, else 0 */
  readonly outputs?: Readonly<Record<string, { readonly batchAxis?: number | null }>>;
  /** Outputs to return. @default all */
  readonly outputNames?: readonly string[];
  readonly stateful?: StatefulOptions;
  /** One item's inputs, used to profile the model when no profile is given. */
  readonly sampleInputs?: NamedTensors;
  /**
   * Whether requests (and stream frames) of this service may be stacked into one run. By default the executor
   * decides at load: it batches only when the model's dim names give every output a batch axis and a batch of
   * two equals two single runs numerically; otherwise every request runs alone (logged with the reason).
   * `false` never batches; `true` skips both checks (you vouch that items do not interact).
   * @default decided at load
   */
  readonly batchable?: boolean;
  /** Largest batch the profiler measures. @default 32 */
  readonly maxBatch?: number;
  /**
   * Largest input one request (or stream frame) may carry, bytes: beyond it `submit` rejects with
   * `INVALID_INPUT`, so that one huge request cannot hold the device for everyone else. Below it, a request
   * larger than the profiled input is expected to run proportionally longer, and is refused with
   * `DEADLINE_INFEASIBLE` when even alone it cannot meet its deadline.
   * @default 134217728 (128 MiB)
   */
  readonly maxRequestBytes?: number;
  /**
   * Largest output one request may get, bytes (all its outputs together; a batch of `n` may take `n` times it).
   * Checked in the device worker once a run's outputs are known, before they reach the host: a model whose output
   * size an input's value sets (`Range`, `Expand`, `Tile`, `ConstantOfShape`) otherwise answers a small request
   * with gigabytes. Above it the request fails `OUT_OF_MEMORY` (`details.reason: 'response-too-large'`,
   * `outputBytes`, `maxResponseBytes`). @default the executor's `maxResponseBytes`
   */
  readonly maxResponseBytes?: number;
}

/** Options of {@link createExecutor}. Defaults in {@link DEFAULT_EXECUTOR_OPTIONS}. */
export interface ExecutorOptions {
  readonly devices: readonly ExecutorDeviceOptions[];
  readonly services?: readonly ExecutorServiceOptions[];
  /** @default the high-resolution wall clock (`performance.timeOrigin + performance.now()`) */
  readonly clock?: Clock;
  /** @default platform timers */
  readonly timers?: Timers;
  /** @default silent */
  readonly logger?: Logger;
  /** Margin kept before a deadline when deciding to launch (timer and messaging jitter), ms. @default 2 */
  readonly guardMs?: number;
  /**
   * The quantile of the host-side delay each device learns (from a batch's planned start to the host having its
   * outputs, minus the compute: messaging, a late event loop, garbage collection) that a launch keeps as margin,
   * beside the 0.98 quantile of the compute error. Lower keeps larger batches on a host that hears answers late
   * and serves more requests late. @default 0.98
   */
  readonly hostDelayQuantile?: number;
  /**
   * Cores the host's own thread (its event loop: admission, batching, settling results) keeps out of the CPU
   * devices' thread budget. When the devices' intra-op threads (the sum of `threads` over `cpu` devices) exceed
   * the machine's cores minus this, `start()` logs a warning: the operating system then time-slices the host
   * thread with onnxruntime's threads, and every decision and completion waits for a core (the event-loop lag
   * of a saturated host). `0` turns the check off. @default 1
   */
  readonly hostCores?: number;
  /**
   * How long a partial batch may wait for more items on an idle device: `'expected-fill'` waits only when the
   * recent arrival rate says the batch fills before the earliest deadline forces a launch (otherwise it
   * launches now instead of idling the device); `'until-deadline'` is the plain rule of docs/concepts.md (launch
   * when full or when waiting longer would miss the earliest deadline). @default 'expected-fill'
   */
  readonly batchWait?: 'expected-fill' | 'until-deadline';
  /** Launch a partial batch as soon as a device idles instead of waiting for it to fill. @default false */
  readonly launchWhenIdle?: boolean;
  /**
   * Under overload (a service's recent arrivals need at least 90 % of its devices' time), pass over a head item
   * that only a small batch could still serve when a batch of later items completes at least 4× as many on-time
   * items per ms (core's `skipShrinkingHead`, the simulator's EPARA default). Off by default here: on the
   * policy-only workload of `bench:runtime` (a model sleeping 2 + 0.5·b ms at twice its capacity) it served
   * fewer requests within their SLO in interleaved runs (see docs/runtime.md). @default false
   */
  readonly skipShrinkingHead?: boolean;
  /**
   * Scale each service's profile, per device and batch-size class, by how long its batches really hold the
   * device as the host sees it (EWMA of held/profiled time: compute plus the hand-offs to and from the device's
   * thread; a batch sent ahead counted from the previous one's end), so that interference and messaging costs
   * are planned for. Turn off with a manual clock. @default true
   */
  readonly adaptLatency?: boolean;
  /**
   * How a stream service's capacity (what stream admission reads) prices a pack of `n` frames at this host's
   * speed: `'hand-off-once'` — one per-batch hand-off plus the pack's profile at the backend's speed, the two
   * learned apart from the batches; `'worst-class'` — the largest learned hold ratio of the pack's size class and
   * every smaller one (earlier versions: where packs of one ran, their hand-offs priced every pack). Read only with
   * `adaptLatency`. @default 'hand-off-once'
   */
  readonly streamPackPricing?: StreamPackPricing;
  /**
   * When a stream service's pack forms on a busy device: `'when-free'` — a pack short of the largest fresh one waits
   * for the device to free and takes every frame waiting then (work conserving, as a dynamic batcher: fewer runs,
   * each paying its hand-off once); `'send-ahead'` — a pack of the plan's size is sent ahead at once (earlier
   * versions: behind a running pack, a multi-frame plan's pack of one went ahead alone). @default 'when-free'
   */
  readonly streamPackForming?: StreamPackForming;
  /** Queued items per instance beyond which submissions are refused with `OVERLOADED`. @default 10000 */
  readonly maxQueue?: number;
  /**
   * Runs at load. `warmup` and `repetitions`: the profiling done when a service has no profile. `warmShapesMs`:
   * the host time each instance may spend running every batch size it may launch (1 up to its largest) twice on
   * each of its devices, smallest first, before it serves — onnxruntime's first runs at a new input shape cost
   * 1.2–3.9× a warm one, and met while serving they make a saturated device settle at small batches; `0` turns
   * it off. @default { warmup: 2, repetitions: 5, warmShapesMs: 1000 } (`warmShapesMs` 0 with the fake backend)
   */
  readonly profiling?: { readonly warmup?: number; readonly repetitions?: number; readonly warmShapesMs?: number };
  /** Backend of every device that names none (tests use `{ kind: 'fake' }`). @default { kind: 'ort' } */
  readonly backend?: BackendSpec;
  /** Consecutive worker crashes before a device gives up. @default 5 */
  readonly maxRestarts?: number;
  /**
   * Largest output one request may get, bytes, for every service that sets no `maxResponseBytes` of its own (see
   * {@link ExecutorServiceOptions.maxResponseBytes}). @default 67108864 (64 MiB)
   */
  readonly maxResponseBytes?: number;
}

/** Defaults of {@link ExecutorOptions}. */
export const DEFAULT_EXECUTOR_OPTIONS = {
  guardMs: 2,
  hostDelayQuantile: 0.98,
  hostCores: 1,
  launchWhenIdle: false,
  skipShrinkingHead: false,
  maxQueue: 10_000,
  profiling: { warmup: 2, repetitions: 5, warmShapesMs: 1000 },
  maxBatch: 32,
  maxResponseBytes: 64 * 1024 * 1024,
} as const;

/** Options of `Executor.load`: the port's, plus an explicit device choice. */
export interface LoadOptions {
  readonly instanceId?: string;
  /** Devices to use. @default the least-loaded devices of the plan's `deviceKind` */
  readonly deviceIds?: readonly string[];
  /**
   * One item's inputs to load this instance with, in place of the service's `sampleInputs`: the profile is
   * measured on it, the batch check runs on it, and a request's cost is estimated against its size. Once the load
   * succeeds it becomes the service's sample, so later loads (a placement move, a reload) use it too; a load that
   * fails leaves the service's sample as it was. For a model that fails on its default sample (a zero it divides
   * by, a window wider than one element), or whose free dimensions should be profiled at a typical size.
   * @default the service's `sampleInputs`
   */
  readonly sampleInputs?: NamedTensors;
  readonly signal?: AbortSignalLike;
}

/** Options of `Executor.generate`. */
export interface GenerateOptions {
  /** Prompt token ids. */
  readonly tokens: readonly number[] | Int32Array;
  /** Most new tokens. @default the service's `generation.maxNewTokens` */
  readonly maxNewTokens?: number;
  /** Absolute time by which the first token must come. @default now + the service's `ttftMs` */
  readonly ttftDeadline?: number;
  /** Time-per-output-token SLO, ms. @default the service's `tpotMs` */
  readonly tpotMs?: number;
  /** Absolute time by which the whole generation must finish. @default none */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
}
