import { EventEmitter } from 'eventemitter3';
import { EparaError, toEparaError, type NamedTensors, type TensorLike } from '@epara/core';
import { checkSignal, tensorByteLength } from '@epara/core/internal';
import type { EngineSubmitOptions, ServiceEngine } from '../executor/service-engine.js';
import type { LoadedModelInfo, TimedRun } from '../devices/device-port.js';
import { createLatencyTracker, type LatencyTracker } from './model-parallel-latency.js';
import { resolvePipelineOptions, type PipelineEngineOptions, type ResolvedPipelineOptions } from './model-parallel-options.js';
import { planDataflow, type PipelineDataflow } from './model-parallel-plan.js';
import { firstRow, rowsOf, splitRows, stackItems, stackSignature } from './model-parallel-tensors.js';
import { checkTensor, plainArrays, type InputSpec, type IoSpec } from '../executor/io-spec.js';
import { checkBatchSeparable } from '../executor/batch-check.js';
import type { PipelineEvents, PipelineStats } from './model-parallel-events.js';
import { createEntryQueue, type EntryQueue, type QueuedItem } from './model-parallel-queue.js';
import { planRoutes, type LinkInbound, type LinkOutbound, type StageLinkDevice, type StageRoutes } from './stage-links.js';
import { StageLinkSet } from './stage-link-set.js';
import { shedError } from '../executor/shed-error.js';

/** A model-parallel pipeline serving one model as ordered stages on several devices. */
export interface PipelineEngine extends ServiceEngine, EventEmitter<PipelineEvents> {
  /** Loads every stage on its device (idempotent; `submit` calls it). @throws EparaError `LOAD_FAILED`, `ABORTED` */
  start(options?: { signal?: AbortSignal }): Promise<void>;
  /** Counters for polling. */
  stats(): PipelineStats;
  /** The dataflow once started: what requests provide and what they get back. */
  dataflow(): PipelineDataflow | undefined;
}

interface Batch {
  readonly id: number;
  readonly items: readonly QueuedItem[];
  readonly rows: number;
  readonly values: Record<string, TensorLike>;
  readonly dispatchedAt: number;
  /** Per stage: the links its inputs arrive on (direct hand-off). */
  readonly inbound: LinkInbound[][];
}

/** Routes and links of a pipeline whose stages hand values to each other directly. */
interface Direct {
  readonly routes: StageRoutes;
  readonly links: StageLinkSet;
}

let engines = 0;

/** Runs a stage keeps handed to its device at once: one computing, one queued behind it. */
const DEVICE_DEPTH = 2;

/**
 * Creates a model-parallel pipeline engine: requests are batched at the entry (earliest deadline first;
 * a batch launches when full, or when waiting longer would make its earliest deadline miss; requests that
 * can no longer make it are dropped with `DEADLINE_EXCEEDED`), then each batch flows stage 1 → stage 2 → …,
 * each stage on its own device, so stage 2 of batch k runs while stage 1 of batch k + 1 runs. Intermediate
 * values go from each stage's worker to the next stage's worker directly (`handoff: 'direct'`, a
 * `MessageChannel` between the workers), never through the host. A stage that fails fails only its batch.
 *
 * Items carry a leading batch dimension (usually 1); items with equal names, types and non-batch
 * dimensions are stacked, others wait for a batch of their own — once a batch of two has answered what each
 * item answers alone (checked with the first requests that would share a run); a model that mixes items (a sum
 * over the batch, a batch that is not the leading dim) runs each request alone. A request is checked against the
 * stage model that reads each input (dtype, array class, rank, fixed dims, data length).
 *
 * @throws EparaError `INVALID_OPTIONS` naming the bad field.
 * @example
 * ```ts
 * const [s0, s1] = splitModel(modelBytes, { cutTensors: ['h2'] });
 * const engine = createPipelineEngine({
 *   stages: [{ device: dev0, model: { bytes: s0.bytes } }, { device: dev1, model: { bytes: s1.bytes } }],
 *   batchSize: 16,
 * });
 * const out = await engine.submit({ x }, { deadline: Date.now() + 200, priority: 0 });
 * ```
 */
export function createPipelineEngine(options: PipelineEngineOptions): PipelineEngine {
  return new Pipeline(resolvePipelineOptions(options));
}

class Pipeline extends EventEmitter<PipelineEvents> implements PipelineEngine {
  readonly #o: ResolvedPipelineOptions;
  readonly #keys: string[];
  readonly #queue: EntryQueue;
  readonly #stageQueues: Batch[][];
  /** Start times of the runs each stage has handed to its device (at most {@link DEVICE_DEPTH}). */
  readonly #running: number[][];
  readonly #busyMs: number[];
  readonly #trackers: LatencyTracker[];
  #flow: PipelineDataflow | undefined;
  /** Set when stages hand values to each other directly. */
  #direct: Direct | undefined;
  #started: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight = 0;
  #pumpScheduled = false;
  #nextBatch = 1;
  #idle: (() => void) | undefined;
  #counts = { completedBatches: 0, completedItems: 0, failedBatches: 0, dropped: 0, handoffBytesViaHost: 0, handoffBytesDirect: 0 };
  /** What each request input must be (from the stage that first reads it). */
  #specs: InputSpec[] = [];
  /**
   * Whether requests may share a run: `unknown` until a numeric check on the first requests that would (a batch
   * of two must answer what each answers alone: a model that sums over the batch, or whose batch is not its
   * leading dim, does not), `checking` while it runs. Until `yes`, every request runs alone.
   */
  #stacking: 'unknown' | 'checking' | 'yes' | 'no' = 'unknown';
  /** Requests the check already ran on (an inconclusive one is not checked again). */
  readonly #checked = new WeakSet<object>();
  #alone = 0;

  constructor(o: ResolvedPipelineOptions) {
    super();
    this.#o = o;
    const key = o.key === 'pipeline' ? `pipeline-${++engines}` : o.key;
    this.#keys = o.stages.map((_, i) => `${key}/stage${i}`);
    this.#queue = createEntryQueue();
    this.#stageQueues = o.stages.map(() => []);
    this.#running = o.stages.map(() => []);
    this.#busyMs = o.stages.map(() => 0);
    this.#trackers = o.stages.map((s) => createLatencyTracker(s.profile ? { fixed: s.profile } : {}));
  }

  start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#closing) return Promise.reject(new EparaError('CLOSED', 'pipeline engine is closed'));
    this.#started ??= this.#load(options.signal);
    return this.#started;
  }

  async #load(signal: AbortSignal | undefined): Promise<void> {
    const { stages, threads } = this.#o;
    const loadOptions = { ...(threads === undefined ? {} : { threads }), ...(signal ? { signal } : {}) };
    // The last stage's outputs are the answer: its worker refuses one above the limit before the host has it.
    const limit = this.#o.maxResponseBytes === undefined ? {} : { maxResponseBytes: this.#o.maxResponseBytes };
    const last = stages.length - 1;
    try {
      const infos = await Promise.all(stages.map((s, i) => s.device.loadModel(this.#keys[i]!, s.model, i === last ? { ...loadOptions, ...limit } : loadOptions)));
      const flow = planDataflow(infos, this.#o.outputNames);
      this.#specs = requestSpecs(infos, flow);
      if (this.#o.handoff === 'direct') {
        const routes = planRoutes(flow);
        const pairs = routes.outbound.flatMap((m, i) => [...m.keys()].map((j) => [i, j] as const));
        const links = await StageLinkSet.open(
          stages.map((s) => s.device),
          this.#keys.join('+'),
          pairs,
        );
        if (links) this.#direct = { routes, links };
      }
      this.#flow = flow;
    } catch (err) {
      throw toEparaError(err, 'LOAD_FAILED');
    }
  }

  dataflow(): PipelineDataflow | undefined {
    return this.#flow;
  }

  async submit(inputs: NamedTensors, options: EngineSubmitOptions): Promise<NamedTensors> {
    if (this.#closing) throw new EparaError('CLOSED', 'pipeline engine is closed');
    checkSignal(options?.signal);
    if (Number.isNaN(options?.deadline)) throw new EparaError('INVALID_OPTIONS', 'deadline is NaN', { field: 'deadline' });
    if (options.signal?.aborted) throw new EparaError('ABORTED', 'aborted before submission');
    if (this.#flow === undefined) await this.start();
    if (this.#closing) throw new EparaError('CLOSED', 'pipeline engine is closed');
    if (options.signal?.aborted) throw new EparaError('ABORTED', 'aborted before submission');
    this.#validate(inputs);
    // A Node Buffer (a uint8 or bool input) is read through a plain view from here on.
    inputs = plainArrays(inputs);
    // A request that cannot stack along dimension 0 runs alone (one row, for the estimates).
    const stackRows = rowsOf(inputs);
    const rows = stackRows ?? 1;
    const now = this.#o.clock.now();
    const pass = this.#passMs(rows);
    if (now > options.deadline || (pass !== undefined && now + pass > options.deadline)) {
      throw new EparaError('DEADLINE_INFEASIBLE', 'the pipeline cannot finish this request before its deadline', { deadline: options.deadline, passMs: pass });
    }
    if (this.#queue.size() >= this.#o.maxQueue) throw shedError('OVERLOADED', 'pipeline queue is full', { maxQueue: this.#o.maxQueue });
    const signature = stackRows === undefined ? `#alone-${this.#alone++}` : stackSignature(inputs);
    const promise = this.#queue.add({ inputs, rows, signature, ...options });
    this.#schedulePump();
    return promise;
  }

  #validate(inputs: NamedTensors): void {
    if (typeof inputs !== 'object' || inputs === null) throw new EparaError('INVALID_INPUT', 'inputs must be an object of tensors');
    for (const spec of this.#specs) {
      const t = inputs[spec.name];
      if (t === undefined) throw new EparaError('INVALID_INPUT', `missing input ${spec.name}`, { name: spec.name });
      if (t?.type !== spec.type) throw new EparaError('INVALID_INPUT', `input ${spec.name} must be ${spec.type}, got ${String(t?.type)}`, { name: spec.name, type: t?.type });
      // The array's class, the rank and fixed dims the stage model declares, the data length: one request the
      // model cannot take would fail the whole batch it shares a run with.
      checkTensor('pipeline', spec, t);
    }
    for (const name of Object.keys(inputs)) {
      if (!this.#flow!.requestInputs.has(name)) throw new EparaError('INVALID_INPUT', `unknown input ${name}`, { name });
    }
  }

  estimate(now: number): number {
    const b = this.#o.batchSize;
    const pass = this.#passMs(b) ?? 0;
    const bottleneck = Math.max(0, ...this.#trackers.map((t) => t.estimate(b) ?? 0));
    const stage0Free = this.#stage0BacklogMs(now, b);
    const batchesAhead = Math.ceil((this.#queue.rows() + 1) / b) - 1 + this.#stageQueues[0]!.length;
    return now + stage0Free + batchesAhead * bottleneck + pass;
  }

  stats(): PipelineStats {
    return { queued: this.#queue.size(), inFlightBatches: this.#inFlight, ...this.#counts, stageBusyMs: [...this.#busyMs], handoff: this.#direct ? 'direct' : 'host' };
  }

  /** Time until stage 0 has finished the runs handed to its device (estimated with batches of `rows`). */
  #stage0BacklogMs(now: number, rows: number): number {
    const since = this.#running[0]![0];
    if (since === undefined) return 0;
    return Math.max(0, since + this.#running[0]!.length * (this.#trackers[0]!.estimate(rows) ?? 0) - now);
  }

  #passMs(rows: number): number | undefined {
    let sum = 0;
    for (const t of this.#trackers) {
      const ms = t.estimate(rows);
      if (ms === undefined) return undefined;
      sum += ms;
    }
    return sum;
  }

  /** Admission runs once per microtask turn, so requests submitted together are considered together. */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#flow === undefined) return;
    this.#admit();
    this.#stageQueues.forEach((_, i) => this.#runStage(i));
    if (this.#inFlight === 0 && this.#idle) this.#idle();
  }

  /**
   * Entry batching: launch when stage 0 is free and the batch is full or cannot wait any longer. A full batch
   * may also be queued behind the one stage 0 is running, so that its device never idles between batches
   * (a full batch cannot grow by waiting).
   */
  #admit(): void {
    for (;;) {
      const busy = this.#running[0]!.length + this.#stageQueues[0]!.length;
      if (this.#closing || busy >= DEVICE_DEPTH || this.#inFlight >= this.#o.maxInFlightBatches) return;
      const now = this.#o.clock.now();
      for (const item of this.#queue.dropExpired(now, (rows) => this.#passMs(rows) ?? 0)) {
        this.#counts.dropped++;
        this.emit('requestDropped', { reason: 'DEADLINE_EXCEEDED', deadline: item.deadline, at: now });
      }
      let candidate = this.#queue.peekBatch(this.#o.batchSize);
      if (candidate === undefined) return;
      if (candidate.items.length > 1 && this.#stacking !== 'yes') {
        const head = candidate.items[0]!;
        // The first requests that would share a run wait for the check (once); a request the check could not
        // decide on runs alone, and a later one is checked.
        if (this.#stacking === 'checking') return;
        if (this.#stacking === 'unknown' && !this.#checked.has(head.inputs)) {
          this.#checkStacking(head.inputs);
          return;
        }
        candidate = { items: [head], rows: head.rows, earliestDeadline: candidate.earliestDeadline };
      }
      // A batch that cannot grow (requests never share a run, or this one runs alone) is full as it is.
      const full = candidate.rows >= this.#o.batchSize || this.#stacking === 'no' || candidate.items[0]!.signature.startsWith('#alone-');
      const pass = this.#passMs(candidate.rows);
      if (busy > 0) {
        // Queue behind the running batch only a full batch whose every item still makes its deadline after it.
        const startAt = now + this.#stage0BacklogMs(now, candidate.rows);
        if (!full || candidate.items.some((it) => startAt + (pass ?? 0) > it.deadline)) return;
      }
      const latestStart = candidate.earliestDeadline - this.#o.guardMs - (pass ?? 0);
      if (!full && pass !== undefined && now < latestStart && !this.#o.launchWhenIdle) {
        this.#arm(latestStart - now);
        return;
      }
      this.#launch(this.#queue.take(candidate.items), now);
    }
  }

  #arm(delayMs: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, Math.max(0, Math.ceil(delayMs)));
  }

  #launch(items: QueuedItem[], now: number): void {
    const rows = items.reduce((n, it) => n + it.rows, 0);
    const inbound = this.#o.stages.map((): LinkInbound[] => []);
    let values: Record<string, TensorLike>;
    try {
      values = stackItems(items.map((it) => it.inputs));
    } catch (err) {
      // Never an exception out of the pump (it runs in a microtask: its requests would wait for good).
      const error = toEparaError(err, 'INTERNAL');
      for (const it of items) it.settle(error);
      return;
    }
    const batch: Batch = { id: this.#nextBatch++, items, rows, values, dispatchedAt: now, inbound };
    this.#inFlight++;
    this.emit('batchDispatched', { batchId: batch.id, rows, items: items.length, at: now });
    this.#stageQueues[0]!.push(batch);
  }

  #runStage(i: number): void {
    while (this.#running[i]!.length < DEVICE_DEPTH && this.#stageQueues[i]!.length > 0) this.#dispatch(i, this.#stageQueues[i]!.shift()!);
  }

  #dispatch(i: number, batch: Batch): void {
    const flow = this.#flow!;
    const direct = this.#direct;
    const feeds: Record<string, TensorLike> = {};
    for (const name of flow.stages[i]!.inputs) {
      const t = batch.values[name];
      if (t === undefined) continue; // arrives over a link (direct hand-off)
      if (!flow.requestInputs.has(name)) this.#counts.handoffBytesViaHost += tensorByteLength(t);
      // A value a later stage (or the caller) still needs is copied; otherwise its buffer is handed over.
      if ((flow.lastUse.get(name) ?? -1) > i) feeds[name] = { type: t.type, dims: t.dims, data: t.data.slice() as TensorLike['data'] };
      else {
        feeds[name] = t;
        delete batch.values[name];
      }
    }
    const startedAt = this.#o.clock.now();
    this.#running[i]!.push(startedAt);
    this.emit('stageStarted', { batchId: batch.id, stage: i, at: startedAt });
    const device = this.#o.stages[i]!.device;
    const outputNames = flow.stages[i]!.outputs;
    const requests = batch.items.length;
    const run = direct ? this.#runLinked(i, batch, feeds, direct) : device.runTimed(this.#keys[i]!, feeds, { outputNames, requests });
    run
      .then(
        (out) => this.#stageDone(i, batch, startedAt, out),
        (err: unknown) => this.#stageFailed(i, batch, startedAt, err),
      )
      .finally(() => {
        this.#running[i]!.splice(this.#running[i]!.indexOf(startedAt), 1);
        this.#pump();
      });
  }

  /** Runs stage `i` with its stage-produced inputs arriving over links and its outputs leaving over links. */
  async #runLinked(i: number, batch: Batch, feeds: NamedTensors, { routes, links }: Direct): Promise<TimedRun> {
    const targets = [...routes.outbound[i]!];
    const names = await Promise.all(targets.map(([j]) => links.link(i, j)));
    const outbound: LinkOutbound[] = targets.map(([, list], k) => ({ link: names[k]!, batch: batch.id, names: list }));
    const device = this.#o.stages[i]!.device as unknown as StageLinkDevice;
    const out = await device.runLinked(this.#keys[i]!, feeds, {
      outputNames: this.#flow!.stages[i]!.outputs,
      keep: routes.keep[i]!,
      inbound: batch.inbound[i]!,
      outbound,
      requests: batch.items.length,
    });
    targets.forEach(([j], k) => batch.inbound[j]!.push({ link: names[k]!, batch: batch.id }));
    this.#counts.handoffBytesDirect += out.forwardedBytes;
    return out;
  }

  #stageDone(i: number, batch: Batch, startedAt: number, { outputs: out, runMs }: TimedRun): void {
    const endedAt = this.#o.clock.now();
    this.#busyMs[i]! += runMs;
    // The device's compute time, not the wall time: a run may have queued behind another on the device.
    this.#trackers[i]!.observe(batch.rows, runMs);
    Object.assign(batch.values, out);
    this.emit('stageCompleted', { batchId: batch.id, stage: i, startedAt, endedAt, ok: true });
    if (i + 1 < this.#stageQueues.length) {
      this.#stageQueues[i + 1]!.push(batch);
      return;
    }
    const outputs: Record<string, TensorLike> = {};
    for (const name of this.#flow!.outputNames) outputs[name] = batch.values[name]!;
    // A request alone gets the outputs as they are (its rows are nominal when it could not stack).
    const perItem = batch.items.length === 1 ? [outputs] : splitRows(outputs, batch.items.map((it) => it.rows));
    batch.items.forEach((it, k) => it.settle(undefined, perItem[k]!));
    this.#finish(batch, endedAt, undefined);
  }

  /**
   * Checks, once, with the first request that would share a run (its first row, and a second item made from
   * it), that a batch of two answers what each answers alone; until it says so, requests run alone. An
   * inconclusive check (nothing to compare) waits for a later request.
   */
  #checkStacking(sample: NamedTensors): void {
    this.#checked.add(sample);
    this.#stacking = 'checking';
    const flow = this.#flow!;
    const axes = (names: Iterable<string>): Record<string, number> => Object.fromEntries([...names].map((n) => [n, 0]));
    const io: IoSpec = {
      inputs: this.#specs.map((s) => ({ ...s, batchAxis: 0 })),
      stateInputs: [],
      inputAxes: axes(flow.requestInputs.keys()),
      outputAxes: axes(flow.outputNames),
      outputNames: flow.outputNames,
      stateMap: {},
      separability: { kind: 'guessed' },
      ties: [],
    };
    checkBatchSeparable({ run: (feeds, requests) => this.#runAlone(feeds, requests), io, sample: firstRow(sample), state: {} })
      .then(
        (verdict) => {
          this.#stacking = verdict.ok ? 'yes' : verdict.inconclusive ? 'unknown' : 'no';
          if (!verdict.ok) this.#o.logger.info({ reason: verdict.reason }, 'pipeline runs each request alone');
        },
        (err: unknown) => {
          this.#stacking = 'unknown';
          this.#o.logger.warn({ err: (err as Error)?.message }, 'pipeline batch check failed');
        },
      )
      .finally(() => this.#schedulePump());
  }

  /**
   * Runs the stages in turn on inputs made from a request's (`requests` items), outside the batch flow (for the
   * check): the last stage refuses an answer above the limit here too.
   */
  async #runAlone(feeds: NamedTensors, requests: number): Promise<NamedTensors> {
    const flow = this.#flow!;
    const values: Record<string, TensorLike> = { ...feeds };
    for (let i = 0; i < flow.stages.length; i++) {
      const stageFeeds: Record<string, TensorLike> = {};
      for (const name of flow.stages[i]!.inputs) {
        const t = values[name]!;
        stageFeeds[name] = { type: t.type, dims: t.dims, data: t.data.slice() as TensorLike['data'] };
      }
      Object.assign(values, await this.#o.stages[i]!.device.run(this.#keys[i]!, stageFeeds, { outputNames: flow.stages[i]!.outputs, requests }));
    }
    const out: Record<string, TensorLike> = {};
    for (const name of flow.outputNames) out[name] = values[name]!;
    return out;
  }

  #stageFailed(i: number, batch: Batch, startedAt: number, err: unknown): void {
    const endedAt = this.#o.clock.now();
    const error = toEparaError(err, 'MODEL_ERROR');
    this.#o.logger.warn({ batchId: batch.id, stage: i, code: error.code, err: error.message }, 'pipeline batch failed');
    this.emit('stageCompleted', { batchId: batch.id, stage: i, startedAt, endedAt, ok: false });
    for (const it of batch.items) it.settle(error);
    this.#finish(batch, endedAt, error);
  }

  #finish(batch: Batch, at: number, error: EparaError | undefined): void {
    this.#inFlight--;
    if (error) this.#counts.failedBatches++;
    else {
      this.#counts.completedBatches++;
      this.#counts.completedItems += batch.items.length;
    }
    const base = { batchId: batch.id, rows: batch.rows, dispatchedAt: batch.dispatchedAt, completedAt: at };
    this.emit('batchCompleted', error ? { ...base, ok: false, errorCode: error.code } : { ...base, ok: true });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#queue.rejectAll(new EparaError('CLOSED', 'pipeline engine closed before the request ran'));
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    await this.#started?.catch(() => undefined);
    await this.#direct?.links.close();
    await Promise.all(this.#o.stages.map((s, i) => s.device.unloadModel(this.#keys[i]!).catch(() => undefined)));
  }
}

/** What each request input must be, from the first stage that reads it (free dims `null`, no batch axis). */
function requestSpecs(infos: readonly LoadedModelInfo[], flow: PipelineDataflow): InputSpec[] {
  const specs = new Map<string, InputSpec>();
  for (const info of infos) {
    for (const io of info.inputs) {
      if (!flow.requestInputs.has(io.name) || specs.has(io.name)) continue;
      const dims = io.dims.map((d) => (typeof d === 'number' && d >= 0 ? d : null));
      specs.set(io.name, { name: io.name, type: io.type, dims: io.anyRank ? [] : dims, batchAxis: null, ...(io.anyRank ? { anyRank: true as const } : {}) });
    }
  }
  return [...specs.values()];
}
